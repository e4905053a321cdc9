"""Two-way FE DID and event studies against pyfixest 0.60.

Data: ``tests/data/df_het_subset.csv`` — every tenth unit (150 units × 1990–2020, 4,650 rows;
columns unit, state, year, g, dep_var) of pyfixest 0.60's ``did/data/df_het.csv``, the
simulated staggered-adoption panel of the did2s package (cohorts g = 2000 and 2010, g = 0 never
treated). Simulated data: the check is against a peer implementation, not a published number.

Peer calls (pyfixest 0.60.0, run once; numbers stored below), with ``rel = year − g`` for
treated units:

* bin: ``relb = rel.clip(-5, 5)``, never-treated set to the reference −1; ``feols("dep_var ~
  i(relb, ref=-1) | unit + year", vcov={"CRV1": "unit"})``; pre-trend
  ``wald_test(R=<the four leads>)`` → statistic 0.732969 (the Wald χ², W).
* drop: rows of treated units with rel outside [−5, 5] removed, then the same call with
  ``fixef_tol=1e-14`` (the panel is unbalanced; the default 1e-8 moves SEs in the 6th digit).
* staggered DID: ``D = 1(g > 0 and year ≥ g)``; ``feols("dep_var ~ D | unit + year",
  vcov={"CRV1": "unit"})``.
* Sun–Abraham: ``pf.event_study(data, yname="dep_var", idname="unit", tname="year", gname="g",
  estimator="saturated", cluster="unit").aggregate()`` (cohort × relative-time interactions for
  every relative time, −20…20, averaged with cohort shares; printed to 12 digits).
* 2 × 2 DID: cohort 2010 removed, ``treatx = 1(g = 2000)``, ``post = 1(year ≥ 2005)``;
  ``feols("dep_var ~ treatx:post | unit + year", vcov={"CRV1": "unit"})`` (N = 2,976).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specrun.errors import SpecError
from specrun.estimators.base import FitContext
from specrun.estimators.did import DidSpec, EventStudySpec, fit_did, fit_event_study

DATA = Path(__file__).resolve().parent / "data" / "df_het_subset.csv"
CTX = FitContext("es", "unit", "year")
PERIODS = [-5, -4, -3, -2, 0, 1, 2, 3, 4, 5]

PF_BIN_BETA = [-0.08473554753484079, -0.12239688785472004, -0.048798711894037845,
               -0.11246126367424539, 1.5624192966521377, 1.5255773282244616,
               1.3312995993527243, 1.6706358116448137, 1.7738515328008935,
               2.2467860868124454]  # fmt: skip
PF_BIN_SE = [0.1311936919771698, 0.16277723374822758, 0.18210350433513145,
             0.19036669083945887, 0.17582429817285614, 0.1701838305766872,
             0.155594688366016, 0.17612175897989027, 0.18046034960590138,
             0.13394100737531076]  # fmt: skip
PF_BIN_PRETREND_WALD = 0.732969
PF_DROP_N = 2710
PF_DROP_BETA = [-0.23787429264141552, -0.07177698478444304, 0.037254784127065205,
                -0.09600741041494074, 1.6258697543875609, 1.8054665849336742,
                1.3986869872845131, 1.6972179953712285, 1.8394756708974558,
                1.8288848666865676]  # fmt: skip
PF_DROP_SE = [0.17187971098959298, 0.18277442042088193, 0.1798384464789394,
              0.20458284245919128, 0.19695348472815702, 0.21124053730648495,
              0.18429282546627493, 0.19263889925200178, 0.1940153271982072,
              0.19482408595309295]  # fmt: skip
PF_DID = (2.00525744, 0.05929983)
PF_SUNAB = {  # period: (Estimate, Std. Error)
    -20: (0.018285180206, 0.228691276854),
    -2: (-0.067962545898, 0.203506004104),
    0: (1.617686887968, 0.195670734198),
    5: (1.930206240246, 0.197114331098),
    20: (2.539643766837, 0.275482375126),
}
PF_DID_2X2 = (1.8291096, 0.07337978, 2976)


@pytest.fixture(scope="module")
def het() -> pl.DataFrame:
    frame = pl.read_csv(DATA)
    return frame.with_columns((pl.col("g") > 0).cast(pl.Int64).alias("treat"))


def _event(frame: pl.DataFrame, **kw: object):
    spec = EventStudySpec.model_validate(
        {"estimator": "event_study", "y": "dep_var", "first_treated": "g", **kw}
    )
    return fit_event_study(frame, spec, CTX)[""]


def _coefs(result) -> tuple[np.ndarray, np.ndarray]:
    names = [f"rel{k:+d}" for k in PERIODS]
    return (
        np.array([result.coefficients[n].estimate for n in names]),
        np.array([result.coefficients[n].std_error for n in names]),
    )


def test_binned_event_study_matches_pyfixest(het: pl.DataFrame) -> None:
    result = _event(het)
    beta, se = _coefs(result)
    np.testing.assert_allclose(beta, PF_BIN_BETA, rtol=1e-8)
    np.testing.assert_allclose(se, PF_BIN_SE, rtol=1e-8)
    assert result.nobs == 4650
    assert result.stats["pretrend_wald"] == pytest.approx(PF_BIN_PRETREND_WALD, abs=5e-7)
    assert result.stats["pretrend_f"] == pytest.approx(result.stats["pretrend_wald"] / 4)
    assert result.stats["pretrend_df"] == 4
    assert result.extra["endpoints"] == "bin"
    # relative periods run from −20 to 20, so both end points hold the periods beyond them
    labels = result.coefficient_labels
    assert [labels[f"rel{k:+d}"] for k in (-5, -2, 0, 5)] == ["≤ t−5", "t−2", "t+0", "≥ t+5"]


def test_end_points_say_they_are_binned_only_where_they_bin(het: pl.DataFrame) -> None:
    # the data's last relative period is 20: a window ending there bins nothing at its top
    top = _event(het, window=[-5, 20]).coefficient_labels
    assert (top["rel-5"], top["rel+20"]) == ("≤ t−5", "t+20")
    dropped = _event(het, endpoints="drop").coefficient_labels
    assert (dropped["rel-5"], dropped["rel+5"]) == ("t−5", "t+5")


def test_dropped_endpoints_match_pyfixest(het: pl.DataFrame) -> None:
    result = _event(het, endpoints="drop")
    beta, se = _coefs(result)
    assert result.nobs == PF_DROP_N
    assert result.extra["dropped_outside_window"] == 4650 - PF_DROP_N
    np.testing.assert_allclose(beta, PF_DROP_BETA, rtol=1e-8)
    np.testing.assert_allclose(se, PF_DROP_SE, rtol=1e-8)


def test_staggered_did_matches_pyfixest(het: pl.DataFrame) -> None:
    spec = DidSpec.model_validate(
        {"estimator": "did", "y": "dep_var", "treat": "treat", "first_treated": "g"}
    )
    result = fit_did(het, spec, CTX)[""]
    did = result.coefficients["did"]
    assert did.estimate == pytest.approx(PF_DID[0], abs=5e-9)
    assert did.std_error == pytest.approx(PF_DID[1], abs=5e-9)
    assert result.coefficient_labels["did"] == "DID"
    assert result.extra["design"] == "staggered"


def test_two_by_two_did_matches_pyfixest(het: pl.DataFrame) -> None:
    frame = het.filter(pl.col("g") != 2010).with_columns(
        (pl.col("year") >= 2005).cast(pl.Int64).alias("post"),
        (pl.col("g") == 2000).cast(pl.Int64).alias("treat"),
    )
    spec = DidSpec.model_validate(
        {"estimator": "did", "y": "dep_var", "treat": "treat", "post": "post"}
    )
    result = fit_did(frame, spec, CTX)[""]
    assert result.nobs == PF_DID_2X2[2]
    assert result.coefficients["did"].estimate == pytest.approx(PF_DID_2X2[0], abs=5e-8)
    assert result.coefficients["did"].std_error == pytest.approx(PF_DID_2X2[1], abs=5e-9)


def test_spec_rules() -> None:
    with pytest.raises(ValueError, match="exactly one of first_treated"):
        DidSpec.model_validate({"estimator": "did", "y": "y", "treat": "t"})
    with pytest.raises(ValueError, match="outside the window"):
        EventStudySpec.model_validate(
            {"estimator": "event_study", "y": "y", "first_treated": "g", "reference": -7}
        )


def test_no_controls_is_a_clear_error(het: pl.DataFrame) -> None:
    with pytest.raises(SpecError, match="no never-treated unit"):
        _event(het.filter(pl.col("g") > 0))


def test_event_study_spec_table_and_figure(tmp_path: Path) -> None:
    """Through the whole pipeline: validation, the fit, a table row and the figure files."""
    import json
    import shutil

    from specrun.api import run_file

    shutil.copy(DATA, tmp_path / "het.csv")
    spec = tmp_path / "did.yaml"
    spec.write_text(
        """\
