"""Reference tests of the dynamic panel GMM kernel (difference and system GMM, as xtabond2).

Expected numbers and where they come from:

* Roodman (2009), "How to do xtabond2", Stata Journal 9(1):86–136: the xtabond2 output printed
  in section 3.3 (difference GMM) and section 3.4 (system GMM), on
  Stata's ``abdata`` (Arellano and Bond 1991's UK employment panel). Stata prints coefficients
  and standard errors to 7 decimals, test statistics to 2: every printed digit is compared.
* R ``plm::pgmm`` (Croissant and Millo), the saved reference output of plm's own test file
  ``tests/test_pgmm.Rout.save`` (R 3.4.3), on plm's ``EmplUK`` (the same panel in levels).
* R ``plm`` 2.6.2 ``pgmm`` run on EmplUK (same numbers as the saved output above for the
  documented models).
* Stata's [XT] ``xtabond`` manual, examples 1 and 4, on ``abdata``.
* ``pydynpd`` (Wu, Hua and Xu 2023) README, two-step difference and system GMM with
  Windmeijer-corrected errors on ``abdata``; its authors verified these against xtabond2; and
  pydynpd 0.2.2 run on ``abdata`` for orthogonal deviations. In system GMM after orthogonal
  deviations pydynpd instruments the transformed equation with first differences of its
  IV-style variables where xtabond2 uses their orthogonal deviations; the test shows that this
  one column is the whole difference.
* xtabond2's help file (Roodman, version 3.7), ``h()`` and its examples: with H = I and
  instruments for the levels equation only, one-step GMM is OLS (``regress``) or 2SLS
  (``ivreg2``, entity-clustered) and two-step GMM is efficient GMM; compared with statsmodels
  0.15.0 and linearmodels 7.1 on ``abdata``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from specrun.errors import SpecError
from specrun.kernels.gmm import GmmStyle, IvStyle, fit_difference_gmm, fit_gmm, fit_system_gmm

AB_REGRESSORS = ("w", "L.w", "k", "L.k", "L2.k", "ys", "L.ys", "L2.ys")


def _printed(value: float, printed: float, decimals: int) -> bool:
    """``value`` rounds to what Stata/R printed (half a unit in the last printed place)."""
    return abs(value - printed) <= 0.5 * 10.0**-decimals + 1e-12


def _assert_table(result, expected: dict[str, tuple[float, float]], decimals: int) -> None:
    for name, (estimate, std_error) in expected.items():
        b, se = result.coefficient(name)
        assert _printed(b, estimate, decimals), (name, b, estimate)
        assert _printed(se, std_error, decimals), (name, se, std_error)


@pytest.fixture
def abdata(reference) -> pd.DataFrame:
    """Stata's abdata (float32 logs n, w, k, ys), read in place (not redistributed)."""
    frame = pd.read_csv(reference("abdata", "abdata_from_pydynpd_repo.csv"))
    return frame[["id", "year", "n", "w", "k", "ys"]]


@pytest.fixture
def empl_uk(reference) -> pd.DataFrame:
    """plm's EmplUK in levels; the logs are built here as the shipped spec builds them."""
    frame = pd.read_csv(reference("abdata", "EmplUK_plm.csv"))
    return frame.assign(
        n=np.log(frame["emp"]),
        w=np.log(frame["wage"]),
        k=np.log(frame["capital"]),
        ys=np.log(frame["output"]),
    )


def test_roodman_difference_gmm_one_step_robust(abdata: pd.DataFrame) -> None:
    """Roodman (2009) §3.3, first robust example: ``xtabond2 n L.n L2.n w L.w L(0/2).(k ys) yr*,
    gmm(L.n) iv(w L.w L(0/2).(k ys) yr*) nolevel robust`` (= Arellano and Bond 1991,
    table 4, column a1)."""
    result = fit_difference_gmm(
        abdata,
        entity="id",
        time="year",
        dependent="n",
        dep_lags=2,
        regressors=AB_REGRESSORS,
        gmm=[GmmStyle("L.n")],
        iv=[IvStyle(AB_REGRESSORS)],
        time_effects=True,
        robust=True,
    )
    _assert_table(
        result,
        {
            "L.n": (0.6862261, 0.1445943),
            "L2.n": (-0.0853582, 0.0560155),
            "w": (-0.6078208, 0.1782055),
            "L.w": (0.3926237, 0.1679931),
            "k": (0.3568456, 0.0590203),
            "L.k": (-0.0580012, 0.0731797),
            "L2.k": (-0.0199475, 0.0327126),
            "ys": (0.6085073, 0.1725313),
            "L.ys": (-0.7111651, 0.2317163),
            "L2.ys": (0.1057969, 0.1412021),
            "yr1978": (0.0077033, 0.0314106),
            "yr1979": (0.0172578, 0.0290922),
            "yr1980": (0.0297185, 0.0276617),
            "yr1981": (-0.004071, 0.0298987),
            "yr1982": (-0.0193555, 0.0228436),
            "yr1983": (-0.0136171, 0.0188263),
        },
        7,
    )
    assert result.dropped == ("yr1976", "yr1977", "yr1984")
    assert (result.nobs, result.n_groups, result.n_instruments) == (611, 140, 41)
    assert (result.obs_per_group_min, result.obs_per_group_max) == (4, 6)
    assert _printed(result.ar1_z, -3.60, 2) and _printed(result.ar1_p, 0.000, 3)
    assert _printed(result.ar2_z, -0.52, 2) and _printed(result.ar2_p, 0.606, 3)
    assert result.sargan_df == result.hansen_df == 25
    assert _printed(result.sargan, 67.59, 2) and _printed(result.sargan_p, 0.000, 3)
    assert _printed(result.hansen, 31.38, 2) and _printed(result.hansen_p, 0.177, 3)
    assert result.stat_name == "z" and _printed(result.stats[0], 4.75, 2)


