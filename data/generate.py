"""Seeded generator of the synthetic province panel and province exports shipped in data/.

The numbers are synthetic. Every equation and parameter below is documented in data/README.md;
``python data/generate.py`` rewrites both CSV files next to this script, byte for byte.
``--size K`` (for benchmarks) writes a panel K times as wide instead: each province appears K
times ("Beijing", "Beijing 2", …, with the same anchors and its own random draws), so the same
spec runs on 31·K provinces; ``--size 1`` is the bundled data.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

SEED = 20120101
YEARS = np.arange(2012, 2023)
# Anchors, rounded from the 2012 statistical yearbooks: region, population (10k persons), GDP per
# capita (yuan), exports and imports (billion USD), urbanization (%), tertiary/secondary value
# added, internet penetration (%).
PROVINCES = {
    "Beijing": ("East", 2069, 87475, 59.6, 348.5, 86.2, 3.38, 72.2),
    "Tianjin": ("East", 1413, 93173, 48.3, 67.3, 81.6, 0.91, 58.5),
    "Hebei": ("East", 7288, 36584, 29.6, 20.0, 46.8, 0.68, 41.5),
    "Shanxi": ("Central", 3611, 33628, 7.0, 8.0, 51.3, 0.71, 45.0),
    "Inner Mongolia": ("West", 2490, 63886, 4.0, 7.2, 57.7, 0.70, 39.0),
    "Liaoning": ("Northeast", 4389, 56649, 57.9, 46.2, 65.7, 0.72, 48.0),
    "Jilin": ("Northeast", 2750, 43415, 6.0, 19.6, 53.7, 0.65, 39.0),
    "Heilongjiang": ("Northeast", 3834, 35711, 14.4, 23.4, 56.9, 0.90, 36.0),
    "Shanghai": ("East", 2380, 85373, 206.8, 229.9, 89.3, 1.55, 68.4),
    "Jiangsu": ("East", 7920, 68347, 328.5, 219.5, 63.0, 0.86, 50.0),
    "Zhejiang": ("East", 5477, 63374, 224.6, 88.4, 63.2, 0.90, 59.0),
    "Anhui": ("Central", 5988, 28792, 26.8, 12.5, 46.5, 0.61, 32.0),
    "Fujian": ("East", 3748, 52763, 97.8, 58.1, 59.6, 0.76, 60.0),
    "Jiangxi": ("Central", 4504, 28800, 25.1, 9.3, 47.5, 0.65, 28.0),
    "Shandong": ("East", 9685, 51768, 128.7, 116.9, 52.4, 0.78, 41.0),
    "Henan": ("Central", 9406, 31499, 29.7, 22.0, 42.4, 0.54, 31.0),
    "Hubei": ("Central", 5779, 38572, 19.4, 12.5, 53.5, 0.73, 41.0),
    "Hunan": ("Central", 6639, 33480, 12.6, 9.3, 46.7, 0.80, 33.0),
    "Guangdong": ("East", 10594, 54095, 574.1, 410.0, 67.4, 1.03, 63.0),
    "Guangxi": ("West", 4682, 27952, 15.5, 14.0, 43.5, 0.73, 33.0),
    "Hainan": ("East", 887, 32377, 3.1, 11.3, 51.5, 1.68, 43.0),
    "Chongqing": ("West", 2945, 38914, 38.6, 14.6, 57.0, 0.78, 40.0),
    "Sichuan": ("West", 8076, 29608, 38.5, 20.7, 43.5, 0.67, 32.0),
    "Guizhou": ("West", 3484, 19710, 5.0, 1.6, 36.4, 1.21, 28.0),
    "Yunnan": ("West", 4659, 22195, 10.0, 11.0, 39.3, 1.01, 28.0),
    "Tibet": ("West", 308, 22936, 3.4, 0.9, 22.8, 1.53, 34.0),
    "Shaanxi": ("West", 3753, 38564, 8.7, 6.1, 50.0, 0.63, 42.0),
    "Gansu": ("West", 2578, 21978, 3.6, 5.3, 38.8, 0.86, 30.0),
    "Qinghai": ("West", 573, 33181, 0.7, 0.4, 47.4, 0.58, 40.0),
    "Ningxia": ("West", 647, 36394, 1.6, 0.6, 50.7, 0.85, 38.0),
    "Xinjiang": ("West", 2233, 33796, 19.3, 5.9, 44.0, 0.78, 43.0),
}
MUNICIPALITIES = ("Beijing", "Tianjin", "Shanghai", "Chongqing")
# Category: technology loading tau_j, 2012 national share of exports (%), domestic VA share.
CATEGORIES = {
    "Agricultural and food products": (-1.0, 4.0, 0.92),
    "Mineral products and fuels": (-0.7, 3.0, 0.86),
    "Textiles and apparel": (-0.9, 15.0, 0.82),
    "Footwear, furniture and toys": (-0.8, 10.0, 0.80),
    "Base metals and metal products": (-0.4, 7.0, 0.79),
    "Plastics and rubber": (-0.1, 4.0, 0.74),
    "Chemicals": (0.1, 5.0, 0.78),
    "Transport equipment": (0.3, 5.0, 0.72),
    "Machinery and electrical equipment": (0.5, 20.0, 0.70),
    "Pharmaceuticals": (0.7, 1.0, 0.85),
    "Precision instruments": (0.9, 3.0, 0.66),
    "ICT and electronics": (1.0, 23.0, 0.55),
}
ICT_CATEGORY = "ICT and electronics"
# National series 2012-2022: CPI inflation (%), real GDP growth (%), export and import value
# indices (2012 = 1) and the yuan per USD annual average rate.
CPI_INFLATION = np.array([0.0, 2.6, 2.0, 1.4, 2.0, 1.6, 2.1, 2.9, 2.5, 0.9, 2.0])
REAL_GROWTH = np.array([0.0, 7.8, 7.4, 7.0, 6.8, 6.9, 6.7, 6.0, 2.2, 8.4, 3.0])
EXPORT_INDEX = np.array([1, 1.078, 1.143, 1.110, 1.024, 1.105, 1.215, 1.221, 1.265, 1.643, 1.758])
IMPORT_INDEX = np.array([1, 1.072, 1.076, 0.922, 0.872, 1.010, 1.170, 1.138, 1.126, 1.465, 1.481])
USD_CNY = np.array(
    [6.3125, 6.1932, 6.1428, 6.2284, 6.6423, 6.7518, 6.6174, 6.8985, 6.8976, 6.4515, 6.7261]
)

# Structural parameters of the export mix (see data/README.md, "Export mix").
RESPONSE_BY_REGION = {"East": 1.0, "Central": 0.4, "West": 0.05, "Northeast": 0.1}
DIGITAL_EFFECT = 0.60  # tilt per unit of D below the threshold, before the regional response
LEVEL_PASS_THROUGH = 0.20  # share of the 2012 cross-province tilt gap that shows in the mix
STR_THRESHOLD = 1.20  # above it digital development moves the export mix further
SLOPE_GAIN_ABOVE = 0.80  # relative increase of the digital slope above the threshold
STR_EFFECT = 0.80  # tilt per unit of log STR
STR_ON_DIGITAL = 0.30  # d log STR / d D
INCOME_ON_DIGITAL = 0.40  # d log real GDP per capita / d D, relative to the average province
# Cells left empty, as in real yearbooks: (province, year, column).
MISSING_CELLS = (
    ("Tibet", 2014, "rd_institution_patents"),
    ("Hainan", 2015, "teacher_student_ratio"),
    ("Qinghai", 2016, "optical_cable_km"),
    ("Tibet", 2017, "market_index"),
    ("Ningxia", 2019, "digital_services_export_share"),
)
PANEL_DECIMALS = {
    "population": 1, "gdp_pc": 0, "cpi": 2, "internet_rate": 2, "mobile_internet_users": 1,
    "optical_cable_km": 0, "rd_personnel_fte": 0, "rd_institution_patents": 0,
    "rd_expenditure": 2, "ict_goods_export_share": 2, "ict_services_export_share": 2,
    "digital_services_export_share": 2, "imports_gdp_ratio": 3, "digital_trade_restriction": 4,
    "urban_rate": 2, "teacher_student_ratio": 3, "market_index": 3, "trade_usd": 2,
    "usd_cny": 4, "gdp": 2, "deposits": 2, "loans": 2, "primary_va": 2, "secondary_va": 2,
    "tertiary_va": 2,
}  # fmt: skip


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1.0 - p))


Arrays = dict[str, np.ndarray]


def provinces(size: int = 1) -> dict[str, tuple]:
    """The provinces and their anchors; with ``size`` K each appears K times (copies numbered
    from 2), all copies of one province after another."""
    if size == 1:
        return PROVINCES
    return {
        name if copy == 1 else f"{name} {copy}": anchors
        for name, anchors in PROVINCES.items()
        for copy in range(1, size + 1)
    }


def original(name: str) -> str:
    """The province a copy was made from ("Beijing 2" → "Beijing")."""
    head, _, tail = name.rpartition(" ")
    return head if head and tail.isdigit() else name


def simulate(
    rng: np.random.Generator, table: dict[str, tuple] = PROVINCES
) -> tuple[Arrays, Arrays, Arrays]:
    """Draw the panel, the exports and the latent variables; arrays are (31, 11[, 12])."""
    anchors = np.array([row[1:] for row in table.values()], dtype=float)
    pop0, gdp_pc0, exports0, imports0, urban0, str0, internet0 = anchors.T
    region = np.array([row[0] for row in table.values()])
    n_prov, n_year = len(table), len(YEARS)
    t = np.arange(n_year)[None, :].astype(float)
    zscore = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    income_z = zscore(np.log(gdp_pc0))[:, None]
    inland = np.isin(region, ("Central", "West"))[:, None]

    def noise(sd: float, shape: tuple[int, ...] = (n_prov, n_year)) -> np.ndarray:
        return rng.normal(0, sd, shape)

    # Latent digital development D: a province level plus a drift with province-specific speed
    # (inland catch-up) and random-walk shocks, the within-province variation that identifies.
    level0 = 1.2 + 0.35 * zscore(internet0) + 0.25 * income_z[:, 0] + noise(0.1, (n_prov,))
    speed = 0.11 + 0.02 * inland[:, 0] + noise(0.05, (n_prov,))
    shocks = noise(0.10)
    shocks[:, 0] = 0.0
    digital = level0[:, None] + speed[:, None] * t + np.cumsum(shocks, axis=1)
    gain = digital - digital[:, :1]
    relative_gain = gain - gain.mean(axis=0)  # gain beyond the average province's

    cpi = 100 * np.cumprod(1 + (CPI_INFLATION + noise(0.3)) / 100, axis=1)
    cpi[:, 0] = 100.0
    growth = REAL_GROWTH - 0.5 - 1.0 * (region == "Northeast")[:, None] + noise(0.4)
    growth[:, 0] = 0.0
    real_income = np.cumprod(1 + growth / 100, axis=1) * np.exp(INCOME_ON_DIGITAL * relative_gain)
    gdp_pc = gdp_pc0[:, None] * real_income * cpi / 100
    population = pop0[:, None] * np.exp((0.004 + noise(0.004, (n_prov,)))[:, None] * t)
    gdp = gdp_pc * population / 1e4

    # Industrial structure: log STR drifts up and loads on digital development (the mediator).
    str_noise = np.cumsum(noise(0.015), axis=1)
    excess_gain = gain - speed.mean() * t
    structure = str0[:, None] * np.exp(0.02 * t + STR_ON_DIGITAL * excess_gain + str_noise)
    primary0 = 0.10 * (40000 / gdp_pc0) ** 1.3 * rng.lognormal(0, 0.25, n_prov)
    primary_share = np.clip(primary0, 0.004, 0.25)[:, None] * np.exp(-0.03 * t)
    non_primary = gdp * (1 - primary_share)

    # Export mix: multinomial-logit shares tilted toward high-tau categories by digital
    # development (region- and threshold-dependent slope) and by the industrial structure.
    tau, base_share, dva0 = np.array(list(CATEGORIES.values())).T
    n_cat = len(tau)
    response = np.vectorize(RESPONSE_BY_REGION.get)(region)[:, None]
    slope = DIGITAL_EFFECT * (1 + SLOPE_GAIN_ABOVE * (structure > STR_THRESHOLD))
    tilt = response * (slope * digital + STR_EFFECT * np.log(structure))
    affinity = noise(0.5, (n_prov, 1, n_cat))
    centred = tilt - (1 - LEVEL_PASS_THROUGH) * tilt[:, :1] - LEVEL_PASS_THROUGH * tilt[:, 0].mean()
    utility = np.log(base_share) + affinity + tau * centred[:, :, None]
    utility = utility + noise(0.08, utility.shape)
    shares = np.exp(utility) / np.exp(utility).sum(axis=2, keepdims=True)
    export_drift = np.cumsum(0.03 * inland + noise(0.06), axis=1)
    export_growth = EXPORT_INDEX * np.exp(export_drift - export_drift[:, :1])
    total_exports = 1000 * exports0[:, None] * export_growth
    dva = np.clip(dva0 + 0.004 * t[:, :, None] + noise(0.03, (n_prov, 1, n_cat)), 0.3, 0.98)
    imports = 1000 * imports0[:, None] * IMPORT_INDEX * np.exp(0.15 * gain + noise(0.05))

    # Indicators and controls: each loads on D (level0 and gain) with its own noise.
    level_gap = level0[:, None] - 1.2
    rd_intensity = np.exp(0.8 * (level0[:, None] - level0.mean()) + 0.25 * gain + noise(0.05))
    internet = logistic(logit(internet0[:, None] / 100) + 1.1 * gain + noise(0.04))
    mobile_rate = 0.31 * (internet0[:, None] / 42) ** 0.7 * np.exp(0.9 * gain + noise(0.04))
    cable0 = 9000 * (pop0[:, None] / 3000) ** 0.4 * rng.lognormal(0, 0.4, (n_prov, 1))
    cable = cable0 * np.exp(0.25 * gain + noise(0.03))
    rd_personnel = 4.6 * gdp * rd_intensity**0.8 * np.exp(-0.04 * t + noise(0.05))
    patents = 0.05 * gdp * rd_intensity * np.exp(0.3 * gain + noise(0.12))
    ict_services = logistic(logit(0.1) + 0.6 * level_gap + 0.6 * gain + noise(0.08))
    digital_services = logistic(logit(0.45) + 0.4 * level_gap + 0.5 * gain + noise(0.06))
    restriction = np.clip(0.52 - 0.06 * (digital - 1.2) + noise(0.015), 0.05, 0.95)
    urban = logistic(logit(urban0[:, None] / 100) + 0.045 * t + 0.08 * gain + noise(0.02))
    teachers = 5.6 + 0.5 * income_z + 0.05 * t + noise(0.3, (n_prov, 1)) + noise(0.1)
    region_market = np.vectorize({"East": 1.0, "West": -1.2}.get)(region, 0.0)[:, None]
    market0 = 5.5 + zscore(internet0)[:, None] + 0.8 * income_z + region_market
    market = market0 + noise(0.5, (n_prov, 1)) + 0.12 * t + 0.3 * gain + noise(0.15)
    municipality = np.isin([original(name) for name in table], MUNICIPALITIES)[:, None]
    deposit_ratio = 1.5 * (gdp_pc0[:, None] / 40000) ** 0.4 * (1 + 0.6 * municipality)
    deposits = gdp * deposit_ratio * rng.lognormal(0, 0.15, (n_prov, 1))
    deposits = deposits * np.exp(0.02 * t + noise(0.03))
    loans = deposits * 0.7 * rng.lognormal(0, 0.1, (n_prov, 1)) * np.exp(noise(0.03))
    panel = {
        "population": population,
        "gdp_pc": gdp_pc,
        "cpi": cpi,
        "internet_rate": 100 * internet,
        "mobile_internet_users": population * mobile_rate,
        "optical_cable_km": cable,
        "rd_personnel_fte": rd_personnel,
        "rd_institution_patents": patents,
        "rd_expenditure": 0.014 * gdp * rd_intensity,
        "ict_goods_export_share": 100 * shares[:, :, list(CATEGORIES).index(ICT_CATEGORY)],
        "ict_services_export_share": 100 * ict_services,
        "digital_services_export_share": 100 * digital_services,
        "imports_gdp_ratio": 100 * imports * USD_CNY / 100 / gdp,
        "digital_trade_restriction": restriction,
        "urban_rate": 100 * urban,
        "teacher_student_ratio": teachers,
        "market_index": np.clip(market, 0.0, 12.5),
        "trade_usd": (total_exports + imports) / 100,
        "usd_cny": np.broadcast_to(USD_CNY, (n_prov, n_year)),
        "gdp": gdp,
        "deposits": deposits,
        "loans": loans,
        "primary_va": gdp - non_primary,
        "secondary_va": non_primary / (1 + structure),
        "tertiary_va": non_primary * structure / (1 + structure),
    }
    export_value = total_exports[:, :, None] * shares
    exports = {"export_value": export_value, "dva_share": np.broadcast_to(dva, shares.shape)}
    return panel, exports, {"digital": digital, "structure": structure, "tilt": tilt}


def cell(value: float, decimals: int) -> str:
    return "" if np.isnan(value) else f"{value:.{decimals}f}"


def write_panel(panel: Arrays, path: Path, table: dict[str, tuple] = PROVINCES) -> None:
    missing = {(p, y, c) for p, y, c in MISSING_CELLS}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["province", "region", "municipality", "year", *PANEL_DECIMALS])
        for i, (name, anchors) in enumerate(table.items()):
            for k, year in enumerate(YEARS):
                values = [
                    "" if (name, int(year), column) in missing else cell(panel[column][i, k], d)
                    for column, d in PANEL_DECIMALS.items()
                ]
                flag = int(original(name) in MUNICIPALITIES)
                writer.writerow([name, anchors[0], flag, int(year), *values])


def write_exports(exports: Arrays, path: Path, table: dict[str, tuple] = PROVINCES) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["province", "year", "category", "export_value", "dva_share"])
        for i, name in enumerate(table):
            for k, year in enumerate(YEARS):
                for j, category in enumerate(CATEGORIES):
                    value, dva = exports["export_value"][i, k, j], exports["dva_share"][i, k, j]
                    writer.writerow([name, int(year), category, cell(value, 3), cell(dva, 4)])


def generate(out_dir: Path, seed: int = SEED, size: int = 1) -> tuple[Path, Path]:
    """Write province_panel.csv and province_exports.csv into ``out_dir``; return their paths.
    ``size`` K repeats every province K times (31·K provinces; 1: the bundled files)."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    table = provinces(size)
    panel, exports, _ = simulate(np.random.default_rng(seed), table)
    out_dir.mkdir(parents=True, exist_ok=True)
    panel_path, exports_path = out_dir / "province_panel.csv", out_dir / "province_exports.csv"
    write_panel(panel, panel_path, table)
    write_exports(exports, exports_path, table)
    return panel_path, exports_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--size", type=int, default=1, help="each province K times (31·K provinces)"
    )
    arguments = parser.parse_args(argv)
    for path in generate(arguments.out, arguments.seed, arguments.size):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
