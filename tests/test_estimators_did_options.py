"""Event-study options on real data against peers: Callaway–Sant'Anna's not-yet-treated
controls, anticipation and universal base period (each with the aggregations), and the TWFE
event study's omitted period and endpoint rules.

Data: ``data/mpdta.csv``, the R did package's ``mpdta`` (500 US counties × 2003–2007; teen
employment ``lemp`` and the year each county's minimum wage first rose, ``first.treat``).

Peer: csdid 0.4.3 (PyPI; a Python port of R did), run once, numbers stored below:

    d = pd.read_csv("data/mpdta.csv")
    r = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year", data=d,
              control_group=<"notyettreated" | "nevertreated">, anticipation=<0 | 1>
              ).fit(est_method="reg", base_period=<"varying" | "universal">, bstrap=False)
    r.results                                   # group, year, att, se
    r.aggte(typec="simple" | "dynamic" | "group", bstrap=False); r.atte   # overall_att/_se,
                                                # egt, att_egt, se_egt

Analytic (influence-function) standard errors, so every number is deterministic; csdid prints
them to 17 significant digits and they are compared to 1e-10. ``mpdta``'s never-treated
(varying base, no anticipation) numbers are checked against R did's own printed output in
``tests/test_estimators_did_mpdta.py``; these are the other values of ``control``,
``anticipation`` and ``base_period``. csdid writes the universal base period's ATT(g, g − 1)
as a row of zero (SE NaN); specrun leaves that row out of ``att_gt`` (the figure draws it).

TWFE event study: pyfixest 0.60.0, run once, with ``rel = year − first.treat`` for treated
counties,

    pf.feols("lemp ~ i(r, ref=REF) | countyreal + year", d, vcov={"CRV1": "countyreal"})

where r and REF are

* ``reference: -2`` (window [−4, 3], every relative period of mpdta): r = rel, never treated
  set to −2, ref = −2;
* ``window: [-2, 2], endpoints: bin``: r = rel clipped to [−2, 2], never treated −1, ref = −1;
* ``endpoints: drop``: rows of treated counties with rel outside [−2, 2] removed (2,178 rows
  left), r = rel, never treated −1, ref = −1, ``fixef_tol=1e-14`` (an unbalanced panel);

and the pre-trend ``wald_test(R=<the lead −2>)`` statistic printed to 6 decimals.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from specrun.estimators.base import FitContext
from specrun.estimators.did import EventStudySpec, fit_event_study

DATA = Path(__file__).resolve().parents[1] / "data" / "mpdta.csv"
CTX = FitContext("cs", "countyreal", "year")
TOL = 1e-10

# control_group="notyettreated", anticipation=0, base_period="varying"
NOTYET_ATT_GT = {
    (2004, 2004): (-0.019372363675922114, 0.022310112883680573),
    (2004, 2005): (-0.07831909906206067, 0.030390228543397232),
    (2004, 2006): (-0.13627434632867794, 0.03540338496891006),
    (2004, 2007): (-0.10081136308540414, 0.034359225834673233),
    (2006, 2004): (-0.002562550942610972, 0.022530235145338813),
    (2006, 2005): (-0.0019392460957887436, 0.019042158605818944),
    (2006, 2006): (0.0046608763199761545, 0.01633558424682359),
    (2006, 2007): (-0.04122447154621746, 0.020229180704106835),
    (2007, 2004): (0.029759364761031158, 0.014533541638651452),
    (2007, 2005): (-0.0024106128000969205, 0.016031296375517853),
    (2007, 2006): (-0.031087119389688875, 0.017877511313343517),
    (2007, 2007): (-0.02605441071919662, 0.016655435349252175),
}
NOTYET_SIMPLE = (-0.03976362562304366, 0.012052424787341894)
NOTYET_DYNAMIC = {
    -3: (0.029759364761031158, 0.014533541638651453),
    -2: (-0.0024461538860651197, 0.013120350434270832),
    -1: (-0.024268903414507558, 0.014463681675801924),
    0: (-0.018922199083424886, 0.012044568689269066),
    1: (-0.05358934738483187, 0.01694638553912503),
    2: (-0.13627434632867794, 0.03540338496891006),
    3: (-0.10081136308540414, 0.034359225834673233),
}
NOTYET_DYNAMIC_OVERALL = (-0.07739931397058471, 0.019560176946394357)
NOTYET_GROUP = {
    "2004": (-0.0836942930380162, 0.02570159976800685),
    "2006": (-0.018281797613120654, 0.015922235824500055),
    "2007": (-0.02605441071919662, 0.016655435349252175),
}
NOTYET_GROUP_OVERALL = (-0.030462228112564955, 0.01257512013168179)

# anticipation=1: cohort 2004's base period 2002 is outside the panel, so csdid (as R did)
# drops the cohort; never-treated and not-yet-treated controls differ only before 2006
ANTICIPATION_ATT_GT = {
    "never": {
        (2006, 2004): (0.006520112424232977, 0.0233268051418047),
        (2006, 2005): (-0.0027508187505188107, 0.019558561035881657),
        (2006, 2006): (-0.007345425703381835, 0.022942862267559046),
        (2006, 2007): (-0.043975290296736254, 0.026578767016967698),
        (2007, 2004): (0.03050665558329277, 0.015033560280130039),
        (2007, 2005): (-0.002725892886116259, 0.016395832895534417),
        (2007, 2006): (-0.031087119389688875, 0.017877511313343517),
        (2007, 2007): (-0.05714153010888551, 0.020210163218686017),
    },
    "notyet": {
        (2006, 2004): (-0.002562550942610972, 0.022530235145338813),
        (2006, 2005): (-0.0019392460957887436, 0.019042158605818944),
        (2006, 2006): (-0.007345425703381835, 0.022942862267559046),
        (2006, 2007): (-0.043975290296736254, 0.026578767016967698),
        (2007, 2004): (0.029759364761031158, 0.014533541638651452),
        (2007, 2005): (-0.002725892886116259, 0.016395832895534417),
        (2007, 2006): (-0.031087119389688875, 0.017877511313343517),
        (2007, 2007): (-0.05714153010888551, 0.020210163218686017),
    },
}
ANTICIPATION_SIMPLE = (-0.045205540683738034, 0.016683131272141848)  # both control groups
ANTICIPATION_DYNAMIC = {
    "never": {
        -3: (0.03050665558329277, 0.01503356028013004),
        -2: (-0.0005630846263854437, 0.013291644736549991),
        -1: (-0.024458744971169562, 0.014236402210519318),
        0: (-0.04549331855204254, 0.01718025095182931),
        1: (-0.043975290296736254, 0.026578767016967698),
    },
    "notyet": {
        -3: (0.029759364761031158, 0.014533541638651452),
        -2: (-0.0026876842443606364, 0.013438812713492128),
        -1: (-0.024268903414507558, 0.014463681675801922),
        0: (-0.04549331855204254, 0.01718025095182931),
        1: (-0.043975290296736254, 0.026578767016967698),
    },
}
ANTICIPATION_DYNAMIC_OVERALL = (-0.0447343044243894, 0.018611707604094793)
ANTICIPATION_GROUP = {
    "2006": (-0.025660358000059044, 0.02309049055376981),
    "2007": (-0.05714153010888551, 0.020210163218686017),
}
ANTICIPATION_GROUP_OVERALL = (-0.04977751324132377, 0.017385060989438275)

# control_group="nevertreated", anticipation=0, base_period="universal"
UNIVERSAL_ATT_GT = {
    (2004, 2004): (-0.010503246220962423, 0.023251036368166333),
    (2004, 2005): (-0.07042315810314674, 0.03098476675727665),
    (2004, 2006): (-0.13725873888940318, 0.0364356642876865),
    (2004, 2007): (-0.10081136308540414, 0.034359225834673233),
    (2006, 2003): (-0.0037692936737141747, 0.03134202760181592),
    (2006, 2004): (0.0027508187505188107, 0.019558561035881657),
    (2006, 2006): (-0.004594606952863036, 0.017755196659276287),
    (2006, 2007): (-0.04122447154621746, 0.020229180704106835),
    (2007, 2003): (0.0033063566925123425, 0.024451872943931748),
    (2007, 2004): (0.03381301227580513, 0.02112917492431265),
    (2007, 2005): (0.031087119389688875, 0.017877511313343517),
    (2007, 2007): (-0.02605441071919662, 0.016655435349252175),
}
UNIVERSAL_SIMPLE = (-0.03995127515517631, 0.01203401277018542)
UNIVERSAL_DYNAMIC = {  # event time −1 is the base: zero, no SE (csdid: 0.0, nan)
    -4: (0.0033063566925123425, 0.024451872943931748),
    -3: (0.025021829597555, 0.018118920697401324),
    -2: (0.024458744971169562, 0.01423640221051932),
    0: (-0.019931816789259302, 0.011826364058058179),
    1: (-0.050957367065193895, 0.016893476268677998),
    2: (-0.13725873888940318, 0.0364356642876865),
    3: (-0.10081136308540414, 0.034359225834673233),
}
UNIVERSAL_DYNAMIC_OVERALL = (-0.07723982145731513, 0.019964989061849386)
UNIVERSAL_GROUP = {
    "2004": (-0.07974912657472913, 0.02636779943502727),
    "2006": (-0.02290953924954025, 0.016703330255161918),
    "2007": (-0.02605441071919662, 0.016655435349252175),
}
UNIVERSAL_GROUP_OVERALL = (-0.031018282228748428, 0.012446059320997904)

# pyfixest 0.60.0: relative period → (estimate, SE); rows; the pre-trend Wald statistic
PF_TWFE = {
    "reference": (
        {"reference": -2, "window": [-4, 3]},
        {-4: (-0.01980548796697101, 0.019399109977372677),
         -3: (0.001268687100087373, 0.01265631434520616),
         -1: (-0.02335481488640321, 0.013436699377246474),
         0: (-0.04149874185298397, 0.01626917407625683),
         1: (-0.06682718751495655, 0.0223031488795514),
         2: (-0.1551496726407216, 0.03348501332696729),
         3: (-0.11560160906828931, 0.036637306848562264)},
        2500,
        None,  # the same leads-are-zero hypothesis as ref = −1: tests/test_estimators_did_mpdta
    ),
    "bin": (
        {"window": [-2, 2], "endpoints": "bin"},
        {-2: (0.018389573322494995, 0.01504493018982618),
         0: (-0.01982999182981965, 0.011005502193055726),
         1: (-0.0478739044056653, 0.017853550366074104),
         2: (-0.11455390103841158, 0.027286491008755197)},
        2500,
        1.494043,
    ),
    "drop": (
        {"window": [-2, 2], "endpoints": "drop"},
        {-2: (0.02474897702452827, 0.013407057539059304),
         0: (-0.017900140761191577, 0.010976334435327521),
         1: (-0.04883909964580489, 0.016722062576831297),
         2: (-0.1339965676758963, 0.028860385480787454)},
        2178,
        3.407592,
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def mpdta() -> pl.DataFrame:
    return pl.read_csv(DATA)


def _fit(frame: pl.DataFrame, **options: object):
    spec = EventStudySpec.model_validate(
        {
            "estimator": "event_study",
            "y": "lemp",
            "first_treated": "first.treat",
            "method": "callaway_santanna",
            "window": [-5, 5],
            "bootstrap": False,
            **options,
        }
    )
    return fit_event_study(frame, spec, CTX)[""]


def _check(
    result,
    att_gt: dict[tuple[int, int], tuple[float, float]],
    simple: tuple[float, float],
    dynamic: dict[int, tuple[float, float]],
    dynamic_overall: tuple[float, float],
    group: dict[str, tuple[float, float]],
    group_overall: tuple[float, float],
) -> None:
    rows = {(int(r["group"]), int(r["period"])): r for r in result.extra["att_gt"]}
    assert set(rows) == set(att_gt)
    for key, (att, se) in att_gt.items():
        assert rows[key]["att"] == pytest.approx(att, abs=TOL), key
        assert rows[key]["std_error"] == pytest.approx(se, abs=TOL), key
    coefficients = result.coefficients
    for name, (att, se) in (("att", simple), ("att_dynamic", dynamic_overall)):
        assert coefficients[name].estimate == pytest.approx(att, abs=TOL), name
        assert coefficients[name].std_error == pytest.approx(se, abs=TOL), name
    assert {n for n in coefficients if n.startswith("rel")} == {f"rel{k:+d}" for k in dynamic}
    for k, (att, se) in dynamic.items():
        assert coefficients[f"rel{k:+d}"].estimate == pytest.approx(att, abs=TOL), k
        assert coefficients[f"rel{k:+d}"].std_error == pytest.approx(se, abs=TOL), k
    for g, (att, se) in group.items():
        assert result.extra["group"][g]["att"] == pytest.approx(att, abs=TOL), g
        assert result.extra["group"][g]["std_error"] == pytest.approx(se, abs=TOL), g
    assert result.extra["group_overall"]["att"] == pytest.approx(group_overall[0], abs=TOL)
    assert result.extra["group_overall"]["std_error"] == pytest.approx(group_overall[1], abs=TOL)


def test_not_yet_treated_controls_match_csdid(mpdta: pl.DataFrame) -> None:
    result = _fit(mpdta, control="notyet")
    _check(
        result,
        NOTYET_ATT_GT,
        NOTYET_SIMPLE,
        NOTYET_DYNAMIC,
        NOTYET_DYNAMIC_OVERALL,
        NOTYET_GROUP,
        NOTYET_GROUP_OVERALL,
    )
    assert result.extra["control"] == "notyet"


@pytest.mark.parametrize("control", ["never", "notyet"])
def test_one_period_of_anticipation_matches_csdid(mpdta: pl.DataFrame, control: str) -> None:
    result = _fit(mpdta, control=control, anticipation=1)
    _check(
        result,
        ANTICIPATION_ATT_GT[control],
        ANTICIPATION_SIMPLE,
        ANTICIPATION_DYNAMIC[control],
        ANTICIPATION_DYNAMIC_OVERALL,
        ANTICIPATION_GROUP,
        ANTICIPATION_GROUP_OVERALL,
    )
    assert result.extra["anticipation"] == 1


def test_universal_base_period_matches_csdid(mpdta: pl.DataFrame) -> None:
    result = _fit(mpdta, base_period="universal")
    _check(
        result,
        UNIVERSAL_ATT_GT,
        UNIVERSAL_SIMPLE,
        UNIVERSAL_DYNAMIC,
        UNIVERSAL_DYNAMIC_OVERALL,
        UNIVERSAL_GROUP,
        UNIVERSAL_GROUP_OVERALL,
    )
    assert result.extra["base_period"] == "universal"


@pytest.mark.parametrize("case", list(PF_TWFE))
def test_twfe_reference_and_endpoints_match_pyfixest(mpdta: pl.DataFrame, case: str) -> None:
    options, expected, nobs, wald = PF_TWFE[case]
    spec = EventStudySpec.model_validate(
        {"estimator": "event_study", "y": "lemp", "first_treated": "first.treat", **options}
    )
    result = fit_event_study(mpdta, spec, FitContext("es", "countyreal", "year"))[""]
    assert result.nobs == nobs
    assert {n for n in result.coefficients if n.startswith("rel")} == {
        f"rel{k:+d}" for k in expected
    }
    # pyfixest's demeaning stops at its tolerance: SEs agree to about 1e-10 on the unbalanced
    # (dropped) panel, to 1e-12 otherwise
    for k, (estimate, se) in expected.items():
        assert result.coefficients[f"rel{k:+d}"].estimate == pytest.approx(estimate, rel=1e-9)
        assert result.coefficients[f"rel{k:+d}"].std_error == pytest.approx(se, rel=1e-9)
    if wald is not None:
        assert round(result.stats["pretrend_wald"], 6) == wald