def test_roodman_difference_gmm_endogenous_small(abdata: pd.DataFrame) -> None:
    """Roodman (2009) §3.3, last example: ``xtabond2 n L.n L2.n w L.w L(0/2).(k ys) yr*,
    gmm(L.(n w k)) iv(L(0/2).ys yr*) nolevel robust small`` (t statistics, F(16, 140))."""
    result = fit_gmm(
        pl.from_pandas(abdata),
        entity="id",
        time="year",
        dependent="n",
        dep_lags=2,
        regressors=AB_REGRESSORS,
        gmm=[GmmStyle(("L.n", "L.w", "L.k"))],
        iv=[IvStyle(("ys", "L.ys", "L2.ys"))],
        system=False,
        time_effects=True,
        robust=True,
        small=True,
    )
    _assert_table(
        result,
        {
            "L.n": (0.8179867, 0.0859761),
            "L2.n": (-0.1122756, 0.0502366),
            "w": (-0.6816685, 0.1425813),
            "L.w": (0.6557083, 0.202368),
            "k": (0.3525689, 0.1217997),
            "L.k": (-0.1536626, 0.0862928),
            "L2.k": (-0.0304529, 0.0321355),
            "ys": (0.6509498, 0.189582),
            "L.ys": (-0.9162028, 0.2639274),
            "L2.ys": (0.2786584, 0.1855286),
            "yr1978": (0.0238987, 0.0367972),
            "yr1979": (0.0352258, 0.0351846),
            "yr1980": (0.0502675, 0.0365659),
            "yr1981": (0.0102721, 0.0349996),
            "yr1982": (-0.0111623, 0.0264747),
            "yr1983": (-0.0069458, 0.0191611),
        },
        7,
    )
    assert (result.n_instruments, result.df_resid, result.stat_name) == (90, 140, "t")
    assert _printed(result.stats[0], 9.51, 2) and _printed(result.p_values[1], 0.027, 3)
    assert _printed(result.ar1_z, -5.39, 2) and _printed(result.ar2_z, -0.78, 2)
    assert _printed(result.ar2_p, 0.436, 3)
    assert result.sargan_df == 74
    assert _printed(result.sargan, 120.62, 2) and _printed(result.hansen, 73.72, 2)
    assert _printed(result.hansen_p, 0.487, 3)


def test_roodman_system_gmm_one_step_robust_small(abdata: pd.DataFrame) -> None:
    """Roodman (2009) §3.4: ``xtabond2 n L.n L(0/1).(w k) yr*, gmmstyle(L.(n w k))
    ivstyle(yr*, equation(level)) robust small`` (Blundell and Bond 1998's model)."""
    result = fit_system_gmm(
        abdata,
        entity="id",
        time="year",
        dependent="n",
        dep_lags=1,
        regressors=("w", "L.w", "k", "L.k"),
        gmm=[GmmStyle(("L.n", "L.w", "L.k"))],
        time_effects=True,
        time_effects_equation="level",
        robust=True,
        small=True,
    )
    _assert_table(
        result,
        {
            "L.n": (0.9356053, 0.026569),
            "w": (-0.6309761, 0.1192834),
            "L.w": (0.4826203, 0.1383132),
            "k": (0.4839299, 0.0544281),
            "L.k": (-0.4243928, 0.059088),
            "yr1977": (-0.0240573, 0.0296969),
            "yr1978": (-0.0176523, 0.0229277),
            "yr1979": (-0.0026515, 0.0207492),
            "yr1980": (-0.0173995, 0.0221715),
            "yr1981": (-0.0435283, 0.0193348),
            "yr1982": (-0.0096193, 0.0186829),
            "yr1983": (0.0038132, 0.0171959),
            "_cons": (0.5522011, 0.1971607),
        },
        7,
    )
    assert result.dropped == ("yr1976", "yr1984")
    assert (result.nobs, result.n_groups, result.n_instruments) == (891, 140, 113)
    assert (result.obs_per_group_min, result.obs_per_group_max) == (6, 8)
    assert result.df_resid == 139 and _printed(result.stats[0], 35.21, 2)
    assert _printed(result.ar1_z, -5.46, 2) and _printed(result.ar2_z, -0.25, 2)
    assert _printed(result.ar2_p, 0.804, 3)
    assert result.sargan_df == 100
    assert _printed(result.sargan, 186.90, 2) and _printed(result.hansen, 110.70, 2)
    assert _printed(result.hansen_p, 0.218, 3)


