"""IV with absorbed fixed effects and analytic weights against pyfixest 0.60.

Data: ``data/Produc.csv`` (R plm's Produc, Munnell 1990: 48 US states × 1970–1986, real data).
The model: log gross state product on log private capital and unemployment, log public capital
instrumented by log highway and log water capital (two of its components). A numerical check
of the FWL sweep, the weighting and the small-sample counts, not an economic claim.

Peer calls (pyfixest 0.60.0, run once; the numbers are stored below), after
``d = pd.read_csv("data/Produc.csv")`` and ``d["l" + c] = np.log(d[c])`` for gsp, pcap, pc,
hwy, water:

* A ``pf.feols("lgsp ~ lpc + unemp | state + year | lpcap ~ lhwy + lwater", data=d,
  vcov={"CRV1": "state"})`` and its first stage ``pf.feols("lpcap ~ lhwy + lwater + lpc +
  unemp | state + year", data=d, vcov={"CRV1": "state"})``;
* B ``pf.feols("lgsp ~ lpc + unemp | state + region^year | lpcap ~ lhwy + lwater", data=d,
  vcov="hetero", weights="emp")``;
* C ``pf.feols("lgsp ~ lpc + unemp | region + year | lpcap ~ lhwy + lwater", data=d,
  vcov="iid", weights="emp")`` — fitted here as a cross-section (no data.panel) absorbing two
  columns;
* D as A with ``vcov={"CRV1": "region"}, weights="emp"`` (states nested in regions);
* E as A with ``vcov="iid"``; ``fit.IV_Diag()`` then ``fit._f_stat_1st_stage`` = 548.8308350871405.

pyfixest's small-sample corrections are specrun's ``small: true`` (Stata's ``small``): t tests,
N − K with K counting every absorbed level except those nested in the clusters, G/(G − 1).
Estimates agree to rounding; SEs to 1e-9 where the sweep is exact (balanced two-way, one set)
and to 1e-7 where it iterates (weighted two-way, region × year), the demeaning's tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from specrun.errors import SpecError, SpecErrors
from specrun.estimators.base import FitContext
from specrun.estimators.iv import IVSpec, fit_iv_model

ROOT = Path(__file__).resolve().parents[1]
PRODUC = ROOT / "data" / "Produc.csv"
CTX = FitContext("iv", "state", "year")
NAMES = ("lpc", "unemp", "lpcap")

# model → {name: (estimate, SE)}, pyfixest 0.60.0 tidy() (calls in the module docstring)
PF = {
    "A": {"lpc": (0.5329165928454935, 0.07020952539368013),
          "unemp": (-0.019351656478925408, 0.0038266673264322868),
          "lpcap": (0.3064654544538019, 0.13281054218082272)},
    "B": {"lpc": (0.5544664629230915, 0.04484385546486486),
          "unemp": (-0.012669039147055184, 0.0018332374522659655),
          "lpcap": (0.18356710955621572, 0.05619900061970316)},
    "C": {"lpc": (0.49803498116137396, 0.02182717233639865),
          "unemp": (-0.023031407183299282, 0.002379596477589801),
          "lpcap": (0.6028088388896564, 0.02033785395221043)},
    "D": {"lpc": (0.632598634577448, 0.06660061332154697),
          "unemp": (-0.015938349266414655, 0.004020480571016196),
          "lpcap": (0.290317087192517, 0.03618904666828347)},
}  # fmt: skip
PF_FIRST_A = {"lhwy": (0.807601394457166, 0.08761912438908696),
              "lwater": (0.1764599826292434, 0.03421708226072989),
              "lpc": (0.1319832727357523, 0.05229089359904779),
              "unemp": (-0.001847395892805358, 0.0019929719470069113)}  # fmt: skip
PF_FIRST_F_IID = 548.8308350871405


@pytest.fixture(scope="module")
def produc() -> pl.DataFrame:
    frame = pl.read_csv(PRODUC)
    return frame.with_columns(
        [pl.col(c).log().alias(f"l{c}") for c in ("gsp", "pcap", "pc", "hwy", "water")]
    )


def _fit(frame: pl.DataFrame, ctx: FitContext = CTX, **kw: object):
    spec = IVSpec.model_validate(
        {
            "estimator": "iv",
            "y": "lgsp",
            "x": ["lpc", "unemp"],
            "endog": ["lpcap"],
            "instruments": ["lhwy", "lwater"],
            "small": True,
            **kw,
        }
    )
    return fit_iv_model(frame, spec, ctx)


def _check(result, expected: dict[str, tuple[float, float]], se_rel: float) -> None:
    assert set(result.coefficients) == set(expected)  # no constant once effects are absorbed
    for name, (b, se) in expected.items():
        assert result.coefficients[name].estimate == pytest.approx(b, rel=1e-9, abs=1e-12)
        assert result.coefficients[name].std_error == pytest.approx(se, rel=se_rel)


def test_two_way_effects_clustered_match_pyfixest(produc: pl.DataFrame) -> None:
    fits = _fit(produc, absorb=["entity", "time"], se={"cluster": "entity"})
    _check(fits[""], PF["A"], 1e-9)
    _check(fits["first.lpcap"], PF_FIRST_A, 1e-9)
    # the shorthand effects: is the same model
    same = _fit(produc, effects=["entity", "time"], se={"cluster": "entity"})[""]
    assert same.coefficients == fits[""].coefficients
    assert fits[""].effects == ("entity", "time")


def test_interacted_effects_and_weights_match_pyfixest(produc: pl.DataFrame) -> None:
    fit = _fit(produc, absorb=["entity", "region#time"], weights="emp", se="robust")[""]
    _check(fit, PF["B"], 1e-7)
    assert fit.extra["weights"] == "emp"
    assert fit.extra["absorbed"] == ["entity", "region#time"]


def test_weights_with_clusters_that_nest_the_entity_match_pyfixest(produc: pl.DataFrame) -> None:
    fit = _fit(produc, absorb=["entity", "time"], weights="emp", se={"cluster": "region"})[""]
    _check(fit, PF["D"], 1e-7)
    assert fit.stats["n_clusters"] == 9


def test_first_stage_f_matches_pyfixest(produc: pl.DataFrame) -> None:
    fit = _fit(produc, absorb=["entity", "time"])[""]
    assert fit.stats["first_f"] == pytest.approx(PF_FIRST_F_IID, rel=1e-10)


def test_stata_default_rescales_the_small_covariance(produc: pl.DataFrame) -> None:
    """Without ``small`` σ² is SSR/N (ivregress, ivreghdfe without small): the unadjusted
    covariance is the small one times (N − K)/N, K = 3 regressors + 48 + 17 − 1 levels."""
    small = _fit(produc, absorb=["entity", "time"])[""]
    large = _fit(produc, absorb=["entity", "time"], small=False)[""]
    factor = np.sqrt((816 - 3 - 64) / 816)
    for name in NAMES:
        assert large.coefficients[name].std_error == pytest.approx(
            small.coefficients[name].std_error * factor, rel=1e-12
        )
    assert large.stat_name == "z"


def _write(tmp_path: Path, body: str, panel: bool) -> Path:
    (tmp_path / "Produc.csv").write_bytes(PRODUC.read_bytes())
    index = "  panel: {source: p, entity: state, time: year}\n" if panel else ""
    path = tmp_path / "spec.yaml"
    path.write_text(
        "spec_version: 1\ndata:\n  sources:\n    p: {path: Produc.csv}\n" + index + "transforms:\n"
        "  - derive: {lgsp: log(gsp), lpcap: log(pcap), lpc: log(pc), lhwy: log(hwy), "
        "lwater: log(water)}\nmodels:\n" + body + "outputs: {formats: [markdown]}\n",
        encoding="utf-8",
    )
    return path


IV = "{estimator: iv, y: lgsp, x: [lpc, unemp], endog: [lpcap], instruments: [lhwy, lwater], "


def test_cross_section_absorbing_columns_matches_pyfixest(tmp_path: Path) -> None:
    from specrun.api import run_file

    spec = _write(
        tmp_path, f"  c: {IV}absorb: [region, year], weights: emp, small: true}}\n", panel=False
    )
    run = run_file(spec, out=tmp_path / "out")
    model = json.loads((run.folder / "results.json").read_text())["models"]["c"]
    for name, (b, se) in PF["C"].items():
        assert model["coefficients"][name]["estimate"] == pytest.approx(b, rel=1e-9)
        assert model["coefficients"][name]["std_error"] == pytest.approx(se, rel=1e-7)
    assert "_cons" not in model["coefficients"]


def test_cross_section_weighted_without_effects_is_weighted_2sls(produc: pl.DataFrame) -> None:
    """No absorbed set: the constant is scaled by √w too, so the fit is WLS-2SLS; checked
    against the same fit on rows replicated in proportion to integer weights (an aweight
    2SLS is a 2SLS on the replicated rows, up to the N in σ², which small: false keeps as N)."""
    frame = produc.with_columns((pl.col("region") % 3 + 1).alias("k"))
    ctx = FitContext("iv", "state", "year")
    weighted = _fit(frame, ctx, weights="k", small=False)[""]
    replicated = frame.select(pl.all().repeat_by(pl.col("k")).explode())
    plain = _fit(replicated, ctx, small=False)[""]
    for name in (*NAMES, "_cons"):
        assert weighted.coefficients[name].estimate == pytest.approx(
            plain.coefficients[name].estimate, rel=1e-10
        )
    # σ² = SSR/N: the replicated N is Σk, the weighted one N; SSR alike
    n, total = frame.height, float(frame["k"].sum())
    ratio = np.sqrt(total / n)
    assert weighted.coefficients["lpcap"].std_error == pytest.approx(
        plain.coefficients["lpcap"].std_error * ratio, rel=1e-10
    )
    assert weighted.stats["r2"] == pytest.approx(plain.stats["r2"], rel=1e-10)
    first = _fit(frame, ctx, weights="k", small=False)["first.lpcap"]
    plain_first = _fit(replicated, ctx, small=False)["first.lpcap"]
    assert first.stats["r2"] == pytest.approx(plain_first.stats["r2"], rel=1e-10)


def test_bad_weights_are_located_errors(produc: pl.DataFrame) -> None:
    bad = produc.with_columns(
        pl.when(pl.col("state") == "IOWA").then(-1.0).otherwise(pl.col("emp")).alias("w")
    )
    with pytest.raises(SpecError, match=r"weights 'w' must be positive: -1 at state IOWA, "
                       r"year 1970 \(17 such rows\)"):  # fmt: skip
        _fit(bad, weights="w")


def test_instrument_absorbed_by_an_effect_is_an_error(produc: pl.DataFrame) -> None:
    frame = produc.with_columns((pl.col("region") * 2.0).alias("zreg"))
    spec = IVSpec.model_validate(
        {"estimator": "iv", "y": "lgsp", "x": ["lpc"], "endog": ["lpcap"],
         "instruments": ["zreg", "lhwy"], "absorb": ["entity"]}
    )  # fmt: skip
    with pytest.raises(SpecError, match=r"'zreg' is absorbed by the fixed effects \(entity\)"):
        fit_iv_model(frame, spec, CTX)


def test_bad_absorb_is_a_located_validation_error(tmp_path: Path) -> None:
    from specrun.spec.validate import validate_file

    spec = _write(
        tmp_path,
        f"  a: {IV}absorb: [entity, regoin]}}\n"
        f"  b: {IV}absorb: [entity], effects: [time]}}\n"
        f"  c: {IV}absorb: [region, 'region ']}}\n",
        panel=True,
    )
    with pytest.raises(SpecErrors) as caught:
        validate_file(spec)
    errors = [str(e).removeprefix(f"{spec}:") for e in caught.value.errors]
    assert errors == [
        "9:110: models.a.absorb[1]: unknown variable 'regoin' (did you mean 'region'?)",
        "10:6: models.b: give absorb or its shorthand effects, not both",
        "11:110: models.c.absorb[1]: effect 'region' is absorbed twice: write it once",
    ]
    cross = _write(tmp_path, f"  a: {IV}absorb: [region, entity#year]}}\n", panel=False)
    with pytest.raises(SpecErrors) as caught:
        validate_file(cross)
    errors = [str(e).removeprefix(f"{cross}:") for e in caught.value.errors]
    assert errors == [
        "8:101: models.a.absorb: absorbing 'entity#year' needs data.panel (this spec is a "
        "cross-section); absorb columns of the data instead (add data.panel: {source: ..., "
        "entity: ..., time: ...})"
    ]
