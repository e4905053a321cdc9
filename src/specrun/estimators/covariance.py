"""Covariance matrices of least-squares coefficients under named small-sample conventions.

Conventions (checked in ``tests/test_estimators_linear.py`` against R plm 2.6.2 and Stata):

* ``stata`` — clustered: G/(G−1)·(N−1)/(N−K) times the sandwich, K counting the slopes, the
  constant and any time dummies but not the entity effects nested in the clusters
  (``xtreg, fe vce(cluster id)``, ``regress, vce(cluster id)``); robust: N/(N−K) with K counting
  every absorbed effect (``areg``/``reghdfe``, ``vce(robust)``).
* ``plm`` — N/(N−k) with k the slopes only (R plm ``vcovHC(type = "HC1")``).
Two-way clustering follows Cameron, Gelbach and Miller (2011): V = V_entity + V_time − V_cell,
scaled as ``reghdfe, vce(cluster id year)`` does, by the one-way factor of the dimension with
fewer clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specrun.kernels.within import group_sums
from specrun.spec.models import CovarianceSpec


@dataclass(frozen=True)
class DegreesOfFreedom:
    nobs: int
    slopes: int  # reported coefficients other than the constant
    absorbed: int  # entity and time effects swept out (or entered as dummies)
    time_dummies: int  # time effects counted by Stata's clustered correction
    has_constant: bool

    @property
    def resid(self) -> int:
        return self.nobs - self.slopes - self.absorbed - int(self.has_constant)


@dataclass(frozen=True)
class Covariance:
    matrix: np.ndarray
    df: int | None  # degrees of freedom of the t reference distribution (None: normal)


def _meat(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    _, codes = np.unique(groups, return_inverse=True)
    summed = group_sums(scores, codes, int(codes.max()) + 1)
    return summed.T @ summed


def covariance(
    x: np.ndarray,
    resid: np.ndarray,
    spec: CovarianceSpec,
    dof: DegreesOfFreedom,
    clusters: dict[str, np.ndarray],
) -> Covariance:
    """Covariance of OLS coefficients on design ``x`` (after any within transformation)."""
    # (X′X)⁻¹ = X⁺X⁺′ from the SVD of X: inverting X′X itself squares the condition number
    # and loses the constant's variance once a regressor is a product of large variables
    pinv = np.linalg.pinv(x)
    bread = pinv @ pinv.T
    n = dof.nobs
    if spec.type == "unadjusted":
        sigma2 = float(resid @ resid) / dof.resid
        return Covariance(sigma2 * bread, dof.resid)
    scores = x * resid[:, None]
    if spec.type == "robust":
        meat = scores.T @ scores
        if spec.convention == "plm":
            factor = n / (n - dof.slopes)
        else:
            factor = n / dof.resid
        return Covariance(factor * bread @ meat @ bread, dof.resid)
    names = spec.cluster or []
    k_stata = dof.slopes + int(dof.has_constant) + dof.time_dummies

    def sandwich(groups: np.ndarray) -> np.ndarray:
        return bread @ _meat(scores, groups) @ bread

    def factor(g: int) -> float:
        if spec.convention == "plm":
            return n / (n - dof.slopes)
        return g / (g - 1) * (n - 1) / (n - k_stata)

    counts = {d: int(np.unique(clusters[d]).size) for d in names}
    if len(names) == 1:
        g = counts[names[0]]
        return Covariance(factor(g) * sandwich(clusters[names[0]]), g - 1)
    _, entity_codes = np.unique(clusters["entity"], return_inverse=True)
    _, time_codes = np.unique(clusters["time"], return_inverse=True)
    cells = entity_codes * (time_codes.max() + 1) + time_codes
    raw = sandwich(clusters["entity"]) + sandwich(clusters["time"]) - sandwich(cells)
    g = min(counts.values())
    return Covariance(factor(g) * raw, g - 1)