@pytest.mark.parametrize(
    ("steps", "robust", "small", "expected"),
    [
        (
            1,
            False,
            True,
            {
                "L.n": (0.6862261, 0.1486163),
                "L2.n": (-0.0853582, 0.0444365),
                "w": (-0.6078208, 0.0657694),
                "L.w": (0.3926237, 0.1092374),
            },
        ),
        (2, True, False, {"L.n": (0.6287089, 0.1934138)}),
    ],
)
def test_stata_xtabond_manual_one_step_and_windmeijer_two_step(
    abdata: pd.DataFrame,
    steps: int,
    robust: bool,
    small: bool,
    expected: dict[str, tuple[float, float]],
) -> None:
    """Stata [XT] xtabond manual on abdata, ``xtabond n l(0/1).w l(0/2).(k ys) yr1980-yr1984
    year, lags(2) noconstant``: Example 1 (one-step, homoskedastic errors, whose variance
    carries xtabond2's ``small`` degrees-of-freedom factor) and Example 4 (``twostep
    vce(robust)``, Windmeijer-corrected; Arellano and Bond 1991, table 4, column a2). Its
    differenced dummies and trend span the same space as xtabond2's differenced ``yr*``, so the
    other coefficients are those of Roodman (2009) §3.3's command (his "change robust to
    twostep")."""
    result = fit_difference_gmm(
        abdata,
        entity="id",
        time="year",
        dependent="n",
        dep_lags=2,
        regressors=AB_REGRESSORS,
        gmm=[GmmStyle("L.n")],
        iv=[IvStyle(AB_REGRESSORS)],
        time_effects=True,
        steps=steps,
        robust=robust,
        small=small,
    )
    _assert_table(result, expected, 7)


def test_plm_levels_copy_differs_from_float32_abdata_in_the_seventh_digit(
    empl_uk: pd.DataFrame,
) -> None:
    """The command of Roodman (2009) §3.3 on plm's double-precision EmplUK (logs built here):
    L.n 0.6862259 (SE 0.1445941), against 0.6862261 (0.1445943) on Stata's float32 abdata."""
    result = fit_difference_gmm(
        empl_uk,
        entity="firm",
        time="year",
        dependent="n",
        dep_lags=2,
        regressors=AB_REGRESSORS,
        gmm=[GmmStyle("L.n")],
        iv=[IvStyle(AB_REGRESSORS)],
        time_effects=True,
    )
    assert _assert_pair(result.coefficient("L.n"), (0.6862259, 0.1445941), 7)
    assert result.n_instruments == 41 and result.nobs == 611


def _assert_pair(actual: tuple[float, float], printed: tuple[float, float], decimals: int) -> bool:
    return _printed(actual[0], printed[0], decimals) and _printed(actual[1], printed[1], decimals)


@pytest.mark.parametrize(
    ("collapse", "expected", "hansen", "ar"),
    [
        (
            False,
            {
                "L.n": (0.474151, 0.185398),
                "L2.n": (-0.052967, 0.051749),
                "w": (-0.513205, 0.145565),
                "L.w": (0.224640, 0.141950),
                "k": (0.292723, 0.062627),
                "ys": (0.609775, 0.156263),
                "L.ys": (-0.446373, 0.217302),
            },
            (30.11247, 25),
            ((-1.53845, 5), (-0.2796829, 7)),
        ),
        (
            True,
            {
                "L.n": (0.853895, 0.562348),
                "L2.n": (-0.169886, 0.123293),
                "w": (-0.533119, 0.245948),
                "L.w": (0.352516, 0.432846),
                "k": (0.271707, 0.089921),
                "ys": (0.612855, 0.242289),
                "L.ys": (-0.682550, 0.612311),
            },
            (11.62681, 5),
            ((-1.290551, 6), (0.4482577, 7)),
        ),
    ],
)
def test_plm_pgmm_difference_two_step(
    empl_uk: pd.DataFrame,
    collapse: bool,
    expected: dict[str, tuple[float, float]],
    hansen: tuple[float, int],
    ar: tuple[tuple[float, int], tuple[float, int]],
) -> None:
    """plm's ``tests/test_pgmm.Rout.save`` (R 3.4.3), models ``z1`` and ``z1col``:
    ``pgmm(log(emp) ~ lag(log(emp), 1:2) + lag(log(wage), 0:1) + log(capital) +
    lag(log(output), 0:1) | lag(log(emp), 2:99), EmplUK, effect = "twoways",
    model = "twosteps"[, collapse = TRUE])``, Windmeijer-corrected errors (Arellano and Bond
    1991, table 4, column b). In xtabond2 terms: ``gmm(n, lag(2 .)) iv(w L.w k ys L.ys yr*)
    noleveleq twostep robust`` (pgmm instruments the other regressors itself); pgmm's
    "Sargan test" of a two-step model is the Hansen J."""
    regressors = ("w", "L.w", "k", "ys", "L.ys")
    result = fit_difference_gmm(
        empl_uk,
        entity="firm",
        time="year",
        dependent="n",
        dep_lags=2,
        regressors=regressors,
        gmm=[GmmStyle("n", lags=(2, None), collapse=collapse)],
        iv=[IvStyle(regressors)],
        time_effects=True,
        steps=2,
        robust=True,
    )
    _assert_table(result, expected, 6)
    assert result.hansen_df == hansen[1]
    assert _printed(result.hansen, hansen[0], 5)
    assert _printed(result.ar1_z, *ar[0])
    assert _printed(result.ar2_z, *ar[1])
    assert result.nobs == 611


# pydynpd's README example on abdata (``n L(1:2).n w k | gmm(n, 2:4) gmm(w, 1:3)``): the
# equation and GMM-style instruments the tests below fit in several ways
PYDYNPD_MODEL = {
    "entity": "id",
    "time": "year",
    "dependent": "n",
    "dep_lags": 2,
    "regressors": ("w", "k"),
    "gmm": [GmmStyle("n", lags=(2, 4)), GmmStyle("w", lags=(1, 3))],
}


