"""Mediation by the stepwise regressions of Baron and Kenny (1986) as tested by Wen and Ye (2014).

Three fits share the model's controls, fixed effects and standard errors (each one an ordinary
``ols``/``panel_fe`` fit, addressable as ``<model>.total``, ``<model>.mediator`` and
``<model>.outcome``):

    total     Y = c·X + controls + effects
    mediator  M = a·X + controls + effects
    outcome   Y = c′·X + b·M + controls + effects

The indirect effect a·b is tested by Sobel (1982), Aroian (1947) and Goodman (1960) z tests from
the fits' standard errors, and by a bootstrap CI (percentile and bias-corrected; entities are
resampled whole in panels) from ``specrun.kernels.mediation``. Checked against the lavaan
tutorial example in ``tests/test_estimators_mediation.py``.

The combined model mixes reference distributions, and names each coefficient's
(``ModelResult.references``): a, b, c and c′ keep their regression's t test (G − 1 degrees of
freedom when clustered, else the residual degrees of freedom: the stepwise regressions as
Stata's ``regress``/``xtreg``/``reghdfe`` report them, e(df_r)), and a·b the normal reference
of the Sobel test (as Stata's ``sgmediation`` and ``medsem`` report it; ``sem`` refers every
path to the normal, being a joint maximum-likelihood fit).

The coefficients' generated labels (``path_label``) name the paths as the literature does
(Baron and Kenny 1986; 温忠麟、叶宝娟 2014: 总效应 c, 直接效应 c′, 间接效应 a·b, which they
also call 中介效应): the fit writes them with the variables' names, a table with their labels
in its output language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from specrun.estimators.base import FitContext
from specrun.estimators.linear import OlsSpec, PanelFeSpec, fit_linear
from specrun.estimators.specs.mediation import MediationSpec
from specrun.results import Coefficient, ModelResult, Reference
from specrun.tables.format import percent

PATH_SYMBOLS = {"a": "a", "b": "b", "c": "c", "c_prime": "c′", "indirect": "a·b"}
"""The printed symbol of each coefficient of a mediation model, by its ``results.json`` key."""

PATH_EFFECTS = {"c": "total effect", "c_prime": "direct effect", "indirect": "indirect effect"}
"""The effect each non-path coefficient is, in English (a table translates it)."""


def path_label(
    path: str,
    treatment: str,
    mediator: str,
    dependent: str,
    *,
    word: Callable[[str], str] | None = None,
    colon: str = ": ",
) -> str:
    """The label of coefficient ``path`` (a ``PATH_SYMBOLS`` key): ``a: X → M``, ``b: M → Y``,
    ``c: total effect``, ``c′: direct effect``, ``a·b: indirect effect``.

    The fit passes the variables' names, a table their labels, ``word`` (the output language's
    phrase for ``PATH_EFFECTS``' English) and its colon: ``c：总效应``. Raises ``KeyError`` for
    a key that is not a mediation coefficient's."""
    symbol = PATH_SYMBOLS[path]
    if path == "a":
        return f"{symbol}{colon}{treatment} → {mediator}"
    if path == "b":
        return f"{symbol}{colon}{mediator} → {dependent}"
    phrase = PATH_EFFECTS[path]
    return f"{symbol}{colon}{word(phrase) if word else phrase}"


def _part_spec(spec: MediationSpec, y: str, x: list[str]) -> OlsSpec | PanelFeSpec:
    if spec.effects:
        return PanelFeSpec(
            estimator="panel_fe", y=y, x=x, effects=spec.effects, se=spec.se, label=spec.label
        )
    return OlsSpec(estimator="ols", y=y, x=x, se=spec.se, label=spec.label)