spec_version: 1
data:
  sources:
    het: {path: het.csv}
  panel: {source: het, entity: unit, time: year}
transforms:
  - derive: {treated: "g > 0"}
models:
  event: {estimator: event_study, y: dep_var, first_treated: g, window: [-5, 5]}
  twfe: {estimator: did, y: dep_var, treat: treated, first_treated: g,
         placebo: {draws: 200, seed: 1}}
tables:
  did:
    kind: regression
    columns: [twfe, event]
    keep: [did, "rel*"]
    stats: [nobs, pretrend_p]
  bacon: {kind: bacon, model: twfe, detail: true, digits: 4}
figures:
  es: {kind: event_study, model: event, title: Event study}
  placebo: {kind: placebo, model: twfe}
outputs: {dir: out, formats: [markdown]}
""",
        encoding="utf-8",
    )
    run = run_file(spec)
    models = json.loads((run.folder / "results.json").read_text())["models"]
    assert models["event"]["coefficients"]["rel+0"]["estimate"] == pytest.approx(
        PF_BIN_BETA[4], rel=1e-8
    )
    assert models["twfe"]["coefficients"]["did"]["estimate"] == pytest.approx(PF_DID[0], abs=5e-9)
    table = (run.folder / "tables" / "did.md").read_text()
    assert "| DID | 2.005*** |  |" in table
    assert "| Pre-trend test p-value |  | " in table
    bacon = (run.folder / "tables" / "bacon.md").read_text()
    assert "| Later vs earlier treated | 0.1601 | 1.3808 |" in bacon
    assert "| Later vs earlier treated: 2010 vs 2000 | 0.1601 | 1.3808 |" in bacon
    assert "| Treated vs never treated: 2000 vs never | 0.2999 | 2.4570 |" in bacon
    assert "| Two-way FE DID (Σ weight × estimate) | 1.0000 | 2.0053 |" in bacon
    assert models["twfe"]["stats"]["placebo_p"] == pytest.approx(1 / 201)
    assert (run.folder / "figures" / "placebo.png").stat().st_size > 0
    assert (run.folder / "figures" / "es.png").stat().st_size > 0
    assert (run.folder / "figures" / "es.pdf").stat().st_size > 0


def test_treat_must_be_binary(het: pl.DataFrame) -> None:
    spec = DidSpec.model_validate(
        {"estimator": "did", "y": "dep_var", "treat": "g", "first_treated": "g"}
    )
    with pytest.raises(SpecError, match=r"treat 'g' must be 0 or 1 \(found 2000, 2010\)"):
        fit_did(het, spec, CTX)


def test_sun_abraham_matches_pyfixest_saturated_aggregate(het: pl.DataFrame) -> None:
    result = _event(het, method="sun_abraham", window=[-20, 20])
    assert result.nobs == 4650
    for k, (estimate, se) in PF_SUNAB.items():
        coef = result.coefficients[f"rel{k:+d}"]
        assert coef.estimate == pytest.approx(estimate, abs=1e-11)
        assert coef.std_error == pytest.approx(se, abs=1e-11)
    assert len(result.extra["cohort_effects"]) == 60  # 2 cohorts × 30 observed periods
    assert result.stats["pretrend_df"] == 19


def test_text_periods_are_a_clear_error(het: pl.DataFrame) -> None:
    frame = het.with_columns(pl.col("year").cast(pl.String))
    with pytest.raises(SpecError, match="the time column 'year' is String"):
        _event(frame)


# csdid 0.4.3 (PyPI; a Python port of R did), run once on the same data:
# ATTgt(yname="dep_var", gname="g", idname="unit", tname="year", data=d,
#       control_group="nevertreated" | "notyettreated").fit(est_method="reg", bstrap=False),
# then .aggte(typec="simple" | "dynamic" | "group", bstrap=False); analytic SEs.
CS_ATT_GT = {  # (group, year): (att, se), never-treated controls, varying base
    (2000, 1991): (0.27761774, 0.28843347),
    (2000, 1996): (0.55660164, 0.25249861),
    (2010, 2020): (2.776997415669022, 0.23374092316141318),
}
CS_NOTYET = {(2000, 1995): (-0.4243054169814432, 0.23200665348705846),
             (2000, 2003): (1.7578942168828449, 0.23092787602159753)}  # fmt: skip
CS_SIMPLE = (2.0453038534437984, 0.14727501098808335)
CS_DYNAMIC = {-2: (-0.10685617309470744, 0.20614744935269494),
              0: (1.6176868879676911, 0.19372860646809137),
              5: (1.930206240246528, 0.19468096319456638)}  # fmt: skip
CS_GROUP = {"2000": (2.0482577375417597, 0.20957009851176983),
            "2010": (2.040813352870635, 0.1796910451108964)}  # fmt: skip
CS_GROUP_OVERALL = (2.0441134409207207, 0.13886252358542953)


def test_callaway_santanna_matches_csdid(het: pl.DataFrame) -> None:
    result = _event(het, method="callaway_santanna", window=[-5, 5], bootstrap=False)
    rows = {(r["group"], r["period"]): r for r in result.extra["att_gt"]}
    assert len(rows) == 60
    for key, (att, se) in CS_ATT_GT.items():
        assert rows[key]["att"] == pytest.approx(att, abs=5e-9)
        assert rows[key]["std_error"] == pytest.approx(se, abs=5e-9)
    assert result.coefficients["att"].estimate == pytest.approx(CS_SIMPLE[0], abs=1e-12)
    assert result.coefficients["att"].std_error == pytest.approx(CS_SIMPLE[1], abs=1e-12)
    for k, (att, se) in CS_DYNAMIC.items():
        assert result.coefficients[f"rel{k:+d}"].estimate == pytest.approx(att, abs=1e-12)
        assert result.coefficients[f"rel{k:+d}"].std_error == pytest.approx(se, abs=1e-12)
    for g, (att, se) in CS_GROUP.items():
        assert result.extra["group"][g]["att"] == pytest.approx(att, abs=1e-12)
        assert result.extra["group"][g]["std_error"] == pytest.approx(se, abs=1e-12)
    assert result.extra["group_overall"]["att"] == pytest.approx(CS_GROUP_OVERALL[0], abs=1e-12)
    assert result.extra["group_overall"]["std_error"] == pytest.approx(
        CS_GROUP_OVERALL[1], abs=1e-12
    )
    # R did's pre-test: every pre-treatment ATT(g, t), 1991–1999 of cohort 2000 and 1991–2009
    # of cohort 2010 (1990 has no base period t − 1)
    assert result.stats["pretrend_df"] == 28
    assert result.se_type == "clustered by entity"  # analytic: the table note says clustered
    notyet = _event(het, method="callaway_santanna", control="notyet", bootstrap=False)
    rows = {(r["group"], r["period"]): r for r in notyet.extra["att_gt"]}
    for key, (att, se) in CS_NOTYET.items():
        assert rows[key]["att"] == pytest.approx(att, abs=1e-12)
        assert rows[key]["std_error"] == pytest.approx(se, abs=1e-12)


def test_universal_base_period_telescopes_the_varying_one(het: pl.DataFrame) -> None:
    """R did's universal base compares every period with g − 1, so a pre-period ATT(g, t) is
    minus the sum of the varying-base ATT(g, s) for s = t + 1 … g − 1 (csdid 0.4.3 does not
    implement this base, so the check is this identity)."""
    varying = _event(het, method="callaway_santanna")
    universal = _event(het, method="callaway_santanna", base_period="universal")
    v = {(r["group"], r["period"]): r["att"] for r in varying.extra["att_gt"]}
    u = {(r["group"], r["period"]): r["att"] for r in universal.extra["att_gt"]}
    expected = -sum(v[(2010.0, float(s))] for s in range(1996, 2010))
    assert u[(2010.0, 1995.0)] == pytest.approx(expected, abs=1e-10)
    assert u[(2010.0, 2012.0)] == pytest.approx(v[(2010.0, 2012.0)], abs=1e-12)
    # the universal base period is zero by construction, so it is the one reference period the
    # event-study figure marks at zero; a varying base estimates every period
    assert (universal.extra["reference"], varying.extra["reference"]) == (-1, None)
    assert "rel-1" in varying.coefficients and "rel-1" not in universal.coefficients
    # the default bootstrap's SEs are named so, for the table note
    assert varying.se_type == "multiplier bootstrap, clustered by entity"


def test_callaway_santanna_needs_a_balanced_panel(het: pl.DataFrame) -> None:
    with pytest.raises(SpecError) as err:
        _event(het.slice(1), method="callaway_santanna")
    assert err.value.message == (
        "callaway_santanna needs a balanced panel: 4649 rows for 150 units × 31 "
        "periods; 1 unit misses periods (or their outcome): 10 (1990)"
    )


def test_an_unbalanced_panel_names_its_units_and_the_sample_that_balances_it(
    het: pl.DataFrame,
) -> None:
    """Firm codes such as 000010 are text: the hint quotes them, as YAML needs, and the
    units it names are the ones whose leaving out lets the fit run."""
    coded = het.with_columns(pl.col("unit").cast(pl.Utf8).str.zfill(6))
    short = coded.filter(~((pl.col("unit") == "000010") & (pl.col("year") >= 2019)))
    holed = short.with_columns(
        pl.when((pl.col("unit") == "000020") & (pl.col("year") == 1995))
        .then(None)
        .otherwise(pl.col("dep_var"))
        .alias("dep_var")
    )
    with pytest.raises(SpecError) as err:
        _event(holed, method="callaway_santanna", bootstrap=False)
    assert err.value.message.endswith(
        "2 units miss periods (or their outcome): 000010 (2019, 2020); 000020 (1995)"
    )
    assert err.value.hint == (
        "leave them out with a sample, as R did's att_gt does with a warning: samples: "
        "{balanced: {exclude: {unit: ['000010', '000020']}}} and sample: balanced on the model"
    )
    kept = holed.filter(~pl.col("unit").is_in(["000010", "000020"]))
    assert _event(kept, method="callaway_santanna", bootstrap=False).nobs == 148 * 31


def test_bacon_decomposition_adds_up_to_the_twfe_coefficient(het: pl.DataFrame) -> None:
    """Goodman-Bacon (2021) Theorem 1: the weights sum to one and Σ s·β̂ is the TWFE DID."""
    spec = DidSpec.model_validate(
        {"estimator": "did", "y": "dep_var", "treat": "treat", "first_treated": "g"}
    )
    result = fit_did(het, spec, CTX)[""]
    parts = result.extra["bacon"]
    assert [p["kind"] for p in parts] == [
        "treated vs never",
        "treated vs never",
        "earlier vs later",
        "later vs earlier",
    ]
    assert sum(p["weight"] for p in parts) == pytest.approx(1.0, abs=1e-12)
    total = sum(p["weight"] * p["estimate"] for p in parts)
    assert total == pytest.approx(result.coefficients["did"].estimate, abs=1e-10)
    # without never-treated units the decomposition has only timing comparisons
    timing = fit_did(het.filter(pl.col("g") > 0), spec, CTX)[""]
    kinds = {p["kind"] for p in timing.extra["bacon"]}
    assert kinds == {"earlier vs later", "later vs earlier"}
    assert sum(p["weight"] * p["estimate"] for p in timing.extra["bacon"]) == pytest.approx(
        timing.coefficients["did"].estimate, abs=1e-10
    )


def test_a_did_without_its_decomposition_says_why(het: pl.DataFrame) -> None:
    """An unbalanced panel names the units missing periods and the sample that balances it;
    controls name the model without them. The bacon table prints these (tables/bacon.py)."""
    spec = {"estimator": "did", "y": "dep_var", "treat": "treat", "first_treated": "g"}
    unbalanced = fit_did(het.slice(1), DidSpec.model_validate(spec), CTX)[""]
    assert "bacon" not in unbalanced.extra
    assert unbalanced.extra["bacon_unavailable"] == {
        "reason": "it needs a balanced panel; 1 unit misses periods (or their outcome): 10 (1990)",
        "hint": "leave them out with a sample: samples: {balanced: {exclude: {unit: [10]}}} and "
        "sample: balanced on the model",
    }
    varying = het.with_columns(((pl.col("unit") * pl.col("year")) % 7).alias("c"))
    with_x = fit_did(varying, DidSpec.model_validate({**spec, "x": ["c"]}), CTX)[""]
    assert with_x.extra["bacon_unavailable"]["reason"] == (
        "it decomposes the two-way FE DID without controls; this one has x: [c]"
    )
    balanced = fit_did(het, DidSpec.model_validate(spec), CTX)[""]
    assert "bacon_unavailable" not in balanced.extra and balanced.extra["bacon"]


def test_placebo_refits_equal_the_estimate_and_are_seeded(het: pl.DataFrame) -> None:
    spec = DidSpec.model_validate(
        {"estimator": "did", "y": "dep_var", "treat": "treat", "first_treated": "g",
         "placebo": {"draws": 50, "seed": 3, "permute": "timing"}}
    )  # fmt: skip
    first = fit_did(het, spec, CTX)[""]
    again = fit_did(het, spec, CTX)[""]
    placebo = first.extra["placebo"]
    assert placebo["estimate"] == pytest.approx(first.coefficients["did"].estimate, abs=1e-10)
    assert placebo["estimates"] == again.extra["placebo"]["estimates"]
    # one draw refitted the slow way: its permuted timing through the ordinary DID fit
    from specrun.kernels.placebo import draw_assignments

    units = het.group_by("unit", maintain_order=True).agg(
        pl.col("g").first(), pl.col("treat").first()
    )
    units = units.sort("unit")
    first_unit = units["g"].cast(pl.Float64).to_numpy().copy()
    first_unit[first_unit == 0] = np.nan
    _treats, firsts = draw_assignments(
        units["treat"].cast(pl.Float64).to_numpy(), first_unit, 50, "timing", 3
    )
    mapping = pl.DataFrame({"unit": units["unit"], "g_perm": np.nan_to_num(firsts[7])})
    permuted = het.join(mapping, on="unit").with_columns(pl.col("g_perm").cast(pl.Int64))
    plain = DidSpec.model_validate(
        {"estimator": "did", "y": "dep_var", "treat": "treat", "first_treated": "g_perm"}
    )
    refit = fit_did(permuted, plain, CTX)[""].coefficients["did"].estimate
    assert placebo["estimates"][7] == pytest.approx(refit, abs=1e-10)


def test_placebo_p_values_are_uniform_under_the_null() -> None:
    """1,000 null data sets (no effect; staggered adoption in half of 24 units × 8 periods),
    199 permutations each: the p-values are uniform (Kolmogorov–Smirnov) and the 5 % test
    rejects 5 ± 2 % of the time."""
    from scipy import stats as sps

    from specrun.kernels.placebo import permutation_did
    from specrun.kernels.within import PanelIndex

    rng = np.random.default_rng(2024)
    n_units, n_periods = 24, 8
    entity = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods), n_units).astype(float)
    index = PanelIndex.from_labels(entity, time)
    p_values = []
    for rep in range(1000):
        y = rng.normal(size=n_units)[entity] + rng.normal(size=n_periods)[time.astype(int)]
        y = y + rng.normal(size=entity.size)
        treat = np.zeros(n_units)
        treat[rng.choice(n_units, n_units // 2, replace=False)] = 1.0
        first = np.where(treat > 0, rng.integers(2, 7, size=n_units).astype(float), np.nan)
        result = permutation_did(
            y, np.zeros((entity.size, 0)), index, time, treat, first, None,
            entity_effects=True, time_effects=True, draws=199, permute="units", seed=rep,
        )  # fmt: skip
        p_values.append(result.p_value)
    p = np.array(p_values)
    assert sps.kstest(p, "uniform").pvalue > 0.01
    assert 0.03 <= np.mean(p <= 0.05) <= 0.07


def test_callaway_santanna_anticipation_longer_than_the_panel_is_explained(
    het: pl.DataFrame,
) -> None:
    with pytest.raises(SpecError) as caught:
        _event(het, method="callaway_santanna", window=[-5, 5], anticipation=60)
    assert caught.value.message.startswith(
        "no ATT(g, t) can be estimated: with anticipation 60 every cohort's base period "
        "(g − 1 − anticipation) lies outside the periods "
    )
    assert caught.value.path == "models.es"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_event_study_and_placebo_figures_speak_the_outputs_language(
    tmp_path: Path, language: str
) -> None:
    # under language: zh the event-study and placebo figures were English ("estimate",
    # "reference (t−1)", "Count", "DID coefficient, … draws permuting units")
    import shutil

    from matplotlib.text import Text

    from specrun.api import run_file

    shutil.copy(DATA, tmp_path / "het.csv")
    spec = tmp_path / "did.yaml"
    spec.write_text(
        f"""\