def test_pydynpd_readme_two_step_difference_and_system(abdata: pd.DataFrame) -> None:
    """pydynpd README (``regression.abond``), two-step GMM with Windmeijer-corrected errors:
    ``n L(1:2).n w k | gmm(n, 2:4) gmm(w, 1:3) iv(k) | timedumm nolevel`` (difference; 42
    instruments, Hansen chi2(32) = 32.666, AR(1) z = −1.29, AR(2) z = −0.31) and the same
    without ``timedumm nolevel`` (system with a constant; 51 instruments, Hansen chi2(46) =
    96.442, AR(1) −2.35, AR(2) −1.15)."""
    common = {
        **PYDYNPD_MODEL,
        "iv": [IvStyle("k")],
        "steps": 2,
        "robust": True,
    }
    difference = fit_difference_gmm(abdata, time_effects=True, **common)
    _assert_table(
        difference,
        {
            "L.n": (0.2710675, 0.1382542),
            "L2.n": (-0.0233928, 0.0419665),
            "w": (-0.5668527, 0.2092231),
            "k": (0.3613939, 0.0662624),
        },
        7,
    )
    assert (difference.n_instruments, difference.hansen_df) == (42, 32)
    assert _printed(difference.hansen, 32.666, 3)
    assert _printed(difference.ar1_z, -1.29, 2) and _printed(difference.ar2_z, -0.31, 2)

    system = fit_system_gmm(abdata, **common)
    _assert_table(
        system,
        {
            "L.n": (0.9453810, 0.1429764),
            "L2.n": (-0.0860069, 0.1082318),
            "w": (-0.4477795, 0.1521917),
            "k": (0.1235808, 0.0508836),
            "_cons": (1.5630849, 0.4993484),
        },
        7,
    )
    assert (system.n_instruments, system.hansen_df) == (51, 46)
    assert _printed(system.hansen, 96.442, 3)
    assert _printed(system.ar1_z, -2.35, 2) and _printed(system.ar2_z, -1.15, 2)


def test_inputs_as_numpy_mapping_match_the_frame(abdata: pd.DataFrame) -> None:
    """A mapping of numpy arrays gives the same fit as the frame (same published model)."""
    arrays = {name: abdata[name].to_numpy() for name in abdata.columns}
    options = {
        "entity": "id",
        "time": "year",
        "dependent": "n",
        "dep_lags": 1,
        "regressors": ("w", "k"),
        "gmm": [GmmStyle(("n", "w"), lags=(2, 3), collapse=True)],
        "iv": [IvStyle("k")],
        "steps": 2,
    }
    from_frame = fit_system_gmm(abdata, **options)
    from_arrays = fit_system_gmm(arrays, **options)
    np.testing.assert_array_equal(from_frame.params, from_arrays.params)
    assert from_frame.names == ("L.n", "w", "k", "_cons")


@pytest.mark.parametrize("collapse", [False, True])
def test_entity_blocks_give_the_published_fit(
    abdata: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, collapse: bool
) -> None:
    """Z's products run over blocks of entities on large panels; with blocks of 64 firms (3
    blocks of abdata's 140) the pydynpd README's two-step system GMM above, with period
    dummies and Windmeijer errors, comes out as with one block, collapsed or not."""
    import specrun.kernels.gmm_instruments as instruments

    options = {
        "entity": "id",
        "time": "year",
        "dependent": "n",
        "dep_lags": 2,
        "regressors": ("w", "k"),
        "gmm": [GmmStyle("n", lags=(2, 4), collapse=collapse), GmmStyle("w", lags=(1, 3))],
        "iv": [IvStyle("k")],
        "steps": 2,
        "robust": True,
        "time_effects": True,
    }
    whole = fit_system_gmm(abdata, **options)
    monkeypatch.setattr(instruments, "_BLOCK_BYTES", 1)  # the 64-entity floor
    blocked = fit_system_gmm(abdata, **options)
    assert blocked.names == whole.names
    for field in ("params", "std_errors"):
        np.testing.assert_allclose(getattr(blocked, field), getattr(whole, field), rtol=1e-9)
    for field in ("hansen", "sargan", "ar1_z", "ar2_z"):
        assert getattr(blocked, field) == pytest.approx(getattr(whole, field), rel=1e-9)
    assert blocked.n_instruments == whole.n_instruments


def test_instruments_exceeding_groups_are_warned(abdata: pd.DataFrame) -> None:
    """Uncollapsed instruments for three variables on 20 firms: 113 instruments (the count of
    Roodman 2009 §3.4's command) for 20 groups, which must be flagged."""
    few = abdata[abdata["id"] <= 20]
    result = fit_system_gmm(
        few,
        entity="id",
        time="year",
        dependent="n",
        regressors=("w", "L.w", "k", "L.k"),
        gmm=[GmmStyle(("L.n", "L.w", "L.k"))],
        time_effects=True,
    )
    assert result.n_groups == 20
    assert result.n_instruments > result.n_groups
    assert any("exceed the 20 groups" in w for w in result.warnings)


