"""``entropy_index``: a composite index from several indicators weighted by the entropy-weight
method (Shannon's entropy turned into objective criteria weights; Hwang and Yoon 1981, Multiple
Attribute Decision Making, on assessing attribute weights).

Method, for n rows (all rows, or the rows of one year) and indicators j:

1. normalise each indicator x_j to z_j:
   - ``normalize: minmax`` (default): a "+" (benefit) indicator gives
     z = (x - min) / (max - min) + shift, a "-" (cost) one z = (max - x) / (max - min) + shift;
     the shift (default 0.0001) keeps the logarithm below finite;
   - ``normalize: sum``: "+" gives z = x / Σ_i x, "-" gives z = (1/x) / Σ_i (1/x), then + shift
     (default 0). With every indicator "+" and no shift the weights equal pymcdm 1.4.0's
     ``weights.entropy_weights`` (which treats every column as a benefit);
2. p_ij = z_ij / Σ_i z_ij;
3. entropy e_j = -(1 / ln n) Σ_i p_ij ln p_ij, with 0 · ln 0 = 0;
4. divergence d_j = 1 - e_j and weight w_j = d_j / Σ_k d_k;
5. index_i = scale · Σ_j w_j z_ij (the same z as in step 2, shift included).

With ``weights: year`` steps 1-5 run separately within each year of the panel's time column (the
min and max too), so weights and index are cross-sectional year by year.

Checked by ``tests/test_transforms_entropy.py``: pymcdm 1.4.0 on ``reference/entropy`` (sum
normalisation) and a min-max example computed by hand from the formulas above.

Bad inputs: a null indicator value stops the run naming the indicator and rows (``missing: drop``
leaves those rows out of the weights and gives them a null index, reported in the notes); an
indicator with no spread (max = min) under min-max is an error naming it (its weight would be
0 / 0); sum normalisation needs non-negative values ("+") or positive ones ("-").

Artifact: a polars frame (``<time>`` when per year, indicator, direction, entropy, divergence,
weight) under ``weights_artifact_key(output)`` = ``"weights.<output>"``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.transforms.base import (
    TransformContext,
    TransformOutput,
)
from specrun.transforms.options.entropy import EntropyIndexOptions, weights_artifact_key
from specrun.transforms.panel import missing_policy, require_columns, require_numeric


def normalize_indicators(
    values: np.ndarray,
    directions: list[str],
    method: Literal["minmax", "sum"],
    shift: float,
    names: list[str],
    where: str = "",
) -> np.ndarray:
    """Columns of ``values`` (rows × indicators) normalised as the module docstring says.

    Computed a column at a time in place (one column stays in cache, where the whole table
    with its temporaries does not at hundreds of thousands of rows); returns a new
    column-major (rows × indicators) array."""
    positive = np.array([d == "+" for d in directions])
    if method == "minmax":
        low, high = values.min(axis=0), values.max(axis=0)
        spread = high - low
        flat = np.flatnonzero(spread <= 0)
        if flat.size:
            raise SpecError(
                f"entropy_index: indicator '{names[flat[0]]}' has no spread{where} (every "
                f"value is {low[flat[0]]:g}); min-max normalisation divides by zero",
                code="data",
                hint="drop it from 'indicators'",
            )
        z = np.empty(values.shape, order="F")
        for j in range(values.shape[1]):
            if positive[j]:
                np.subtract(values[:, j], low[j], out=z[:, j])
            else:
                np.subtract(high[j], values[:, j], out=z[:, j])
            z[:, j] /= spread[j]
            z[:, j] += shift
        return z
    else:
        bad = np.flatnonzero(
            np.where(positive, (values < 0).any(axis=0), (values <= 0).any(axis=0))
        )
        if bad.size:
            need = "non-negative" if positive[bad[0]] else "positive ('-' takes 1/x)"
            raise SpecError(
                f"entropy_index: sum normalisation needs {need} values of '{names[bad[0]]}'{where}",
                code="data",
            )
        oriented = np.where(positive, values, 1.0 / np.where(positive, 1.0, values))
        totals = oriented.sum(axis=0)
        empty = np.flatnonzero(totals <= 0)
        if empty.size:
            raise SpecError(
                f"entropy_index: indicator '{names[empty[0]]}' sums to zero{where}",
                code="data",
            )
        z = oriented / totals
    return z + shift


def entropy_weights(z: np.ndarray, names: list[str], where: str = "") -> np.ndarray:
    """Rows of (entropy e, divergence d, weight w) per indicator for normalised ``z``.

    e_j = -(1/ln n) Σ_i p_ij ln p_ij with p_ij = z_ij / Σ_i z_ij and 0 ln 0 = 0; d = 1 - e;
    w = d / Σ d.
    """
    n = z.shape[0]
    if n < 2:
        raise SpecError(f"entropy_index: needs at least 2 rows{where}, has {n}", code="data")
    totals = z.sum(axis=0)
    plogp_sums = np.empty(z.shape[1])
    for j in range(z.shape[1]):  # a column at a time: its temporaries stay in cache
        p = z[:, j] / totals[j]
        positive = p > 0
        if positive.all():
            p *= np.log(p)
        else:
            p = np.where(positive, p * np.log(np.where(positive, p, 1.0)), 0.0)
        plogp_sums[j] = p.sum()
    entropy = -plogp_sums / np.log(n)
    divergence = 1.0 - entropy
    total = divergence.sum()
    if not total > 0:
        raise SpecError(
            f"entropy_index: every indicator has maximal entropy{where} (no indicator "
            f"varies: {', '.join(names)}), so the weights are 0 / 0",
            code="data",
        )
    return np.column_stack([entropy, divergence, divergence / total])


def _absent(column: pl.Expr) -> pl.Expr:
    """Null or NaN: both are missing cells to the entropy method."""
    return column.cast(pl.Float64).fill_nan(None).is_null()


def apply_entropy_index(
    frame: pl.DataFrame, options: EntropyIndexOptions, ctx: TransformContext
) -> TransformOutput:
    """Add the entropy-weighted index to the panel; the weights become an artifact."""
    names = list(options.indicators)
    directions = [options.indicators[n] for n in names]
    per_year = options.weights == "year"
    require_columns(frame, [*names, *([ctx.time] if per_year else [])], "the panel")
    require_numeric(frame, names, "the panel", (ctx.entity, ctx.time))
    notes: list[str] = []

    incomplete = pl.any_horizontal(_absent(pl.col(names)))
    lacking_mask = frame.select(incomplete).to_series().to_numpy()
    if lacking_mask.any():
        lacking = frame.filter(incomplete)
        counts = {
            n: c
            for n, c in lacking.select(_absent(pl.col(n)).sum() for n in names)
            .row(0, named=True)
            .items()
            if c
        }
        keys = [k for k in (ctx.entity, ctx.time) if k in frame.columns]
        first = ", ".join(f"{k}={lacking[k][0]}" for k in keys)
        message = (
            f"{lacking.height} rows lack an indicator value ("
            + ", ".join(f"{n}: {c}" for n, c in counts.items())
            + (f"; first {first}" if first else "")
            + ")"
        )
        missing_policy(
            options.missing,
            "entropy_index",
            message,
            notes,
            f"{message}; left out of the weights, {options.output} is null there",
            hint="fill them first or set missing: drop",
        )

    # Only the indicators (and the year) are copied and grouped, never the whole panel: the
    # index goes back by row number into one array, not by a join of the panel.
    complete = (
        frame.select(*([ctx.time] if per_year else []), *names)
        .with_row_index("__row")
        .filter(pl.Series(~lacking_mask))
    )
    groups = (
        [(None, complete)]
        if not per_year
        else [(year, part) for (year,), part in complete.group_by(ctx.time, maintain_order=True)]
    )
    if per_year:
        groups.sort(key=lambda item: item[0])
    index = np.full(frame.height, np.nan)
    tables: list[pl.DataFrame] = []
    for year, part in groups:
        where = "" if year is None else f" in {ctx.time}={year}"
        values = part.select(pl.col(names).cast(pl.Float64)).to_numpy()
        z = normalize_indicators(
            values, directions, options.normalize, options.effective_shift, names, where
        )
        stats = entropy_weights(z, names, where)
        index[part["__row"].to_numpy()] = options.scale * z @ stats[:, 2]
        table = pl.DataFrame(
            {
                "indicator": names,
                "direction": directions,
                "entropy": stats[:, 0],
                "divergence": stats[:, 1],
                "weight": stats[:, 2],
            }
        )
        if year is not None:
            table = table.select(pl.lit(year).alias(ctx.time), pl.all())
        tables.append(table)

    column = pl.Series(options.output, index)
    if lacking_mask.any():
        column = pl.select(
            pl.when(pl.Series(lacking_mask)).then(None).otherwise(column).alias(options.output)
        ).to_series()
    return TransformOutput(
        frame.with_columns(column),
        artifacts={weights_artifact_key(options.output): pl.concat(tables)},
        notes=tuple(notes),
    )
