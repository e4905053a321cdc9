"""Normal and Student-t tail probabilities and quantiles from ``scipy.special``.

``scipy.stats`` costs a third of a second to import and builds hundreds of distribution
objects; the few functions specrun needs are thin wrappers over ``scipy.special``'s cephes
routines, which ``scipy.stats`` itself calls (``stats.t.sf(x, df) == special.stdtr(df, -x)``,
``stats.norm.ppf == special.ndtri``), so the numbers are the same to the last bit.
``scipy.special`` itself (about 0.3 s: it imports numpy's array-API layer) is imported on first
use, so commands that fit nothing (``validate``, ``plan``, ``schema``) never load it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def two_sided_p(stat: ArrayLike, df: float | None = None) -> np.ndarray:
    """Two-sided p-values ``2·P(T > |stat|)`` of t (``df`` degrees of freedom) or, with
    ``df=None``, standard-normal statistics.

    Shapes: ``stat`` any shape; the result has the same shape (a 0-d array for a scalar).
    NaN statistics and ``df <= 0`` give NaN, as ``scipy.stats.t.sf`` does.
    """
    from scipy import special

    magnitude = -np.abs(np.asarray(stat, dtype=float))
    if df is None:
        return 2.0 * special.ndtr(magnitude)
    return 2.0 * special.stdtr(df, magnitude)


def normal_cdf(x: ArrayLike) -> np.ndarray:
    """Φ(x), elementwise (``scipy.stats.norm.cdf``)."""
    from scipy import special

    return special.ndtr(np.asarray(x, dtype=float))


def normal_quantile(p: ArrayLike) -> np.ndarray:
    """Φ⁻¹(p), elementwise (``scipy.stats.norm.ppf``); p outside [0, 1] gives NaN."""
    from scipy import special

    return special.ndtri(np.asarray(p, dtype=float))


def t_quantile(p: ArrayLike, df: float) -> np.ndarray:
    """The p-quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf``)."""
    from scipy import special

    return special.stdtrit(df, np.asarray(p, dtype=float))


def chi2_sf(stat: ArrayLike, df: ArrayLike) -> np.ndarray:
    """P(χ²_df > stat), elementwise (``scipy.stats.chi2.sf``): 1 for ``stat < 0`` and NaN for
    ``df <= 0``, as ``scipy.stats`` gives outside the support and the parameter space."""
    from scipy import special

    x, k = np.asarray(stat, dtype=float), np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        p = special.chdtrc(k, np.maximum(x, 0.0))
    return np.where(k > 0, np.where(x < 0, 1.0, p), np.nan)


def f_sf(stat: ArrayLike, df1: ArrayLike, df2: ArrayLike) -> np.ndarray:
    """P(F_{df1, df2} > stat), elementwise (``scipy.stats.f.sf``): 1 for ``stat < 0`` and NaN
    for a degree of freedom ``<= 0``, as ``scipy.stats`` gives."""
    from scipy import special

    if type(stat) is float and type(df1) is int and type(df2) is int:
        # one test (a fit's F): the same ufunc on the same values, without the array
        # wrapping and the error-state context, which cost ten times the ufunc
        if df1 <= 0 or df2 <= 0:
            return np.asarray(np.nan)
        return np.asarray(1.0 if stat < 0 else special.fdtrc(df1, df2, stat))
    x = np.asarray(stat, dtype=float)
    d1, d2 = np.asarray(df1, dtype=float), np.asarray(df2, dtype=float)
    with np.errstate(invalid="ignore"):
        p = special.fdtrc(d1, d2, np.maximum(x, 0.0))
    return np.where((d1 > 0) & (d2 > 0), np.where(x < 0, 1.0, p), np.nan)


def f_quantile(p: ArrayLike, df1: float, df2: float) -> np.ndarray:
    """The p-quantile of F with ``df1`` and ``df2`` degrees of freedom (``scipy.stats.f.ppf``)."""
    from scipy import special

    return special.fdtri(df1, df2, np.asarray(p, dtype=float))