spec_version: 1
data:
  sources:
    het: {{path: het.csv}}
  panel: {{source: het, entity: unit, time: year}}
variables:
  dep_var: {{label: {"就业" if language == "zh" else "Employment"}}}
transforms:
  - derive: {{treated: "g > 0"}}
models:
  event: {{estimator: event_study, y: dep_var, first_treated: g, window: [-5, 5]}}
  twfe: {{estimator: did, y: dep_var, treat: treated, first_treated: g,
         placebo: {{draws: 50, seed: 1}}}}
figures:
  es: {{kind: event_study, model: event}}
  placebo: {{kind: placebo, model: twfe}}
outputs: {{dir: out, formats: [markdown], language: {language}}}
""",
        encoding="utf-8",
    )
    figures = run_file(spec, cache=False).output.figures

    def texts(name: str) -> set[str]:
        figure = figures[name].draw()
        return {t.get_text() for t in figure.findobj(Text) if t.get_text()}

    es, placebo = texts("es"), texts("placebo")
    p_value = figures["placebo"].data["p_value"]
    if language == "zh":
        assert {"估计值", "基期（t−1）", "相对处理时点的期数", "就业（95%置信区间）"} <= es
        assert {"安慰剂估计值", f"估计值（置换检验p = {p_value:.3f}）", "频数"} <= placebo
        assert "DID系数（50次置换处理个体）" in placebo
    else:
        assert {"estimate", "reference (t−1)", "Periods relative to treatment"} <= es
        assert "Employment (95% CI)" in es
        assert {"placebo estimates", f"estimate (permutation p = {p_value:.3f})"} <= placebo
        assert {"Count", "DID coefficient, 50 draws permuting units"} <= placebo


def test_did_and_event_study_cluster_by_a_column_of_the_data(tmp_path):
    # se: {cluster: state} crashed (exit 3): the cluster column was never loaded for did and
    # event_study models, nor checked at validation. pyfixest 0.60.0 on the same data:
    # feols("dep_var ~ D | unit + year", vcov={"CRV1": "state"}) and
    # feols("dep_var ~ i(relb, ref=-1) | unit + year", vcov={"CRV1": "state"}) (40 states)
    from specrun.api import run_file

    spec = tmp_path / "s.yaml"
    spec.write_text(
        "spec_version: 1\n"
        "data:\n"
        f"  sources: {{p: {{path: {DATA.as_posix()}}}}}\n"
        "  panel: {source: p, entity: unit, time: year}\n"
        "transforms:\n"
        "  - derive: {treated: 'if_else(g > 0, 1, 0)'}\n"
        "models:\n"
        "  did: {estimator: did, y: dep_var, treat: treated, first_treated: g,\n"
        "        se: {cluster: state}}\n"
        "  event: {estimator: event_study, y: dep_var, first_treated: g, se: {cluster: state}}\n",
        encoding="utf-8",
    )
    models = run_file(spec, out=tmp_path / "out", cache=False).output.results.models
    did = models["did"]
    assert did.stats["n_clusters"] == 40
    assert did.coefficients["did"].estimate == pytest.approx(2.005257444858338, rel=1e-9)
    assert did.coefficients["did"].std_error == pytest.approx(0.06259267671357469, rel=1e-7)
    event = models["event"]
    names = [f"rel{k:+d}" for k in PERIODS]
    np.testing.assert_allclose(
        [event.coefficients[n].std_error for n in names],
        [
            0.11175242812440167,
            0.15765824017423727,
            0.15647651884705321,
            0.16374251755160457,
            0.15067578675467516,
            0.160395075317262,
            0.1434745612346296,
            0.1681752999132039,
            0.17231581004183233,
            0.11937671571215427,
        ],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        [event.coefficients[n].estimate for n in names[:2]],
        [-0.08473554753484752, -0.12239688785472867],
        rtol=1e-8,
    )


def test_a_misspelt_did_cluster_column_is_a_validation_error(tmp_path, capsys):
    from specrun.cli import main

    spec = tmp_path / "s.yaml"
    spec.write_text(
        "spec_version: 1\n"
        "data:\n"
        f"  sources: {{p: {{path: {DATA.as_posix()}}}}}\n"
        "  panel: {source: p, entity: unit, time: year}\n"
        "models:\n"
        "  e: {estimator: event_study, y: dep_var, first_treated: g, se: {cluster: stat}}\n",
        encoding="utf-8",
    )
    assert main(["validate", str(spec)]) == 1
    assert capsys.readouterr().err == (
        f"error: {spec}:6:75: models.e.se.cluster[0]: unknown variable 'stat' (did you mean "
        "'state'?)\n"
    )


@pytest.mark.parametrize("method", ["twfe", "sun_abraham"])
def test_a_window_wider_than_the_data_names_the_periods_observed(method):
    # cohorts 2000 and 2010 in 1990–2020 give relative periods −20…+20; a window of ±25 made
    # regressors of zeros: "'rel-25' is constant in the sample"
    frame = pl.read_csv(DATA)
    spec = EventStudySpec(
        estimator="event_study", y="dep_var", first_treated="g", window=(-25, 25), method=method
    )
    with pytest.raises(SpecError) as err:
        fit_event_study(frame, spec, CTX)
    assert err.value.message == (
        "no treated unit is observed at relative period(s) -25 to -21, +21 to +25 of the window "
        "[-25, 25]; 'g' and the panel's periods give relative periods -20 to +20"
    )
    assert err.value.hint == "narrow the window to within [-20, 20]"
    # binned endpoints take the periods beyond them: a window inside the data is fitted
    inside = spec.model_copy(update={"window": (-20, 20)})
    assert "rel-20" in fit_event_study(frame, inside, CTX)[""].coefficients
