"""Multiway clustering (Cameron, Gelbach and Miller 2011) against R sandwich, with reghdfe's
small-sample factor.

Data: ``data/Produc.csv`` (R plm's Produc, Munnell 1990: 48 US states × 1970–1986). Peer: R
4.2.2 with sandwich 3.0.2, run once, slopes' SEs printed with ``format(…, digits = 17)``:

    d <- read.csv("data/Produc.csv")
    m <- lm(log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp + factor(state), d)
    sqrt(diag(vcovCL(m, cluster = ~ state + year + region, type = "HC0", cadjust = FALSE,
                     multi0 = FALSE)))[2:5]                    # and cluster = ~ state + year

i.e. the inclusion–exclusion sum of the one-way meats over every combination of the cluster
dimensions with no factor at all. sandwich's own default factor differs by dimension (each
term's G/(G − 1)); reghdfe's (specrun's ``convention: stata``) is one factor for the sum,
G/(G − 1)·(N − 1)/(N − K) with G the fewest clusters of any dimension (regions: 9; years: 17)
and K = 5 (four slopes and the constant; the state effects are nested in the state clusters).
That factor is applied here to sandwich's unadjusted numbers.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from specrun.estimators.base import FitContext
from specrun.estimators.linear import PanelFeSpec, fit_linear

DATA = Path(__file__).resolve().parents[1] / "data" / "Produc.csv"
X = ["lpcap", "lpc", "lemp", "unemp"]
N = 816
# cluster dimensions → (sandwich's unadjusted SEs, the fewest clusters)
SANDWICH = {
    ("entity", "time", "region"): (
        [0.0752580667613239607, 0.0726227465541278427, 0.1013727208859241807,
         0.0031067620579071967],
        9,
    ),
    ("entity", "time"): (
        [0.0687505372071481324, 0.0719933465302081965, 0.0949451240349812736,
         0.0027115630972437913],
        17,
    ),
}  # fmt: skip


@pytest.mark.parametrize("clusters", list(SANDWICH))
def test_multiway_clusters_match_sandwich_with_reghdfes_factor(clusters):
    frame = pl.read_csv(DATA).with_columns(
        [pl.col(c).log().alias(f"l{c}") for c in ("gsp", "pcap", "pc", "emp")]
    )
    spec = PanelFeSpec(
        estimator="panel_fe", y="lgsp", x=X, absorb=["entity"], se={"cluster": list(clusters)}
    )
    result = fit_linear(frame, spec, FitContext("t", "state", "year"))[""]
    raw, g = SANDWICH[clusters]
    factor = (g / (g - 1) * (N - 1) / (N - 5)) ** 0.5
    got = [result.coefficients[v].std_error for v in X]
    assert got == pytest.approx([s * factor for s in raw], rel=1e-9)
    assert result.stats["n_clusters"] == g
