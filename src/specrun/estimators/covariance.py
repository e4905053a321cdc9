"""Covariance matrices of least-squares coefficients under named small-sample conventions.

Conventions (checked in ``tests/test_estimators_linear.py`` against R plm 2.6.2 and Stata):

* ``stata`` — clustered: G/(G−1)·(N−1)/(N−K) times the sandwich, K counting the slopes, the
  constant and any time dummies but not the entity effects nested in the clusters
  (``xtreg, fe vce(cluster id)``, ``regress, vce(cluster id)``); robust: N/(N−K) with K counting
  every absorbed effect (``areg``/``reghdfe``, ``vce(robust)``).
* ``plm`` — N/(N−k) with k the slopes only (R plm ``vcovHC(type = "HC1")``).
Two-way clustering follows Cameron, Gelbach and Miller (2011): V = V_entity + V_time − V_cell,
each term with its own cluster-count factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    description: str


def _meat(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    _, codes = np.unique(groups, return_inverse=True)
    summed = np.zeros((codes.max() + 1, scores.shape[1]))
    np.add.at(summed, codes, scores)
    return summed.T @ summed


def covariance(
    x: np.ndarray,
    resid: np.ndarray,
    spec: CovarianceSpec,
    dof: DegreesOfFreedom,
    clusters: dict[str, np.ndarray],
) -> Covariance:
    """Covariance of OLS coefficients on design ``x`` (after any within transformation)."""
    bread = np.linalg.pinv(x.T @ x)
    n = dof.nobs
    if spec.type == "unadjusted":
        sigma2 = float(resid @ resid) / dof.resid
        return Covariance(sigma2 * bread, dof.resid, "conventional")
    scores = x * resid[:, None]
    if spec.type == "robust":
        meat = scores.T @ scores
        if spec.convention == "plm":
            factor = n / (n - dof.slopes)
        else:
            factor = n / dof.resid
        return Covariance(factor * bread @ meat @ bread, dof.resid, "robust")
    names = spec.cluster or []
    k_stata = dof.slopes + int(dof.has_constant) + dof.time_dummies

    def one_way(groups: np.ndarray) -> tuple[np.ndarray, int]:
        g = int(np.unique(groups).size)
        if spec.convention == "plm":
            factor = n / (n - dof.slopes)
        else:
            factor = g / (g - 1) * (n - 1) / (n - k_stata)
        return factor * bread @ _meat(scores, groups) @ bread, g

    if len(names) == 1:
        matrix, g = one_way(clusters[names[0]])
        return Covariance(matrix, g - 1, f"clustered by {names[0]}")
    v_entity, g_entity = one_way(clusters["entity"])
    v_time, g_time = one_way(clusters["time"])
    _, entity_codes = np.unique(clusters["entity"], return_inverse=True)
    _, time_codes = np.unique(clusters["time"], return_inverse=True)
    v_cell, _ = one_way(entity_codes * (time_codes.max() + 1) + time_codes)
    return Covariance(
        v_entity + v_time - v_cell, min(g_entity, g_time) - 1, "clustered by entity and time"
    )
