"""Instrumental-variables kernel: k-class (2SLS, LIML) and two-step GMM, with weak-IV diagnostics.

Everything here takes already-partialled numpy arrays — fixed effects are swept out by the
caller — and returns frozen records; nothing reads a spec or a frame. Notation (Baum, Schaffer
and Stillman 2003, 2007, "Instrumental variables and GMM: estimation and testing", Stata Journal
3(1):1–31 and 7(4):465–506, whose ``ivreg2`` output the reference tests reproduce):

    y  (n,)       dependent variable
    X1 (n, k1)    endogenous regressors
    W  (n, kw)    exogenous regressors, the constant included when the model has one
    Z  (n, l)     excluded instruments (l ≥ k1)

The regressors are R = [X1, W] and the instruments Zf = [Z, W]. Diagnostics partial W out of
y, X1 and Z first (Frisch–Waugh–Lovell), as ``ivreg2`` does. ``absorbed`` counts the degrees of
freedom a caller's fixed-effect sweep used, so that small-sample statistics stay those of the
dummy-variable regression.

Covariance conventions (``CovarianceKind``):

* ``unadjusted`` σ² (X̂′X̂)⁻¹ with σ² = SSR/N (Stata ``ivregress 2sls``, ``ivreg2``), or
  SSR/(N − K) with ``small``;
* ``robust`` the White sandwich, times N/(N − K) with ``small`` only;
* ``cluster`` the cluster sandwich with no factor (``ivregress, vce(cluster)`` and ``ivreg2,
  cluster()`` without ``small``: checked against Stata 13's stored output), times
  G/(G − 1)·(N − 1)/(N − K) with ``small``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from specrun.kernels.distributions import chi2_sf, f_quantile, f_sf, two_sided_p
from specrun.kernels.within import group_sums

Method = Literal["2sls", "liml", "gmm"]
CovarianceKind = Literal["unadjusted", "robust", "cluster"]
GmmCovariance = Literal["ivreg2", "ivregress"]


# Stock and Yogo (2005), "Testing for Weak Instruments in Linear IV Regression", in Andrews and
# Stock (eds.), Identification and Inference for Econometric Models, CUP, 80–108, Table 5.2:
# critical values of the Cragg–Donald F (for several endogenous regressors, its minimum-eigenvalue
# form) for a 5 % Wald test on 2SLS whose actual size is at most 10 %, by the number of excluded
# instruments. One endogenous regressor: entries checked against a second printed source. Two:
# the table as ivreg2 (Baum, Schaffer and Stillman; ``s_cdsy``, ``ivsize10``) carries it, whose
# one-regressor column equals the entries above; only L = 2…6 are stored, others are reported as
# absent.
STOCK_YOGO_2SLS_SIZE10 = {
    1: {1: 16.38, 2: 19.93, 3: 22.30, 4: 24.58},
    2: {2: 7.03, 3: 13.43, 4: 16.87, 5: 19.45, 6: 21.68},
}


def stock_yogo_size10(k1: int, n_instruments: int, method: str) -> float | None:
    """Stock–Yogo 10 % maximal-size critical value for the Cragg–Donald F with ``k1`` (1 or 2)
    endogenous regressors, or None where the table does not apply (LIML/GMM, more endogenous
    regressors) or is not stored."""
    if method != "2sls":
        return None
    return STOCK_YOGO_2SLS_SIZE10.get(k1, {}).get(n_instruments)


class IVError(ValueError):
    """The IV problem is not identified or not estimable (rank, counts); the message says why."""


@dataclass(frozen=True)
class Inference:
    """How standard errors and test statistics are computed.

    ``kind`` the covariance; ``clusters`` integer codes (n,) when ``kind == "cluster"``;
    ``small`` Stata's ``small`` option (t and F reference distributions, N − K corrections);
    ``absorbed`` degrees of freedom used by fixed effects swept out before the kernel, of which
    ``absorbed_in_clusters`` are nested in the clusters and so not counted against a clustered
    covariance (the ``reghdfe``/``ivreghdfe`` rule).
    """

    kind: CovarianceKind = "unadjusted"
    clusters: np.ndarray | None = None
    small: bool = False
    absorbed: int = 0
    absorbed_in_clusters: int = 0


@dataclass(frozen=True)
class Estimate:
    """Coefficients (k,), their covariance (k, k) and the t/z reference (``df`` None: normal)."""

    beta: np.ndarray
    cov: np.ndarray
    resid: np.ndarray
    df: int | None
    kappa: float  # 1 for 2SLS, the LIML eigenvalue for LIML, nan for GMM

    @property
    def std_errors(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))

    @property
    def stats(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.beta / self.std_errors

    @property
    def p_values(self) -> np.ndarray:
        t = np.abs(self.stats)
        return two_sided_p(t, self.df)


@dataclass(frozen=True)
class Test:
    """A test statistic, its degrees of freedom and p-value (``df2`` set for an F test)."""

    stat: float
    df: int
    p_value: float
    df2: int | None = None


@dataclass(frozen=True)
class FirstStage:
    """The first-stage regression of one endogenous regressor on Zf = [Z, W].

    ``estimate`` holds coefficients in the order [Z, W]; ``f`` is the F test that the excluded
    instruments' coefficients are zero under the model's covariance (``ivreg2``'s "F test of
    excluded instruments"); ``sw_f`` the Sanderson–Windmeijer (2016) conditional F, equal to
    ``f`` when there is one endogenous regressor; ``partial_r2`` the R² of the excluded
    instruments after W is partialled out.
    """

    estimate: Estimate
    f: Test
    sw_f: Test
    partial_r2: float
    r2: float


@dataclass(frozen=True)
class IVFit:
    """A fitted IV model: ``estimate`` in the order R = [X1, W], the first stages, diagnostics.

    Diagnostics (``ivreg2`` names): ``underid`` Anderson canonical-correlation LM (unadjusted)
    or Kleibergen–Paap rk LM (robust/cluster); ``cd_f`` Cragg–Donald Wald F; ``kp_f``
    Kleibergen–Paap rk Wald F (equal to ``cd_f`` under ``unadjusted``); ``overid`` Sargan
    (unadjusted) or Hansen J, None when exactly identified; ``endog`` the C (difference-in-
    Sargan/J) test that X1 is exogenous; ``ar`` the Anderson–Rubin test of β(X1) = 0 and
    ``ar_ci`` its confidence set for a single endogenous regressor (unadjusted: exact, from a
    quadratic inequality; robust/clustered: by inverting the test on a grid, see
    :func:`ar_set_by_grid`).
    """

    estimate: Estimate
    method: Method
    first: tuple[FirstStage, ...]
    underid: Test
    cd_f: float
    kp_f: float
    overid: Test | None
    endog: Test
    ar: Test
    ar_ci: tuple[float, float, str] | None
    nobs: int
    n_clusters: int | None
    r2: float
    ssr: float
    extra: dict[str, float] = field(default_factory=dict)


def _proj(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of b on a (a full column rank)."""
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    return coef


def _resid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.shape[1] == 0:
        return b
    return b - a @ _proj(a, b)


def _cluster_scores(scores: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    _, codes = np.unique(clusters, return_inverse=True)
    return group_sums(scores, codes, int(codes.max()) + 1)


def _meat(scores: np.ndarray, inf: Inference) -> np.ndarray:
    """Σ sᵢsᵢ′ (robust) or Σ_g S_g S_g′ (cluster), unscaled."""
    if inf.kind == "cluster":
        assert inf.clusters is not None  # checked by fit_iv
        summed = _cluster_scores(scores, inf.clusters)
        return summed.T @ summed
    return scores.T @ scores


def _scale(inf: Inference, n: int, k: int, n_clusters: int | None) -> float:
    """The small-sample factor applied to a sandwich (robust/cluster) covariance."""
    if inf.kind == "cluster":
        assert n_clusters is not None
        # without small, ivregress and ivreg2 apply no G/(G − 1) either (R sandwich's vcovCL
        # does by default: cadjust = TRUE)
        if not inf.small:
            return 1.0
        return (
            n_clusters
            / (n_clusters - 1)
            * (n - 1)
            / (n - k - inf.absorbed + inf.absorbed_in_clusters)
        )
    if inf.kind == "robust" and inf.small:
        return n / (n - k - inf.absorbed)
    return 1.0


def _ols(
    y: np.ndarray, x: np.ndarray, inf: Inference, n_clusters: int | None
) -> tuple[Estimate, np.ndarray]:
    """OLS with the model's covariance; returns the estimate and (X′X)⁻¹."""
    n, k = x.shape
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ (x.T @ y)
    resid = y - x @ beta
    df_resid = n - k - inf.absorbed
    if inf.kind == "unadjusted":
        sigma2 = float(resid @ resid) / (df_resid if inf.small else n)
        cov = sigma2 * bread
    else:
        cov = _scale(inf, n, k, n_clusters) * bread @ _meat(x * resid[:, None], inf) @ bread
    return Estimate(beta, cov, resid, _df(inf, n, k, n_clusters), 1.0), bread


def _df(inf: Inference, n: int, k: int, n_clusters: int | None) -> int | None:
    if not inf.small:
        return None
    if inf.kind == "cluster" and n_clusters is not None:
        return n_clusters - 1
    return n - k - inf.absorbed


def _wald_f(
    beta: np.ndarray, cov: np.ndarray, rows: slice, n: int, k: int, inf: Inference, nc: int | None
) -> Test:
    """F = Wald/q on the coefficients ``rows``; ``ivreg2`` rescales a large-sample covariance
    to the small-sample one for this F, so the F is the same with or without ``small``."""
    b = beta[rows]
    v = cov[rows, rows]
    q = b.size
    wald = float(b @ np.linalg.solve(v, b))
    if not inf.small:
        if inf.kind in ("unadjusted", "robust"):
            wald *= (n - k - inf.absorbed) / n
        else:
            assert nc is not None
            wald *= (n - k - inf.absorbed + inf.absorbed_in_clusters) / (n - 1) * (nc - 1) / nc
    df2 = (nc - 1) if inf.kind == "cluster" and nc is not None else n - k - inf.absorbed
    f = wald / q
    return Test(f, q, float(f_sf(f, q, df2)), df2)


def _kclass(
    y: np.ndarray, r: np.ndarray, zf: np.ndarray, kappa: float
) -> tuple[np.ndarray, np.ndarray]:
    """k-class coefficients and the "fitted" regressors X̂ = (I − κM_Z)R."""
    r_fit = r - kappa * _resid(zf, r)
    beta = np.linalg.solve(r_fit.T @ r, r_fit.T @ y)
    return beta, r_fit


def _liml_kappa(y: np.ndarray, x1: np.ndarray, w: np.ndarray, zf: np.ndarray) -> float:
    """Smallest root of |Y′M_W Y − κ Y′M_Zf Y| = 0 with Y = [y, X1] (Anderson and Rubin 1949)."""
    yy = np.column_stack([y, x1])
    a = _resid(w, yy)
    b = _resid(zf, yy)
    roots = np.linalg.eigvals(np.linalg.solve(b.T @ b, a.T @ a))
    return float(np.min(roots.real))


def _gmm_criterion(
    y: np.ndarray, r: np.ndarray, zf: np.ndarray, s_inv: np.ndarray
) -> tuple[np.ndarray, float]:
    """Efficient GMM coefficients for weight S⁻¹ and the minimised criterion N·ḡ′S⁻¹ḡ."""
    n = y.size
    zr = zf.T @ r
    beta = np.linalg.solve(zr.T @ s_inv @ zr, zr.T @ s_inv @ (zf.T @ y))
    g = zf.T @ (y - r @ beta) / n
    return beta, float(n * g @ s_inv @ g)


def _s_matrix(zf: np.ndarray, resid: np.ndarray, inf: Inference) -> np.ndarray:
    """The (l+kw)² long-run covariance of the moments zᵢeᵢ, divided by N (no df correction)."""
    n = resid.size
    if inf.kind == "unadjusted":
        return float(resid @ resid) / n * (zf.T @ zf) / n
    return _meat(zf * resid[:, None], inf) / n


def fit_iv(
    y: np.ndarray,
    x1: np.ndarray,
    w: np.ndarray,
    z: np.ndarray,
    *,
    method: Method = "2sls",
    inference: Inference | None = None,
    level: float = 0.95,
    gmm_covariance: GmmCovariance = "ivreg2",
) -> IVFit:
    """Fit y = X1·β1 + W·β2 + u by 2SLS, LIML or two-step efficient GMM using Z.

    Shapes as in the module docstring. Coefficients come back in the order [X1, W]. Raises
    :class:`IVError` when there are fewer instruments than endogenous regressors, when the
    instruments or regressors are collinear, or when a clustered covariance has < 2 clusters.
    Sources: 2SLS/LIML as Stata ``ivregress`` and ``ivreg2`` (Baum et al. 2003, 2007); GMM as
    ``ivreg2, gmm2s``: first-step 2SLS residuals give S, the second step weights by S⁻¹, the
    covariance is (R′Zf S⁻¹ Zf′R)⁻¹·N with that S (``gmm_covariance="ivreg2"``), or Stata's
    ``ivregress gmm`` sandwich A·G′W S₂ W G·A with S₂ from the second-step residuals, A =
    (G′WG)⁻¹, G = Zf′R/N and W = S⁻¹ (``"ivregress"``, as linearmodels' IVGMM).
    """
    inf = inference or Inference()
    y = np.asarray(y, float)
    x1, w, z = (np.asarray(a, float).reshape(y.size, -1) for a in (x1, w, z))
    n, k1 = x1.shape
    kw, ell = w.shape[1], z.shape[1]
    if ell < k1:
        raise IVError(
            f"{ell} excluded instrument(s) for {k1} endogenous regressor(s): "
            "the equation is not identified"
        )
    r = np.column_stack([x1, w])
    zf = np.column_stack([z, w])
    k = k1 + kw
    if np.linalg.matrix_rank(zf) < zf.shape[1]:
        raise IVError("the instruments and exogenous regressors are collinear")
    if np.linalg.matrix_rank(r) < k:
        raise IVError("the regressors are collinear")
    n_clusters = None
    if inf.kind == "cluster":
        if inf.clusters is None:
            raise IVError("a clustered covariance needs cluster codes")
        n_clusters = int(np.unique(inf.clusters).size)
        if n_clusters < 2:
            raise IVError(f"clustering needs at least 2 clusters, the sample has {n_clusters}")
    if n - k - inf.absorbed <= 0:
        raise IVError(f"no residual degrees of freedom ({n} observations)")
    if n - zf.shape[1] - inf.absorbed <= 0:
        # the first stages (and the Anderson–Rubin test) regress on every instrument: with
        # more instruments than endogenous regressors they run out of rows first
        absorbed = f" and {inf.absorbed} absorbed effects" if inf.absorbed else ""
        raise IVError(
            f"no residual degrees of freedom in the first stage ({n} observations for "
            f"{zf.shape[1]} instruments and exogenous regressors{absorbed})"
        )

    estimate = _second_stage(y, x1, w, z, r, zf, method, inf, n_clusters, gmm_covariance)
    resid = estimate.resid
    ssr = float(resid @ resid)
    tss = float(((y - y.mean()) ** 2).sum()) if _has_constant(w) else float(y @ y)

    # partial W out of everything (FWL): the diagnostics are about X1 and Z only
    yt, x1t, zt = (_resid(w, a) for a in (y, x1, z))
    first = tuple(_first_stage(x1, zf, x1t, zt, j, ell, inf, n_clusters) for j in range(k1))
    cd_f, anderson_lm = _cragg_donald(x1t, zt, n, kw + inf.absorbed)
    if inf.kind == "unadjusted":
        underid = Test(anderson_lm, ell - k1 + 1, float(chi2_sf(anderson_lm, ell - k1 + 1)))
        kp_f = cd_f
    else:
        kp_lm = kleibergen_paap(x1t, zt, inf, wald=False)
        kp_wald = kleibergen_paap(x1t, zt, inf, wald=True)
        underid = Test(kp_lm, ell - k1 + 1, float(chi2_sf(kp_lm, ell - k1 + 1)))
        kp_f = _kp_f(kp_wald, n, ell, kw + inf.absorbed, inf, n_clusters)
    overid = _overid(y, r, zf, inf, estimate, method) if ell > k1 else None
    endog = _endogeneity(y, x1, w, z, inf)
    ar = _anderson_rubin(yt, zt, w.shape[1], inf, n_clusters, n)
    ar_ci = None
    if k1 == 1 and inf.kind == "unadjusted":
        ar_ci = _ar_interval(yt, x1t, zt, kw + inf.absorbed, level)
    elif k1 == 1:
        b, se = float(estimate.beta[0]), float(estimate.std_errors[0])
        ar_ci = ar_set_by_grid(yt, x1t[:, 0], zt, w.shape[1], inf, n_clusters, level, b, se)
    return IVFit(
        estimate=estimate,
        method=method,
        first=first,
        underid=underid,
        cd_f=cd_f,
        kp_f=kp_f,
        overid=overid,
        endog=endog,
        ar=ar,
        ar_ci=ar_ci,
        nobs=n,
        n_clusters=n_clusters,
        r2=1.0 - ssr / tss if tss > 0 else float("nan"),
        ssr=ssr,
    )


def _has_constant(w: np.ndarray) -> bool:
    return bool(w.shape[1]) and bool(np.any(np.all(np.abs(w - w[:1]) < 1e-12, axis=0)))


def _second_stage(
    y: np.ndarray,
    x1: np.ndarray,
    w: np.ndarray,
    z: np.ndarray,
    r: np.ndarray,
    zf: np.ndarray,
    method: Method,
    inf: Inference,
    n_clusters: int | None,
    gmm_covariance: GmmCovariance = "ivreg2",
) -> Estimate:
    n, k = r.shape
    df = _df(inf, n, k, n_clusters)
    if method == "gmm":
        beta1, _ = _kclass(y, r, zf, 1.0)
        s = _s_matrix(zf, y - r @ beta1, inf)
        s_inv = np.linalg.inv(s)
        beta, _ = _gmm_criterion(y, r, zf, s_inv)
        zr = zf.T @ r / n
        cov = np.linalg.inv(zr.T @ s_inv @ zr) / n
        if gmm_covariance == "ivregress":
            s2 = _s_matrix(zf, y - r @ beta, inf)
            lever = zr.T @ s_inv
            cov = cov @ (lever @ s2 @ lever.T) @ cov * n
        if inf.small:
            cov = cov * _small_gmm(inf, n, k, n_clusters)
        return Estimate(beta, cov, y - r @ beta, df, float("nan"))
    kappa = _liml_kappa(y, x1, w, zf) if method == "liml" else 1.0
    beta, r_fit = _kclass(y, r, zf, kappa)
    resid = y - r @ beta
    bread = np.linalg.inv(r_fit.T @ r)
    if inf.kind == "unadjusted":
        sigma2 = float(resid @ resid) / ((n - k - inf.absorbed) if inf.small else n)
        cov = sigma2 * bread
    else:
        # the scores use P_Z·R for LIML too, as linearmodels' IVLIML does (exact there)
        meat = _meat((r - _resid(zf, r)) * resid[:, None], inf)
        cov = _scale(inf, n, k, n_clusters) * bread @ meat @ bread.T
    return Estimate(beta, cov, resid, df, kappa)


def _small_gmm(inf: Inference, n: int, k: int, n_clusters: int | None) -> float:
    if inf.kind == "cluster":
        assert n_clusters is not None
        return (
            n_clusters
            / (n_clusters - 1)
            * (n - 1)
            / (n - k - inf.absorbed + inf.absorbed_in_clusters)
        )
    return n / (n - k - inf.absorbed)


def _first_stage(
    x1: np.ndarray,
    zf: np.ndarray,
    x1t: np.ndarray,
    zt: np.ndarray,
    j: int,
    ell: int,
    inf: Inference,
    n_clusters: int | None,
) -> FirstStage:
    n = x1.shape[0]
    est, _ = _ols(x1[:, j], zf, inf, n_clusters)
    f = _wald_f(est.beta, est.cov, slice(0, ell), n, zf.shape[1], inf, n_clusters)
    target = x1t[:, j]
    resid_z = _resid(zt, target)
    partial_r2 = 1.0 - float(resid_z @ resid_z) / float(target @ target)
    x = x1[:, j]
    tss = float(((x - x.mean()) ** 2).sum())
    r2 = 1.0 - float(est.resid @ est.resid) / tss if tss > 0 else float("nan")
    k1 = x1t.shape[1]
    sw = f if k1 == 1 else _sanderson_windmeijer(x1t, zt, j, inf, n_clusters, zf.shape[1])
    return FirstStage(est, f, sw, partial_r2, r2)


def _sanderson_windmeijer(
    x1t: np.ndarray, zt: np.ndarray, j: int, inf: Inference, n_clusters: int | None, k_zf: int
) -> Test:
    """Sanderson and Windmeijer (2016, J. Econometrics 190:212–221) conditional first-stage F:
    X1_j on the other endogenous regressors by 2SLS using Z, then the F test of Z in the
    regression of that residual on Z, with l − k1 + 1 numerator degrees of freedom (as
    ``ivreg2``)."""
    n, k1 = x1t.shape
    ell = zt.shape[1]
    others = np.delete(x1t, j, axis=1)
    delta, _ = _kclass(x1t[:, j], others, zt, 1.0)
    e = x1t[:, j] - others @ delta
    est, _ = _ols(e, zt, Inference(inf.kind, inf.clusters, True, 0, 0), n_clusters)
    wald = float(est.beta @ np.linalg.solve(est.cov, est.beta))
    if inf.kind == "unadjusted":
        # the small σ² above divides by n − l; ivreg2 uses n − k_zf − absorbed
        wald *= (n - k_zf - inf.absorbed) / (n - ell)
    elif inf.kind == "robust":
        wald *= (n - k_zf - inf.absorbed) / (n - ell)
    else:
        wald *= ((n - k_zf - inf.absorbed + inf.absorbed_in_clusters) / (n - 1)) / (
            (n - ell) / (n - 1)
        )
    q = ell - k1 + 1
    df2 = (n_clusters - 1) if inf.kind == "cluster" and n_clusters else n - k_zf - inf.absorbed
    f = wald / q
    return Test(f, q, float(f_sf(f, q, df2)), df2)


def _cragg_donald(x1t: np.ndarray, zt: np.ndarray, n: int, kw: int) -> tuple[float, float]:
    """Cragg–Donald Wald F and Anderson's canonical-correlation LM (N·λ_min), from the squared
    canonical correlations λ of X1 and Z after partialling W (Cragg and Donald 1993; Stock and
    Yogo 2005, eq. 3.4: F = (N − l − kw)/l · λ/(1 − λ))."""
    ell = zt.shape[1]
    xx = x1t.T @ x1t
    fitted = zt @ _proj(zt, x1t)
    ev = np.linalg.eigvals(np.linalg.solve(xx, x1t.T @ fitted)).real
    lam = float(np.min(ev))
    cd_f = (n - ell - kw) / ell * lam / (1.0 - lam)
    return cd_f, n * lam


def kleibergen_paap(x1t: np.ndarray, zt: np.ndarray, inf: Inference, *, wald: bool) -> float:
    """Kleibergen and Paap (2006, J. Econometrics 133:97–126) rk statistic for rank k1 − 1 of
    the (l, k1) first-stage coefficient matrix, as ``ranktest`` (Kleibergen and Schaffer) and
    hence ``ivreg2`` compute it: LM (underidentification) or Wald (weak identification).

    ``x1t``/``zt`` are already partialled. The covariance of the first-stage coefficients is
    robust or clustered per ``inf`` with no small-sample factor; the LM version evaluates it at
    the residuals under the null of rank reduction (ranktest's default).
    """
    n, k = x1t.shape
    ell = zt.shape[1]
    zz = zt.T @ zt
    xx = x1t.T @ x1t
    pi = np.linalg.solve(zz, zt.T @ x1t)  # (l, k)
    f_mat = np.linalg.cholesky(zz).T  # upper, F′F = Z′Z
    g_mat = np.linalg.cholesky(xx).T  # upper, G′G = X′X
    theta = f_mat @ pi @ np.linalg.inv(g_mat)  # (l, k)
    u, _, vt = np.linalg.svd(theta, full_matrices=True)
    v = vt.T
    q = k - 1  # tested rank
    u12 = u[:q, q:]
    u22 = u[q:, q:]
    v12 = v[:q, q:]
    v22 = v[q:, q:]
    a_q = np.vstack([u12, u22]) @ np.linalg.solve(u22, _sqrtm(u22 @ u22.T))
    b_q = _sqrtm(v22 @ v22.T) @ np.linalg.solve(v22.T, np.vstack([v12, v22]).T)
    kron = np.kron(b_q, a_q.T)  # vec is column-major: vec(A X B) = (B′ ⊗ A) vec(X)
    lam = kron @ theta.reshape(-1, order="F")
    if wald:
        resid = x1t - zt @ pi
    else:
        # under the null of reduced rank, the first-stage residuals are those of the rank-q fit;
        # ranktest's LM uses the residuals with the whole matrix restricted, i.e. X1 itself
        # when q = 0; for q > 0 it projects the k − q least-identified directions out.
        resid = _null_residuals(x1t, zt, pi, g_mat, f_mat, u, v, q)
    # scores of vec(Π): (z_i ⊗ e_i) ordered as vec of (l, k) column-major → kron(e, z)
    scores = (resid[:, :, None] * zt[:, None, :]).reshape(n, k * ell)
    if inf.kind == "unadjusted":
        sigma = resid.T @ resid / n
        meat = np.kron(sigma, zz)
    else:
        meat = _meat(scores, inf)
    zz_inv = np.linalg.inv(zz)
    v_pi = np.kron(np.eye(k), zz_inv) @ meat @ np.kron(np.eye(k), zz_inv)
    g_inv = np.linalg.inv(g_mat)
    transform = np.kron(g_inv.T, f_mat)  # vec(F Π G⁻¹) = (G⁻¹′ ⊗ F) vec(Π)
    v_theta = transform @ v_pi @ transform.T
    omega = kron @ v_theta @ kron.T
    return float(lam @ np.linalg.solve(omega, lam))


def _null_residuals(
    x1t: np.ndarray,
    zt: np.ndarray,
    pi: np.ndarray,
    g_mat: np.ndarray,
    f_mat: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    q: int,
) -> np.ndarray:
    """First-stage residuals with Θ restricted to its best rank-q approximation."""
    if q == 0:
        return x1t
    s = u[:, :q].T @ (f_mat @ pi @ np.linalg.inv(g_mat)) @ v[:, :q]
    theta_q = u[:, :q] @ s @ v[:, :q].T
    pi_q = np.linalg.solve(f_mat, theta_q) @ g_mat
    return x1t - zt @ pi_q


def _sqrtm(a: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    vals, vecs = np.linalg.eigh((a + a.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def _kp_f(wald: float, n: int, ell: int, kw: int, inf: Inference, n_clusters: int | None) -> float:
    """``ivreg2``'s rk Wald F: rk/l scaled by (N − l − kw)/N, and by (G − 1)/G · N/(N − 1)... as
    ``ivreg2`` does for clusters, so that it equals the robust first-stage F when k1 = 1."""
    if inf.kind == "cluster":
        assert n_clusters is not None
        return (
            wald
            / ell
            * (n - ell - kw + inf.absorbed_in_clusters)
            / (n - 1)
            * (n_clusters - 1)
            / n_clusters
        )
    return wald / ell * (n - ell - kw) / n


def _overid(
    y: np.ndarray, r: np.ndarray, zf: np.ndarray, inf: Inference, est: Estimate, method: Method
) -> Test:
    """Sargan (1958) N·e′P_Z e / e′e under ``unadjusted``; otherwise Hansen (1982) J of the
    efficient two-step GMM estimator (what ``ivreg2`` reports after 2SLS with robust SEs)."""
    n = y.size
    df = zf.shape[1] - r.shape[1]
    if inf.kind == "unadjusted":
        e = est.resid
        fitted = zf @ _proj(zf, e)
        stat = n * float(fitted @ fitted) / float(e @ e)
    else:
        beta1, _ = _kclass(y, r, zf, 1.0)
        s_inv = np.linalg.inv(_s_matrix(zf, y - r @ beta1, inf))
        _, stat = _gmm_criterion(y, r, zf, s_inv)
    return Test(stat, df, float(chi2_sf(stat, df)))


def _endogeneity(
    y: np.ndarray, x1: np.ndarray, w: np.ndarray, z: np.ndarray, inf: Inference
) -> Test:
    """C statistic that X1 is exogenous (``ivreg2``'s ``endog()``): the difference of the
    Sargan/Hansen statistics with X1 added to the instruments and without, both computed with
    the S matrix (or σ²) of the restricted model, in which X1 is exogenous — Hayashi (2000,
    p. 220); under homoskedasticity this is the Durbin–Wu–Hausman statistic."""
    k1 = x1.shape[1]
    r = np.column_stack([x1, w])
    zf_r = np.column_stack([z, w, x1])
    beta_r, _ = _kclass(y, r, zf_r, 1.0)
    e_r = y - r @ beta_r
    s_r = _s_matrix(zf_r, e_r, inf)
    s_inv_r = np.linalg.inv(s_r)
    _, j_r = _gmm_criterion(y, r, zf_r, s_inv_r)
    ell = z.shape[1]
    kw = w.shape[1]
    keep = np.r_[np.arange(ell), ell + np.arange(kw)]
    s_u_inv = np.linalg.inv(s_r[np.ix_(keep, keep)])
    _, j_u = _gmm_criterion(y, r, zf_r[:, keep], s_u_inv)
    stat = j_r - j_u
    return Test(stat, k1, float(chi2_sf(stat, k1)))


def _anderson_rubin(
    yt: np.ndarray, zt: np.ndarray, kw: int, inf: Inference, n_clusters: int | None, n: int
) -> Test:
    """Anderson and Rubin (1949) test of β(X1) = 0: the F test of Z in the regression of y on Z
    and W (``ivreg2``'s "Anderson-Rubin Wald test", F form), with the model's covariance."""
    est, _ = _ols(yt, zt, Inference(inf.kind, inf.clusters, True, 0, 0), n_clusters)
    ell = zt.shape[1]
    return _wald_from_small(est, ell, n, kw, inf, n_clusters)


def _wald_from_small(
    est: Estimate, ell: int, n: int, kw: int, inf: Inference, n_clusters: int | None
) -> Test:
    """F of all coefficients of a regression on partialled Z (small covariance with n − l),
    re-based to the degrees of freedom of the regression on [Z, W] plus absorbed effects."""
    wald = float(est.beta @ np.linalg.solve(est.cov, est.beta))
    k_full = ell + kw + inf.absorbed
    if inf.kind == "cluster":
        wald *= (n - k_full + inf.absorbed_in_clusters) / (n - ell)
        df2 = int(n_clusters or 0) - 1
    else:
        wald *= (n - k_full) / (n - ell)
        df2 = n - k_full
    f = wald / ell
    return Test(f, ell, float(f_sf(f, ell, df2)), df2)


def _ar_interval(
    yt: np.ndarray, x1t: np.ndarray, zt: np.ndarray, kw: int, level: float
) -> tuple[float, float, str]:
    """The Anderson–Rubin confidence set {β0 : F_AR(β0) ≤ F crit} for one endogenous regressor
    under homoskedasticity: a quadratic inequality a·β0² + b·β0 + c ≤ 0 (Dufour 1997; Mikusheva
    2010). Returns (low, high, shape) with shape "interval", "union" (the complement of
    (low, high): two rays), "all" (unbounded, the whole line) or "empty"."""
    n, ell = zt.shape
    df2 = n - ell - kw
    crit = float(f_quantile(level, ell, df2)) * ell / df2
    pz = zt @ np.linalg.solve(zt.T @ zt, zt.T)

    def form(a: np.ndarray, b: np.ndarray) -> float:
        pa = pz @ a
        return float(pa @ b) - crit * float((a - pa) @ b)

    x = x1t[:, 0]
    qa = form(x, x)
    qb = -2 * form(x, yt)
    qc = form(yt, yt)
    disc = qb * qb - 4 * qa * qc
    if qa > 0:
        if disc < 0:
            return (float("nan"), float("nan"), "empty")
        root = np.sqrt(disc)
        return ((-qb - root) / (2 * qa), (-qb + root) / (2 * qa), "interval")
    if disc < 0:
        return (float("-inf"), float("inf"), "all")
    root = np.sqrt(disc)
    lo, hi = sorted(((-qb - root) / (2 * qa), (-qb + root) / (2 * qa)))
    return (lo, hi, "union")


def ar_set_by_grid(
    yt: np.ndarray,
    xt: np.ndarray,
    zt: np.ndarray,
    kw: int,
    inf: Inference,
    n_clusters: int | None,
    level: float,
    center: float,
    scale: float,
    *,
    half_width: float = 50.0,
    points: int = 2001,
) -> tuple[float, float, str]:
    """The Anderson–Rubin set {β0 : p_AR(β0) > 1 − level} with a robust or clustered AR test,
    found on a grid of ``points`` values center ± half_width·scale (the Wald estimate and its
    SE) and refined to machine precision at each crossing (Brent's method), as ``weakiv`` /
    ``ivreg2`` grid inversions do. Returns (low, high, shape): "interval"; "unbounded" when the
    set reaches an end of the grid (that side reported as ∓inf); "disjoint" when the accepted
    grid points form several runs (low/high then span them all); "empty" when none is accepted.
    """
    from scipy.optimize import brentq

    alpha = 1.0 - level
    n = yt.size

    def excess(beta0: float) -> float:
        return _anderson_rubin(yt - beta0 * xt, zt, kw, inf, n_clusters, n).p_value - alpha

    width = half_width * (scale if scale > 0 else 1.0)
    grid = np.linspace(center - width, center + width, points)
    # the curve's scale is read off one exact test; not at the estimate itself, where a
    # just-identified model's AR statistic is zero and the ratio would be 0/0
    anchor = center + width / 2
    reference = _anderson_rubin(yt - anchor * xt, zt, kw, inf, n_clusters, n)
    accepted = _ar_p_curve(yt, xt, zt, inf, grid, reference, anchor) > alpha
    if not accepted.any():
        return (float("nan"), float("nan"), "empty")
    runs = int(np.sum(np.diff(accepted.astype(int)) == 1)) + int(accepted[0])
    first, last = int(np.argmax(accepted)), int(len(grid) - 1 - np.argmax(accepted[::-1]))
    low = float("-inf") if first == 0 else brentq(excess, grid[first - 1], grid[first])
    high = float("inf") if last == len(grid) - 1 else brentq(excess, grid[last], grid[last + 1])
    if first == 0 or last == len(grid) - 1:
        return (low, high, "unbounded")
    return (low, high, "disjoint" if runs > 1 else "interval")


def _ar_p_curve(
    yt: np.ndarray,
    xt: np.ndarray,
    zt: np.ndarray,
    inf: Inference,
    grid: np.ndarray,
    reference: Test,
    at: float,
) -> np.ndarray:
    """AR p-values at every β0 of ``grid`` at once. The reduced-form residuals are linear in
    β0, u(β0) = u_y − β0·u_x, so the sandwich meat is a quadratic A0 − 2β0A1 + β0²A2 (sums of
    squares, or of cluster sums); the unscaled Wald statistic follows for the whole grid from one
    batched solve. Its small-sample factor and reference distribution are read off
    ``reference``, the exact ``_anderson_rubin`` test at β0 = ``at``, so the two cannot drift."""
    n = zt.shape[0]
    ell = zt.shape[1]
    zz_inv = np.linalg.inv(zt.T @ zt)
    pi_y, pi_x = zz_inv @ (zt.T @ yt), zz_inv @ (zt.T @ xt)
    u_y, u_x = yt - zt @ pi_y, xt - zt @ pi_x
    s_y, s_x = zt * u_y[:, None], zt * u_x[:, None]
    if inf.kind == "cluster":
        assert inf.clusters is not None
        s_y, s_x = _cluster_scores(s_y, inf.clusters), _cluster_scores(s_x, inf.clusters)

    def wald0(betas: np.ndarray) -> np.ndarray:
        b = betas[:, None, None]
        if inf.kind == "unadjusted":
            ssr = float(u_y @ u_y) - 2 * b * float(u_y @ u_x) + b**2 * float(u_x @ u_x)
            meat = ssr * (zt.T @ zt)[None] / n
        else:
            cross = s_y.T @ s_x
            meat = (s_y.T @ s_y)[None] - b * (cross + cross.T)[None] + b**2 * (s_x.T @ s_x)[None]
        pis = pi_y[None, :] - betas[:, None] * pi_x[None, :]
        cov = zz_inv[None] @ meat @ zz_inv[None]
        return np.einsum("gi,gi->g", pis, np.linalg.solve(cov, pis[:, :, None])[:, :, 0])

    factor = reference.stat * ell / float(wald0(np.array([at]))[0])
    return f_sf(factor * wald0(grid) / ell, ell, reference.df2)