def test_pydynpd_orthogonal_deviations_two_step_difference(abdata: pd.DataFrame) -> None:
    """pydynpd 0.2.2, ``regression.abond('n L(1:2).n w k | gmm(n, 2:4) gmm(w, 1:3) iv(k) |
    timedumm nolevel fod', abdata, ['id', 'year'])``: forward orthogonal deviations, two-step,
    Windmeijer-corrected (42 instruments, Hansen chi2(32) = 29.843). pydynpd's AR tests after
    orthogonal deviations follow another formula (z = −1.79, 0.05) and are not compared."""
    result = fit_difference_gmm(
        abdata,
        entity="id",
        time="year",
        dependent="n",
        dep_lags=2,
        regressors=("w", "k"),
        gmm=[GmmStyle("n", lags=(2, 4)), GmmStyle("w", lags=(1, 3))],
        iv=[IvStyle("k")],
        time_effects=True,
        transform="fod",
        steps=2,
    )
    _assert_table(
        result,
        {
            "L.n": (0.3517520, 0.1808746),
            "L2.n": (-0.0661910, 0.0548281),
            "w": (-0.8372503, 0.1586760),
            "k": (0.4424952, 0.0905476),
        },
        7,
    )
    assert (result.nobs, result.n_instruments, result.hansen_df) == (611, 42, 32)
    assert _printed(result.hansen, 29.843, 3)


def test_pydynpd_orthogonal_deviations_one_step_difference_robust(abdata: pd.DataFrame) -> None:
    """pydynpd 0.2.2 (run once under numpy 2, with ``np.in1d`` aliased to ``np.isin`` and its
    0-d array conversions made ``.item()``), ``regression.abond('n L(1:2).n w k | gmm(n, 2:4)
    gmm(w, 1:3) iv(k) | timedumm onestep fod nolevel', abdata, ['id', 'year'])``: one-step
    difference GMM after forward orthogonal deviations with robust errors (42 instruments;
    Hansen chi2(32) = 29.843, the same two-step weighted J as the two-step model above)."""
    result = fit_difference_gmm(
        abdata,
        entity="id",
        time="year",
        dependent="n",
        dep_lags=2,
        regressors=("w", "k"),
        gmm=[GmmStyle("n", lags=(2, 4)), GmmStyle("w", lags=(1, 3))],
        iv=[IvStyle("k")],
        time_effects=True,
        transform="fod",
        steps=1,
        robust=True,
    )
    _assert_table(
        result,
        {
            "L.n": (0.2376692, 0.1785959),
            "L2.n": (-0.0518908, 0.0727559),
            "w": (-0.7790831, 0.1308599),
            "k": (0.5043633, 0.0787420),
        },
        7,
    )
    assert (result.nobs, result.n_instruments, result.hansen_df) == (611, 42, 32)
    assert _printed(result.hansen, 29.843, 3)


PYDYNPD_SYSTEM_FOD = {
    "L.n": (0.9791812, 0.1375990),
    "L2.n": (-0.0856351, 0.1097151),
    "w": (-0.4048063, 0.1414355),
    "k": (0.0938607, 0.0433530),
    "_cons": (1.3773705, 0.4688334),
}


def _system_fod(abdata: pd.DataFrame):
    return fit_system_gmm(
        abdata,
        entity="id",
        time="year",
        dependent="n",
        dep_lags=2,
        regressors=("w", "k"),
        gmm=[GmmStyle("n", lags=(2, 4)), GmmStyle("w", lags=(1, 3))],
        iv=[IvStyle("k")],
        transform="fod",
        steps=2,
        robust=True,
    )


