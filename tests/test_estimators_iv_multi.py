"""Two endogenous regressors: the Kleibergen–Paap rk statistics against an independent
implementation, and the Stock–Yogo critical values for two endogenous regressors.

Peer: linearmodels 7.1 ``linearmodels.iv.common.kleibergen_paap`` (rk LM) and
``kleibergen_paap_f`` (rk Wald F, ivreg2's scaling), called here on the same arrays: the
endogenous regressors, the excluded instruments and the exogenous regressors (a constant, or
the absorbed effects as dummy columns), each scaled by √w in a weighted model. linearmodels is a
dependency of specrun, so the comparison runs live.

Data: Mroz (1987), working women (``data/mroz.csv``), educ and exper instrumented by the
parents' and the husband's schooling and age; Produc (``data/Produc.csv``), log public and
private capital instrumented by log highway, water and utility capital, state and year effects,
employment weights. Numerical checks, not economic models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from linearmodels.iv.common import kleibergen_paap, kleibergen_paap_f

from specrun.estimators.base import FitContext
from specrun.estimators.iv import IVSpec, fit_iv_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mroz() -> pl.DataFrame:
    frame = pl.read_csv(ROOT / "data" / "mroz.csv").filter(pl.col("inlf") == 1)
    return frame.with_row_index("row").with_columns(pl.lit(1).alias("t"))


@pytest.fixture(scope="module")
def produc() -> pl.DataFrame:
    frame = pl.read_csv(ROOT / "data" / "Produc.csv")
    return frame.with_columns(
        [pl.col(c).log().alias(f"l{c}") for c in ("gsp", "pcap", "pc", "hwy", "water", "util")]
    )


MROZ = {"y": "lwage", "x": ["kidslt6"], "endog": ["educ", "exper"],
        "instruments": ["motheduc", "fatheduc", "huseduc", "age"]}  # fmt: skip


def _arrays(frame: pl.DataFrame, spec: dict[str, object]) -> tuple[np.ndarray, ...]:
    endog = frame.select(spec["endog"]).to_numpy().astype(float)
    instr = frame.select(spec["instruments"]).to_numpy().astype(float)
    exog = np.column_stack([frame.select(spec["x"]).to_numpy(), np.ones(frame.height)])
    return endog, instr, exog.astype(float)


@pytest.mark.parametrize(
    ("se", "cov_type", "cluster"),
    [("robust", "robust", None), ({"cluster": "age"}, "clustered", "age"),
     ("unadjusted", "unadjusted", None)],
)  # fmt: skip
def test_kp_statistics_match_linearmodels(mroz, se, cov_type, cluster) -> None:
    spec = IVSpec.model_validate({"estimator": "iv", **MROZ, "se": se})
    fit = fit_iv_model(mroz, spec, FitContext("iv", "row", "t"))[""]
    config = None if cluster is None else {"clusters": mroz[cluster].to_numpy()}
    endog, instr, exog = _arrays(mroz, MROZ)
    assert fit.stats["kp_f"] == pytest.approx(
        kleibergen_paap_f(endog, instr, exog, cov_type, config), rel=1e-10
    )
    assert fit.stats["kp_lm"] == pytest.approx(
        kleibergen_paap(endog, instr, exog, cov_type, config).stat, rel=1e-10
    )
    if cov_type == "unadjusted":  # the rk Wald F is then the Cragg–Donald F
        assert fit.stats["kp_f"] == pytest.approx(fit.stats["cd_f"], rel=1e-12)


def test_kp_statistics_with_absorbed_effects_and_weights(produc: pl.DataFrame) -> None:
    """The absorbed effects as dummies among linearmodels' exogenous columns, every array
    scaled by √w. The rk LM agrees; the clustered rk Wald F differs by one documented factor:
    state effects nested in the state clusters leave K (ivreghdfe), which linearmodels' plain
    count of exogenous columns does not do — (N − L − c + 47)/(N − L − c)."""
    spec = {"y": "lgsp", "x": ["unemp"], "endog": ["lpcap", "lpc"],
            "instruments": ["lhwy", "lwater", "lutil"]}  # fmt: skip
    root = np.sqrt(produc["emp"].to_numpy())
    dummies = np.column_stack(
        [
            produc["unemp"].to_numpy(),
            produc["state"].to_dummies().to_numpy(),
            produc["year"].cast(pl.Utf8).to_dummies().to_numpy()[:, 1:],
        ]
    ).astype(float)
    endog = produc.select(spec["endog"]).to_numpy() * root[:, None]
    instr = produc.select(spec["instruments"]).to_numpy() * root[:, None]
    exog = dummies * root[:, None]
    n, ell, c = produc.height, 3, exog.shape[1]
    ctx = FitContext("iv", "state", "year")
    for se, cov_type, config, factor in (
        ("robust", "robust", None, 1.0),
        ({"cluster": "entity"}, "clustered", {"clusters": produc["state"].to_numpy()},
         (n - ell - c + 47) / (n - ell - c)),
    ):  # fmt: skip
        model = IVSpec.model_validate(
            {"estimator": "iv", **spec, "se": se, "absorb": ["entity", "time"], "weights": "emp"}
        )
        fit = fit_iv_model(produc, model, ctx)[""]
        assert fit.stats["kp_lm"] == pytest.approx(
            kleibergen_paap(endog, instr, exog, cov_type, config).stat, rel=1e-9
        )
        assert fit.stats["kp_f"] == pytest.approx(
            kleibergen_paap_f(endog, instr, exog, cov_type, config) * factor, rel=1e-9
        )


def test_stock_yogo_critical_values_for_two_endogenous_regressors(mroz: pl.DataFrame) -> None:
    """Stock and Yogo (2005) Table 5.2, 10 % maximal 2SLS size, two endogenous regressors: 13.43
    with three instruments, 16.87 with four (ivreg2's table); none for LIML or where the table is
    not stored."""
    ctx = FitContext("iv", "row", "t")

    def critical(**kw: object) -> float | None:
        spec = IVSpec.model_validate({"estimator": "iv", **MROZ, **kw})
        return fit_iv_model(mroz, spec, ctx)[""].stats.get("sy_size10")

    assert critical() == 16.87
    assert critical(instruments=["motheduc", "fatheduc", "huseduc"]) == 13.43
    assert critical(method="liml") is None
    many = ["motheduc", "fatheduc", "huseduc", "age", "kidsge6", "city", "unem"]
    assert critical(instruments=many) is None
