"""Marginal effects of a regressor at chosen moderator values, with delta-method standard
errors, and the Johnson–Neyman interval (Stata's ``margins, dydx(x) at(z = (…))``).

For a linear index ŷ = Σⱼ βⱼ·fⱼ(x, z, …), where each built column fⱼ is a product of its
components, the effect of x is ∂ŷ/∂x = Σⱼ βⱼ·∂fⱼ/∂x = g′β, with ∂fⱼ/∂x the product of fⱼ's
other components at the chosen values (centred columns at their centred values). Its variance
is g′Vg under the model's own covariance V (Stata's default ``vce(delta)``); t statistics use
the model's degrees of freedom (G − 1 for clustered, else the residual df), as ``margins``
after ``regress``/``xtreg``. Johnson and Neyman (1936), as in Bauer and Curran (2005, eq. 7):
with one moderator, dy/dx = a + b·z is significant at level α where
(a + b z)² ≥ t²(V_aa + 2 z V_ab + z² V_bb), a quadratic inequality in z.

Checked against R ``lm`` on UCLA's hsbdemo data in ``tests/test_margins.py``, and the bounds
against the roots R gives for the R *interactions* vignette's model on ``state.x77`` in
``tests/test_margins_state_x77.py``: ``Margins.significant`` holds the regions within the
observed range, ``Margins.bounds`` the roots themselves (as R's ``interactions`` prints them).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from specrun.data.terms import ts_prefix
from specrun.errors import SpecError
from specrun.kernels.distributions import normal_quantile, t_quantile, two_sided_p
from specrun.results import ModelResult, TermPart

Key = tuple[str, int, int]


@dataclass(frozen=True)
class Margin:
    """dy/dx at one point: the moderators' values (raw units), estimate, SE, t, p, CI."""

    at: tuple[tuple[str, float], ...]
    estimate: float
    std_error: float
    stat: float
    p_value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Margins:
    """Every point of ``at`` and, with one moderator, the Johnson–Neyman regions where the
    effect is significant (within the moderator's observed range; raw units)."""

    dydx: str
    margins: tuple[Margin, ...]
    df: float | None
    level: float
    moderator: str | None = None
    significant: tuple[tuple[float, float], ...] | None = None
    observed: tuple[float, float] | None = None
    # the Johnson–Neyman bounds themselves (raw units), wherever they lie: ``JNBounds``
    bounds: JNBounds | None = None


@dataclass(frozen=True)
class JNBounds:
    """The real roots of the Johnson–Neyman quadratic (none, one or two, ascending; raw units)
    and where the effect is significant: ``outside`` the roots (or at z ≥ the one root of a
    line rising in |t|), else between them (or at z ≤ it); with no root, ``outside`` means
    everywhere and its negation nowhere. R's ``interactions::johnson_neyman`` prints these."""

    roots: tuple[float, ...]
    outside: bool


def _column(key: Key) -> str:
    prefix = ts_prefix(key[1], key[2])
    return f"{prefix}.{key[0]}" if prefix else key[0]


def degrees_of_freedom(stats: Mapping[str, float]) -> float | None:
    """The model's reference t distribution: G − 1 when clustered, else the residual df."""
    if "n_clusters" in stats:
        return float(stats["n_clusters"]) - 1.0
    if "df_resid" in stats:
        return float(stats["df_resid"])
    return None


def _critical(df: float | None, level: float) -> float:
    q = 0.5 + level / 2
    return float(t_quantile(q, df) if df else normal_quantile(q))


def _p(stat: float, df: float | None) -> float:
    return float(two_sided_p(stat, df if df else None))


def gradient(
    names: Sequence[str],
    parts: Mapping[str, tuple[TermPart, ...]],
    x: Key,
    values: Mapping[Key, float],
) -> np.ndarray:
    """∂ŷ/∂x for each coefficient, given values of the other continuous components (already
    centred where the model centred them). Raises ``SpecError`` where x interacts with a factor
    or with itself, or with a variable missing from ``values``."""
    g = np.zeros(len(names))
    for j, name in enumerate(names):
        own = parts.get(name)
        if own is None:
            continue
        hits = [p for p in own if (p.variable, p.shift, p.diff) == x and p.level is None]
        if not hits:
            continue
        if len(hits) > 1:
            raise SpecError(f"'{name}' is a power of the dydx variable: not supported", code="term")
        factor = 1.0
        for p in own:
            if p is hits[0]:
                continue
            if p.level is not None:
                raise SpecError(
                    f"the dydx variable interacts with the factor {p.variable} ('{name}'): "
                    "margins over factor levels are not supported",
                    code="term",
                )
            key = (p.variable, p.shift, p.diff)
            if key not in values:
                raise SpecError(
                    f"the dydx variable interacts with {p.variable} ('{name}'): give it in at:",
                    code="term",
                )
            factor *= values[key]
        g[j] = factor
    return g