def test_pydynpd_system_gmm_orthogonal_deviations_differs_only_by_its_iv_instrument(
    abdata: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydynpd 0.2.2 (numpy 2 patches as above), ``regression.abond('n L(1:2).n w k |
    gmm(n, 2:4) gmm(w, 1:3) iv(k) | fod', abdata, ['id', 'year'])``: two-step system GMM after
    forward orthogonal deviations, Windmeijer-corrected; 51 instruments, Hansen chi2(46) =
    100.263 (its AR tests after orthogonal deviations follow another formula, as above).

    specrun's estimates differ from these in the fourth digit (L.n 0.97986 against 0.97918).
    The cause is one instrument column. xtabond2's help (ivstyle()): "by default, the
    instruments are transformed (into differences or orthogonal deviations) for use in the
    transformed equation and entered untransformed for the levels equation" — so ``iv(k)``
    enters the transformed equation as the orthogonal deviation of k, which is what specrun
    does, and what pydynpd itself does in difference GMM (the two tests above match it to
    every digit). In system GMM pydynpd 0.2.2 instead takes its first-difference table for
    IV-style instruments of the transformed equation (``dynamic_panel_model.py``,
    ``get_gmm_table_dict``: the orthogonal-deviations table only when ``level`` is false), with
    the difference of the period whose deviation the row holds: Δk_{t−1} on the row that
    xtabond2 stores at t. Giving the kernel that instrument reproduces pydynpd's every printed
    digit, so nothing else (H, weights, Windmeijer, Hansen) differs."""
    default = _system_fod(abdata)
    assert (default.n_instruments, default.hansen_df) == (51, 46)
    # the xtabond2 convention gives different numbers (a change of it fails here) ...
    assert abs(default.coefficient("L.n")[0] - PYDYNPD_SYSTEM_FOD["L.n"][0]) > 5e-4
    assert not _printed(default.hansen, 100.263, 3)

    # ... and pydynpd's instrument, Δk of the deviation's own period, gives pydynpd's numbers
    import specrun.kernels.gmm as kernel

    transform = kernel.transform_wide

    def pydynpd_instrument(values, complete, how, **kwargs):
        # the only call without ``out=`` that transforms by orthogonal deviations is the one
        # building IV-style instruments of the transformed equation (``_build_design``)
        if how == "fod" and "out" not in kwargs:
            return kernel.lag_wide(transform(values, complete, "fd"), 1)
        return transform(values, complete, how, **kwargs)

    monkeypatch.setattr(kernel, "transform_wide", pydynpd_instrument)
    theirs = _system_fod(abdata)
    _assert_table(theirs, PYDYNPD_SYSTEM_FOD, 7)
    assert (theirs.n_instruments, theirs.hansen_df) == (51, 46)
    assert _printed(theirs.hansen, 100.263, 3)


def _abdata_levels(reference) -> pd.DataFrame:
    frame = pd.read_csv(reference("abdata", "abdata_from_pydynpd_repo.csv"))
    return frame[["id", "year", "n", "w", "k", "ys", "cap", "rec"]]


def test_h1_levels_only_instruments_are_ols_as_the_xtabond2_help_says(reference) -> None:
    """xtabond2's help, h() and its examples: "regress n w k" and "xtabond2 n w k, iv(w k,
    eq(level)) small h(1)" are the same estimator (with H = I, one-step GMM is 2SLS). The
    OLS numbers are statsmodels 0.15.0, ``sm.OLS(d.n, sm.add_constant(d[["w", "k"]])).fit()``
    on abdata (1031 rows): w −0.36362874 (0.06484721), k 0.81084674 (0.01126411), _cons
    2.55693476 (0.20489299), 1028 residual df."""
    result = fit_gmm(
        _abdata_levels(reference),
        entity="id",
        time="year",
        dependent="n",
        dep_lags=0,
        regressors=("w", "k"),
        gmm=[],
        iv=[IvStyle(("w", "k"), equation="level")],
        system=True,
        time_effects=False,
        h=1,
        steps=1,
        robust=False,
        small=True,
    )
    _assert_table(
        result,
        {
            "w": (-0.36362874, 0.06484721),
            "k": (0.81084674, 0.01126411),
            "_cons": (2.55693476, 0.20489299),
        },
        8,
    )
    assert (result.nobs, result.df_resid, result.stat_name) == (1031, 1028, "t")


def test_h1_levels_only_robust_is_entity_clustered_2sls_and_two_step_gmm(reference) -> None:
    """xtabond2's help example "ivreg2 n cap (w = k ys rec), cluster(id)" against "xtabond2 n w
    cap, iv(cap k ys rec, eq(level)) h(1) robust" (the help's pair without its weights and
    second cluster variable): one-step robust is 2SLS with the entity-clustered sandwich, and
    its Sargan the 2SLS Sargan; two-step is efficient GMM with the entity-clustered weight.
    Numbers from linearmodels 7.1 on abdata: ``IV2SLS(d.n, d[["const", "cap"]], d.w,
    d[["k", "ys", "rec"]]).fit(cov_type="clustered", clusters=d.id, debiased=False)``
    (w 13.106662868838 (7.553766303093), cap 0.132602242208 (0.070787849088), const
    −40.470571768639 (23.832903518754), ``.sargan`` 38.235993419 on 2 df) and ``IVGMM(…,
    weight_type="clustered", clusters=d.id).fit(iter_limit=2)`` (w 15.607203729725, cap
    0.165506505681, const −48.497515111697, ``.j_stat`` 5.4009670124: xtabond2's Hansen J).
    Agreement to 1e-9 relative (1e-8 after the two-step weight's inverse, the instruments
    being weak): the two compute the same sums in another order."""
    options = {
        "entity": "id",
        "time": "year",
        "dependent": "n",
        "dep_lags": 0,
        "regressors": ("w", "cap"),
        "gmm": [],
        "iv": [IvStyle(("cap", "k", "ys", "rec"), equation="level")],
        "system": True,
        "time_effects": False,
        "h": 1,
    }
    frame = _abdata_levels(reference)
    one = fit_gmm(frame, steps=1, robust=True, **options)
    expected = {
        "w": (13.106662868838, 7.553766303093),
        "cap": (0.132602242208, 0.070787849088),
        "_cons": (-40.470571768639, 23.832903518754),
    }
    for name, (estimate, std_error) in expected.items():
        assert one.coefficient(name) == pytest.approx((estimate, std_error), rel=1e-9)
    assert (one.n_instruments, one.sargan_df) == (5, 2)
    assert one.sargan == pytest.approx(38.235993419, rel=1e-9)
    assert one.hansen == pytest.approx(5.4009670124, rel=1e-9)

    two = fit_gmm(frame, steps=2, robust=False, **options)
    two_step = {"w": 15.607203729725, "cap": 0.165506505681, "_cons": -48.497515111697}
    for name, estimate in two_step.items():
        assert two.coefficient(name)[0] == pytest.approx(estimate, rel=1e-8)
    assert two.hansen == pytest.approx(5.4009670124, rel=1e-8)

    # Two-step GMM with H = I and its uncorrected covariance (X′Z A₂ Z′X)⁻¹ is ivreg2's gmm2s
    # with cluster(id) (Baum, Schaffer and Stillman 2003, Stata Journal 3(1)): specrun's iv
    # model with method: gmm, whose covariance no installed package computes, agrees with this
    # kernel, whose Windmeijer-corrected two-step errors (built on that covariance) match
    # Roodman (2009) and the pydynpd README above. A cross-check of two specrun paths.
    from specrun.estimators.base import FitContext
    from specrun.estimators.iv import IVSpec, fit_iv_model

    spec = IVSpec.model_validate(
        {
            "estimator": "iv",
            "y": "n",
            "x": ["cap"],
            "endog": ["w"],
            "instruments": ["k", "ys", "rec"],
            "method": "gmm",
            "se": {"cluster": "entity"},
        }
    )
    gmm2s = fit_iv_model(pl.from_pandas(frame), spec, FitContext("iv", "id", "year"))[""]
    for name in ("w", "cap", "_cons"):
        estimate, std_error = two.coefficient(name)
        assert gmm2s.coefficients[name].estimate == pytest.approx(estimate, rel=1e-8)
        assert gmm2s.coefficients[name].std_error == pytest.approx(std_error, rel=1e-8)
    assert gmm2s.stats["hansen_j"] == pytest.approx(two.hansen, rel=1e-8)


def test_plm_pgmm_system_one_step_individual_effects(empl_uk: pd.DataFrame) -> None:
    """R plm 2.6.2: ``summary(pgmm(log(emp) ~ lag(log(emp), 1) + lag(log(wage), 0:1) +
    lag(log(capital), 0:1) | lag(log(emp), 2:99) + lag(log(wage), 2:99) +
    lag(log(capital), 2:99), EmplUK, effect = "individual", model = "onestep",
    transformation = "ld"), robust = TRUE)``: 0.925519 (0.034180), −0.497380 (0.096130),
    0.520490 (0.096293), 0.554739 (0.046889), −0.500316 (0.048682), 105 instruments. pgmm's
    system GMM is xtabond2's default H (``h(3)``) without a constant."""
    result = fit_system_gmm(
        empl_uk,
        entity="firm",
        time="year",
        dependent="n",
        regressors=("w", "L.w", "k", "L.k"),
        gmm=[GmmStyle(("n", "w", "k"), lags=(2, None))],
        constant=False,
        robust=True,
    )
    _assert_table(
        result,
        {
            "L.n": (0.925519, 0.034180),
            "w": (-0.497380, 0.096130),
            "L.w": (0.520490, 0.096293),
            "k": (0.554739, 0.046889),
            "L.k": (-0.500316, 0.048682),
        },
        6,
    )
    assert result.n_instruments == 105


def _tiny_panel() -> pd.DataFrame:
    rng = np.random.default_rng(6)
    entity = np.repeat(np.arange(30), 6)
    year = np.tile(np.arange(2000, 2006), 30)
    return pd.DataFrame({"firm": entity, "year": year, "y": rng.normal(size=180)})


def test_missing_entity_is_a_spec_error() -> None:
    frame = _tiny_panel().astype({"firm": float})
    frame.loc[3, "firm"] = np.nan
    with pytest.raises(SpecError, match="entity variable 'firm' has missing values"):
        fit_system_gmm(frame, entity="firm", time="year", dependent="y", gmm=[GmmStyle("L.y")])


def test_missing_time_is_a_spec_error() -> None:
    frame = _tiny_panel().astype({"year": float})
    frame.loc[5, "year"] = np.nan
    with pytest.raises(SpecError, match="time variable 'year' has missing values"):
        fit_system_gmm(frame, entity="firm", time="year", dependent="y", gmm=[GmmStyle("L.y")])


def test_duplicate_cell_is_a_spec_error() -> None:
    frame = _tiny_panel()
    frame.loc[1, "year"] = 2000
    with pytest.raises(SpecError, match="entity 0 appears more than once in year 2000"):
        fit_system_gmm(frame, entity="firm", time="year", dependent="y", gmm=[GmmStyle("L.y")])


def test_duplicate_cell_of_a_text_entity_names_the_label() -> None:
    # polars text entities are numbered by polars; the message still names the label
    frame = pl.from_pandas(_tiny_panel()).with_columns(
        pl.format("firm {}", pl.col("firm")).alias("firm")
    )
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(2000).otherwise(pl.col("year")).alias("year")
    )
    with pytest.raises(SpecError, match="entity firm 0 appears more than once in year 2000"):
        fit_system_gmm(frame, entity="firm", time="year", dependent="y", gmm=[GmmStyle("L.y")])