def fit_mediation(
    frame: pl.DataFrame, spec: MediationSpec, ctx: FitContext
) -> Mapping[str, ModelResult]:
    from specrun.kernels.mediation import (
        aroian_test,
        bootstrap_indirect,
        goodman_test,
        sobel_test,
    )
    from specrun.kernels.within import PanelIndex

    treatment = spec.treatment_name
    controls = [v for v in spec.x if v != treatment]
    designs = {
        "total": (spec.y, [treatment, *controls]),
        "mediator": (spec.mediator, [treatment, *controls]),
        "outcome": (spec.y, [treatment, spec.mediator, *controls]),
    }
    fits = {
        part: fit_linear(
            frame, _part_spec(spec, y, x), FitContext(f"{ctx.name}.{part}", ctx.entity, ctx.time)
        )[""]
        for part, (y, x) in designs.items()
    }
    a = fits["mediator"].coefficients[treatment]
    b = fits["outcome"].coefficients[spec.mediator]
    c = fits["total"].coefficients[treatment]
    c_prime = fits["outcome"].coefficients[treatment]
    tests = {
        t.method: t
        for t in (
            sobel_test(a.estimate, a.std_error, b.estimate, b.std_error),
            aroian_test(a.estimate, a.std_error, b.estimate, b.std_error),
            goodman_test(a.estimate, a.std_error, b.estimate, b.std_error),
        )
    }
    sobel = tests["sobel"]
    indirect = {
        "estimate": sobel.estimate,
        "sobel_se": sobel.std_error,
        "sobel_z": sobel.z,
        "sobel_p": sobel.p_value,
        "aroian_z": tests["aroian"].z,
        "aroian_p": tests["aroian"].p_value,
        "goodman_z": tests["goodman"].z,
        "goodman_p": tests["goodman"].p_value,
        "share": sobel.estimate / c.estimate if c.estimate != 0 else float("nan"),
    }
    extra: dict[str, object] = {
        "indirect": indirect,
        "treatment": treatment,
        "mediator": spec.mediator,
    }
    if spec.bootstrap:
        index = PanelIndex.from_labels(frame[ctx.entity].to_numpy(), frame[ctx.time].to_numpy())
        boot = bootstrap_indirect(
            frame[spec.y].to_numpy().astype(float),
            frame[treatment].to_numpy().astype(float),
            frame[spec.mediator].to_numpy().astype(float),
            frame.select(controls).to_numpy().astype(float) if controls else None,
            # whole entities are resampled, with or without fixed effects
            entity=index.entity,
            time=index.time,
            entity_effects="entity" in spec.effects,
            time_effects="time" in spec.effects,
            n_draws=spec.bootstrap,
            seed=spec.seed,
            ci_level=spec.ci_level,
            ci_quantile=spec.ci_quantile,
        )
        bc = spec.ci_method == "bc"
        indirect.update(
            boot_ci_low=boot.bc_ci_low if bc else boot.ci_low,
            boot_ci_high=boot.bc_ci_high if bc else boot.ci_high,
            boot_method=("bias-corrected" if bc else "percentile")
            + f" {percent(spec.ci_level)}, {boot.n_draws} draws, resampling "
            + {"entity": "entities", "row": "rows"}[boot.resample_unit]
            + (", quantiles as R boot" if spec.ci_quantile == "boot" else ""),
        )
        extra["bootstrap"] = {
            "draws": boot.n_draws,
            "failed": boot.n_failed,
            "seed": spec.seed,
            "resample": boot.resample_unit,
            "std_error": boot.std_error,
            "percentile": [boot.ci_low, boot.ci_high],
            "bias_corrected": [boot.bc_ci_low, boot.bc_ci_high],
            "ci_level": spec.ci_level,
            # how the intervals read quantiles off the draws (R type 7, or R boot's)
            "quantile": spec.ci_quantile,
        }
    coefficients = {
        "a": a,
        "b": b,
        "c": c,
        "c_prime": c_prime,
        "indirect": Coefficient(sobel.estimate, sobel.std_error, sobel.z, sobel.p_value),
    }
    # each path keeps the reference its own regression's p-value used (its covariance's t)
    references = {
        name: Reference(fits[part].covariance_df if fits[part].stat_name == "t" else None)
        for name, part in (
            ("a", "mediator"),
            ("b", "outcome"),
            ("c", "total"),
            ("c_prime", "outcome"),
        )
    }
    references["indirect"] = Reference(None)  # Sobel's z
    outcome = fits["outcome"]
    main = ModelResult(
        name=ctx.name,
        estimator="mediation",
        dependent=spec.y,
        nobs=outcome.nobs,
        coefficients=coefficients,
        stats={"n_entities": outcome.stats["n_entities"]},
        extra=extra,
        regressors=tuple(spec.x),
        effects=outcome.effects,
        se_type=outcome.se_type,
        se_convention=outcome.se_convention,
        stat_name=references["c"].stat_name,  # the regressions'; a·b's z is in references
        label=spec.label,
        coefficient_labels={
            path: path_label(path, treatment, spec.mediator, spec.y) for path in coefficients
        },
        references=references,
    )
    return {"": main, **fits}
