"""Every IV method, covariance and ``small`` against Stata 13's stored ``ivregress`` output.

Data and numbers: the output of Stata 13 stored in linearmodels 7.1 (``linearmodels/tests/iv/
results/stata-iv-housing-results.txt``, made by ``execute-stata.py`` there) for

    use http://www.stata-press.com/data/r13/hsng
    ivregress {2sls | liml | gmm} rent pcturban (hsngval = faminc i.region),
        vce({unadjusted | robust | cluster division}) [small]

(``gmm`` takes ``wmatrix()`` in place of ``vce()``, its default VCE following the weight matrix),
on Stata's 1980 census housing data for the 50 states, shipped beside it as ``housing.csv`` and
read from the installed linearmodels (a specrun dependency). The coefficient and its t (or z)
statistic are quoted as Stata printed them (``%13.12g``: 13 characters, so 9 to 11 significant
digits), and checked to 5e-9 relative, within the last printed digit; the LIML κ and the GMM
Hansen J likewise.

What the output settles: without ``small`` the clustered covariance has no G/(G − 1) (its
variance is (G − 1)/G of R sandwich's ``vcovCL`` default), and ``ivregress gmm``'s VCE is the
sandwich with S re-estimated at the second-step residuals (``gmm_covariance: ivregress``), not
ivreg2's ``gmm2s`` (R′Z S⁻¹ Z′R)⁻¹ — which no installed package computes, so specrun's default
``gmm_covariance: ivreg2`` is checked here only where the two coincide (homoskedastic weights).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from specrun.estimators.base import FitContext
from specrun.estimators.iv import IVSpec, fit_iv_model

NAMES = ("hsngval", "pcturban", "_cons")
PRINTED = 5e-9  # relative: the last of 9 or more printed significant digits
# "method-vce-small|asymptotic": (b, t) of hsngval, pcturban, _cons as Stata prints them
STATA = {
    "2sls-unadjusted-small": ((.00223983298, 6.6118735487), (.08151596819, .26453102725),
                              (120.70651454, 7.6849434508)),
    "2sls-robust-small": ((.00223983298, 3.2315305906), (.08151596819, .177763737),
                          (120.70651454, 7.6713070437)),
    "2sls-cluster-small": ((.00223983298, 5.3839720729), (.08151596819, .14195066975),
                           (120.70651454, 6.1705296852)),
    "liml-unadjusted-small": ((.00266862318, 6.2001021269), (-.18273906839, -.49612308689),
                              (117.6086951, 6.6193100547)),
    "liml-robust-small": ((.00266862318, 3.2529790022), (-.18273906839, -.35851167593),
                          (117.6086951, 6.0395413691)),
    "liml-cluster-small": ((.00266862318, 5.9089571618), (-.18273906839, -.30238555348),
                           (117.6086951, 5.0356522146)),
    "gmm-unadjusted-small": ((.00223983298, 6.6118735487), (.08151596819, .26453102725),
                             (120.70651454, 7.6849434508)),
    "gmm-robust-small": ((.00146432787, 3.1741830844), (.76154815601, 2.5503338526),
                         (112.12271295, 10.063282685)),
    "gmm-cluster-small": ((.00192718161, 5.0369192337), (.63495496019, 1.5407643664),
                          (100.873596, 6.5765712323)),
    "2sls-unadjusted-asymptotic": ((.00223983298, 6.8196268557), (.08151596819, .2728429218),
                                   (120.70651454, 7.9264139514)),
    "2sls-robust-asymptotic": ((.00223983298, 3.3330693091), (.08151596819, .18334929515),
                               (120.70651454, 7.9123490715)),
    "2sls-cluster-asymptotic": ((.00223983298, 5.8308003445), (.08151596819, .15373148354),
                                (120.70651454, 6.6826361889)),
    "liml-unadjusted-asymptotic": ((.00266862318, 6.3949170627), (-.18273906839, -.51171189258),
                                   (117.6086951, 6.827297026)),
    "liml-robust-asymptotic": ((.00266862318, 3.3551916565), (-.18273906839, -.36977655959),
                               (117.6086951, 6.2293112858)),
    "liml-cluster-asymptotic": ((.00266862318, 6.3993551579), (-.18273906839, -.32748122864),
                                (117.6086951, 5.453572617)),
    "gmm-unadjusted-asymptotic": ((.00223983298, 6.8196268557), (.08151596819, .2728429218),
                                  (120.70651454, 7.9264139514)),
    "gmm-robust-asymptotic": ((.00146432787, 3.2739198727), (.76154815601, 2.6304685206),
                              (112.12271295, 10.379483568)),
    "gmm-cluster-asymptotic": ((.00192718161, 5.454944789), (.6349549602, 1.6686359582),
                               (100.873596, 7.1223760613)),
}  # fmt: skip
LIML_KAPPA = 1.256906483
GMM_J = {"unadjusted": 11.287665072, "robust": 6.8364006463, "cluster": 3.6677640329}
SE = {"unadjusted": "unadjusted", "robust": "robust", "cluster": {"cluster": "division"}}


@pytest.fixture(scope="module")
def hsng() -> pl.DataFrame:
    import linearmodels

    path = Path(linearmodels.__file__).parent / "tests" / "iv" / "results" / "housing.csv"
    if not path.exists():
        pytest.skip("this linearmodels installation ships no tests/iv/results/housing.csv")
    frame = pl.read_csv(path)
    # i.region: a dummy for each region but the first (any base gives the same instruments)
    regions = sorted(frame["region"].unique())
    return frame.with_columns(
        (pl.col("region") == r).cast(pl.Float64).alias(f"region{i}")
        for i, r in enumerate(regions[1:], start=2)
    )


def _fit(frame: pl.DataFrame, method: str, vce: str, small: bool, **options: object):
    spec = IVSpec.model_validate(
        {
            "estimator": "iv",
            "y": "rent",
            "x": ["pcturban"],
            "endog": ["hsngval"],
            "instruments": ["faminc", "region2", "region3", "region4"],
            "method": method,
            "se": SE[vce],
            "small": small,
            **options,
        }
    )
    return fit_iv_model(frame, spec, FitContext("iv", "state", "state"))[""]


@pytest.mark.parametrize("case", list(STATA))
def test_ivregress_coefficients_and_statistics_match_stata(hsng: pl.DataFrame, case: str) -> None:
    method, vce, small = case.split("-")
    options = {"gmm_covariance": "ivregress"} if method == "gmm" else {}
    result = _fit(hsng, method, vce, small == "small", **options)
    for name, (b, t) in zip(NAMES, STATA[case], strict=True):
        coefficient = result.coefficients[name]
        assert coefficient.estimate == pytest.approx(b, rel=PRINTED), name
        assert coefficient.stat == pytest.approx(t, rel=PRINTED), name
    if method == "liml":
        assert result.extra["kappa"] == pytest.approx(LIML_KAPPA, rel=PRINTED)
    if method == "gmm":
        assert result.stats["hansen_j"] == pytest.approx(GMM_J[vce], rel=PRINTED)
        expected = "ivregress gmm" + (" small" if small == "small" else "")
        assert result.se_convention == expected


@pytest.mark.parametrize("vce", ["robust", "cluster"])
def test_ivreg2_gmm_covariance_is_the_default_and_named(hsng: pl.DataFrame, vce: str) -> None:
    default = _fit(hsng, "gmm", vce, False)
    stata = _fit(hsng, "gmm", vce, False, gmm_covariance="ivregress")
    assert default.se_convention == "ivreg2 gmm2s"
    for name in NAMES:
        assert default.coefficients[name].estimate == stata.coefficients[name].estimate
        # (R′Z S⁻¹ Z′R)⁻¹ with the first step's S: other SEs than the sandwich with S₂
        assert default.coefficients[name].std_error != pytest.approx(
            stata.coefficients[name].std_error, rel=1e-3
        )
    # homoskedastic weights: ivreg2's and ivregress's GMM are 2SLS, whichever covariance
    homoskedastic = _fit(hsng, "gmm", "unadjusted", False)
    for name, (_, t) in zip(NAMES, STATA["gmm-unadjusted-asymptotic"], strict=True):
        assert homoskedastic.coefficients[name].stat == pytest.approx(t, rel=PRINTED)


def test_gmm_covariance_belongs_to_gmm() -> None:
    with pytest.raises(ValueError, match="gmm_covariance is the covariance of method: gmm"):
        IVSpec.model_validate(
            {
                "estimator": "iv",
                "y": "rent",
                "endog": ["hsngval"],
                "instruments": ["faminc"],
                "gmm_covariance": "ivregress",
            }
        )