def test_text_entities_give_the_fit_of_their_codes(abdata: pd.DataFrame) -> None:
    """Firms named by text (numbered by polars) fit as the numeric firm ids do, bit for bit:
    the same order of entities."""
    options = {
        "entity": "id",
        "time": "year",
        "dependent": "n",
        "regressors": ("w", "k"),
        "gmm": [GmmStyle("n", lags=(2, 3), collapse=True)],
        "iv": [IvStyle("k")],
        "steps": 2,
    }
    numeric = fit_system_gmm(pl.from_pandas(abdata), **options)
    # zero-padded, so that the text sorts as the numbers do
    named = pl.from_pandas(abdata).with_columns(pl.col("id").cast(pl.String).str.zfill(3))
    text = fit_system_gmm(named, **options)
    np.testing.assert_array_equal(text.params, numeric.params)


def test_too_few_periods_is_a_spec_error() -> None:
    frame = _tiny_panel().query("year < 2002")
    with pytest.raises(SpecError, match="at least 3 periods of 'year'; the data have 2"):
        fit_system_gmm(frame, entity="firm", time="year", dependent="y", gmm=[GmmStyle("L.y")])


def test_one_group_is_a_spec_error() -> None:
    # clustered by group, one group gave standard errors of 1e-15 and p = 0: exit 0
    frame = _tiny_panel()
    frame = frame[frame["firm"] == frame["firm"].iloc[0]]
    with pytest.raises(SpecError) as caught:
        fit_system_gmm(frame, entity="firm", time="year", dependent="y", gmm=[GmmStyle("L.y")])
    assert (caught.value.message, caught.value.path) == (
        "dynamic panel GMM needs at least 2 groups of 'firm'; the data have 1",
        "firm",
    )