def johnson_neyman_bounds(
    a: float, b: float, vaa: float, vab: float, vbb: float, crit: float
) -> JNBounds:
    """The roots of (a + b z)² − crit²(vaa + 2 z vab + z² vbb) = 0 over the whole real line
    (Bauer and Curran 2005, eq. 7) and on which side of them a + b z is significant."""
    qa = b * b - crit**2 * vbb
    qb = 2 * (a * b - crit**2 * vab)
    qc = a * a - crit**2 * vaa
    if abs(qa) > 1e-300:
        disc = qb * qb - 4 * qa * qc
        if disc < 0:
            # no sign change: significant everywhere when the parabola opens upwards
            return JNBounds((), qa > 0)
        root = math.sqrt(disc)
        ends = sorted(((-qb - root) / (2 * qa), (-qb + root) / (2 * qa)))
        return JNBounds((ends[0], ends[1]), qa > 0)
    if qb != 0:
        return JNBounds((-qc / qb,), qb > 0)
    return JNBounds((), qc >= 0)


def johnson_neyman(
    a: float, b: float, vaa: float, vab: float, vbb: float, crit: float, low: float, high: float
) -> tuple[tuple[float, float], ...]:
    """Intervals of z in [low, high] where a + b z is significant (|t| ≥ crit)."""
    qa = b * b - crit**2 * vbb
    qb = 2 * (a * b - crit**2 * vab)
    qc = a * a - crit**2 * vaa

    def significant(z: float) -> bool:
        return qa * z * z + qb * z + qc >= 0

    cuts = [low, high]
    if abs(qa) > 1e-300:
        disc = qb * qb - 4 * qa * qc
        if disc >= 0:
            root = math.sqrt(disc)
            cuts += [(-qb - root) / (2 * qa), (-qb + root) / (2 * qa)]
    elif qb != 0:
        cuts.append(-qc / qb)
    points = sorted({c for c in cuts if low <= c <= high})
    regions: list[tuple[float, float]] = []
    for start, stop in itertools.pairwise(points):
        if significant((start + stop) / 2):
            if regions and regions[-1][1] == start:
                regions[-1] = (regions[-1][0], stop)
            else:
                regions.append((start, stop))
    if len(points) == 1 and significant(points[0]):
        regions.append((points[0], points[0]))
    return tuple(regions)


def margins_of(
    result: ModelResult,
    x: Key,
    dydx: str,
    at: Mapping[Key, Sequence[float]],
    centered: Mapping[Key, float],
    level: float = 0.95,
    observed: Mapping[Key, tuple[float, float]] | None = None,
) -> Margins:
    """dy/dx of ``x`` at every combination of the ``at`` values (raw units), from the model's
    coefficients and covariance. ``centered`` gives the means the model removed, by key.
    Raises ``SpecError`` when the model reports no covariance or ``x`` is not among its terms."""
    if result.covariance is None:
        raise SpecError(
            f"margins need the coefficients' covariance, which a {result.estimator} model "
            "does not report",
            code="reference",
        )
    names = list(result.coefficients)
    beta = np.array([result.coefficients[n].estimate for n in names])
    cov = np.asarray(result.covariance, dtype=float)
    df = degrees_of_freedom(result.stats)
    crit = _critical(df, level)
    keys = list(at)
    # With every moderator at 1 each term holding x has a non-zero derivative; none means x is
    # not in the model, and every margin would print a false 0.000.
    if not np.any(gradient(names, result.terms, x, dict.fromkeys(keys, 1.0))):
        raise SpecError(
            f"dydx: '{dydx}' is not a regressor of model '{result.name}'", code="reference"
        )
    out = []
    for combo in itertools.product(*(at[k] for k in keys)):
        values = {k: v - centered.get(k, 0.0) for k, v in zip(keys, combo, strict=True)}
        g = gradient(names, result.terms, x, values)
        estimate = float(g @ beta)
        se = float(np.sqrt(max(g @ cov @ g, 0.0)))
        stat = estimate / se if se > 0 else math.nan
        out.append(
            Margin(
                tuple((_column(k), float(v)) for k, v in zip(keys, combo, strict=True)),
                estimate,
                se,
                stat,
                _p(stat, df) if se > 0 else math.nan,
                estimate - crit * se,
                estimate + crit * se,
            )
        )
    moderator = significant = span = bounds = None
    if len(keys) == 1 and observed and keys[0] in observed:
        k = keys[0]
        shift = centered.get(k, 0.0)
        g0 = gradient(names, result.terms, x, {k: 0.0})
        g1 = gradient(names, result.terms, x, {k: 1.0}) - g0
        low, high = observed[k]
        # the slope's mean and variance as quadratics in the moderator: (a, b, v00, v01, v11)
        moments = (
            float(g0 @ beta),
            float(g1 @ beta),
            float(g0 @ cov @ g0),
            float(g0 @ cov @ g1),
            float(g1 @ cov @ g1),
        )
        regions = johnson_neyman(*moments, crit, low - shift, high - shift)
        moderator = _column(k)
        significant = tuple((a + shift, b + shift) for a, b in regions)
        span = (low, high)
        found = johnson_neyman_bounds(*moments, crit)
        bounds = JNBounds(tuple(r + shift for r in found.roots), found.outside)
    return Margins(dydx, tuple(out), df, level, moderator, significant, span, bounds)