def test_unknown_variable_names_it_with_a_hint() -> None:
    with pytest.raises(SpecError) as caught:
        fit_system_gmm(
            _tiny_panel(), entity="firm", time="year", dependent="yy", gmm=[GmmStyle("L.y")]
        )
    assert caught.value.message == "variable 'yy' is not in the data"
    assert caught.value.hint == "did you mean 'y'?"


def test_bad_options_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="steps must be 1 or 2"):
        fit_system_gmm(_tiny_panel(), entity="firm", time="year", dependent="y", steps=3)
    with pytest.raises(SpecError, match="transform must be 'fd' or 'fod'"):
        fit_system_gmm(_tiny_panel(), entity="firm", time="year", dependent="y", transform="x")
    with pytest.raises(SpecError, match="negative"):
        GmmStyle("y", lags=(-1, 2))


def test_passthru_enters_the_instrument_untransformed(abdata: pd.DataFrame) -> None:
    """xtabond2's help, ivstyle(): by default the instruments "are transformed (into
    differences or orthogonal deviations) for use in the transformed equation", and
    ``passthru`` "prevents this transformation". So ``iv(Dk, passthru) noleveleq``, Dk = k −
    L.k made beforehand, is ``iv(k) noleveleq``: the same instrument matrix and fit (the model
    of the pydynpd README test above)."""
    frame = abdata.sort_values(["id", "year"]).reset_index(drop=True)
    # Dk where the previous year is in the data (abdata has no gaps inside a firm's years)
    frame["Dk"] = frame.groupby("id")["k"].diff()
    common = {
        **PYDYNPD_MODEL,
        "time_effects": True,
        "steps": 2,
    }
    transformed = fit_difference_gmm(frame, iv=[IvStyle("k")], **common)
    passed = fit_difference_gmm(frame, iv=[IvStyle("Dk", passthru=True)], **common)
    assert passed.n_instruments == transformed.n_instruments == 42
    np.testing.assert_allclose(passed.params, transformed.params, rtol=1e-10)
    np.testing.assert_allclose(passed.std_errors, transformed.std_errors, rtol=1e-10)
    assert passed.hansen == pytest.approx(transformed.hansen, rel=1e-10)
    # without passthru, Dk would be differenced again: another instrument, another fit
    twice = fit_difference_gmm(frame, iv=[IvStyle("Dk")], **common)
    assert abs(twice.params[0] - transformed.params[0]) > 1e-3


def test_mz_keeps_rows_whose_instrument_is_missing_as_zeros(abdata: pd.DataFrame) -> None:
    """xtabond2's help, ivstyle() ``mz``: "missing values in the instruments are converted to
    zeroes" (rows are kept), and the moment conditions "still apply only to the error terms of
    observations which have data for the instruments". For a levels-only instrument that is
    the instrument with its missing values written as 0 beforehand; without ``mz`` the rows
    with a missing instrument leave the sample."""
    frame = abdata.sort_values(["id", "year"]).reset_index(drop=True)
    # ys missing for every fifth row: an instrument with holes
    frame["ys_holes"] = frame["ys"].where(frame.index % 5 != 0)
    frame["ys_zeros"] = frame["ys_holes"].fillna(0.0)
    common = {
        "entity": "id",
        "time": "year",
        "dependent": "n",
        "regressors": ("w", "k"),
        "gmm": [GmmStyle(("L.n", "L.w", "L.k"))],
        "time_effects": False,
        "robust": True,
    }
    with_mz = fit_system_gmm(frame, iv=[IvStyle("ys_holes", equation="level", mz=True)], **common)
    zeros = fit_system_gmm(frame, iv=[IvStyle("ys_zeros", equation="level")], **common)
    np.testing.assert_allclose(with_mz.params, zeros.params, rtol=1e-10)
    np.testing.assert_allclose(with_mz.std_errors, zeros.std_errors, rtol=1e-10)
    assert with_mz.nobs == zeros.nobs
    dropped = fit_system_gmm(frame, iv=[IvStyle("ys_holes", equation="level")], **common)
    assert dropped.nobs < with_mz.nobs


def test_h2_is_h1_after_orthogonal_deviations_as_the_xtabond2_help_defines_them(
    abdata: pd.DataFrame,
) -> None:
    """xtabond2's help, h(): H's transformed-equation block is MM′, which "for orthogonal
    deviations" is I; h(2) zeroes the blocks between the transformed and the levels equation
    and h(1) is I throughout. So after orthogonal deviations system GMM's h(2) is h(1), while
    h(3) keeps the off-diagonal blocks (another one-step fit), and after first differences
    (MM′ the 2, −1 band) h(2) is neither."""
    common = {
        **PYDYNPD_MODEL,
        "iv": [IvStyle("k")],
        "steps": 1,
        "robust": True,
    }
    fits = {
        (transform, h): fit_system_gmm(abdata, transform=transform, h=h, **common)
        for transform in ("fod", "fd")
        for h in (1, 2, 3)
    }
    np.testing.assert_allclose(fits["fod", 2].params, fits["fod", 1].params, rtol=1e-10)
    np.testing.assert_allclose(fits["fod", 2].std_errors, fits["fod", 1].std_errors, rtol=1e-10)
    assert abs(fits["fod", 3].params[0] - fits["fod", 2].params[0]) > 1e-4
    for other in (1, 3):
        assert abs(fits["fd", 2].params[0] - fits["fd", other].params[0]) > 1e-4
