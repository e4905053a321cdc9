"""``sophistication``: product sophistication PRODY and export sophistication EXPY from long
entity × time × product export data (Hausmann, Hwang and Rodrik 2007).

Method (Hausmann, Hwang and Rodrik 2007, J. Econ. Growth 12:1-25, their PRODY and EXPY; applied to
Chinese provinces by Yao and Zhang 2008). With x_ijt the exports of product j by entity i in
year t, X_it = Σ_j x_ijt and Y_it income per capita:

    s_ijt   = x_ijt / X_it
    PRODY_jt = Σ_i [ s_ijt / Σ_k s_kjt ] · Y_it
    EXPY_it  = Σ_j s_ijt · PRODY_jt

The weight s_ijt / Σ_k s_kjt is Balassa's revealed comparative advantage normalised to sum to one
over exporters. Checked by ``tests/test_transforms_sophistication.py`` against the ``econcomplex``
package 1.0.1 on ``reference/prody`` (equal to ecomplexity 0.5.3's RCA plugged into the formula).

Options that change the inputs, in the order they act:

- ``va_share`` (a column of the export source): x_ijt is replaced by x_ijt · va_ijt, the domestic
  value added in exports; the share must lie in [0, 1].
- ``deflator`` (a panel column, a price *level* index such as CPI with 2012 = 100): real income
  is Y_it · P_i,b / P_it with P_i,b entity i's index in ``base_year``; without ``base_year`` the
  index is taken to be 100 in its base period, Y_it · 100 / P_it.
- ``per: pooled``: PRODY_j is the mean of PRODY_jt over the years in which j is exported, held
  fixed as in Hausmann, Hwang and Rodrik (2007, who average 1999-2001); EXPY_it = Σ_j s_ijt PRODY_j.
- ``scale`` multiplies PRODY and EXPY (the unit of income); ``log`` reports ln(scale · EXPY).

Every exporter in the source enters PRODY, so each needs income in the panel. Rows are never
dropped silently: with ``missing: error`` (default) a null export value, an exporter-year without
income or deflator, a zero total of exports, or a panel row without exports is an error naming
it; with ``missing: skip`` those rows are left out (an exporter without income still gets an
EXPY from its export shares, it only does not weigh in PRODY; a product exported only by such
entities has no PRODY, and the EXPY of its exporters is null), EXPY is null where it cannot be
computed, and every exclusion is listed in the notes.

Artifact: the PRODY table (product, year or none when pooled, prody) as a polars frame under
``prody_artifact_key(output)`` = ``"prody.<output>"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from specrun.errors import SpecError
from specrun.transforms.aggregate import key_ranks
from specrun.transforms.base import (
    TransformContext,
    TransformOutput,
)
from specrun.transforms.options.sophistication import (
    SophisticationOptions,
    prody_artifact_key,
    sophistication_inputs,
)
from specrun.transforms.panel import (
    missing_policy,
    require_columns,
    require_numeric,
    require_unique_keys,
)

# Internal column names, chosen so they cannot clash with a user's.
_E, _T, _P, _X = "__entity", "__time", "__product", "__exports"


def _describe(frame: pl.DataFrame, columns: list[str], labels: list[str], limit: int = 5) -> str:
    rows = frame.select(columns).unique(maintain_order=True)
    shown = [
        "(" + ", ".join(f"{label}={value}" for label, value in zip(labels, row, strict=True)) + ")"
        for row in rows.head(limit).iter_rows()
    ]
    more = f" and {rows.height - limit} more" if rows.height > limit else ""
    return ", ".join(shown) + more


@dataclass(frozen=True)
class _Exports:
    """Export cells (one per entity, time and product, in (time, product, entity) order) as
    integer codes into the sorted distinct key values, with their summed export value."""

    entity: np.ndarray  # (C,) int64 codes into ``entities``
    time: np.ndarray  # (C,) into ``times``
    product: np.ndarray  # (C,) into ``products``
    value: np.ndarray  # (C,) float64
    entities: pl.Series  # sorted distinct keys, with the panel's dtypes
    times: pl.Series
    products: pl.Series

    def frame(self, rows: np.ndarray, columns: dict[str, str]) -> pl.DataFrame:
        """The key values of the cells ``rows`` as a frame, for messages."""
        keys = {_E: (self.entities, self.entity), _T: (self.times, self.time)}
        keys[_P] = (self.products, self.product)
        return pl.DataFrame(
            [keys[k][0].gather(keys[k][1][rows]).alias(name) for k, name in columns.items()]
        )


def _read_exports(
    options: SophisticationOptions, ctx: TransformContext, panel: pl.DataFrame
) -> tuple[_Exports, list[str]]:
    """The export source's cells, keyed by codes of the panel's key dtypes, and notes."""
    if options.source not in ctx.sources:
        raise SpecError(
            f"sophistication: source '{options.source}' is not loaded",
            code="data",
            hint="sources: " + ", ".join(sorted(ctx.sources)),
        )
    raw = ctx.sources[options.source]
    where = f"source '{options.source}'"
    entity, time = options.entity or ctx.entity, options.time or ctx.time
    value_columns = [options.value, *([options.va_share] if options.va_share else [])]
    require_columns(raw, [entity, time, options.product, *value_columns], where)
    require_numeric(raw, value_columns, where, (entity, time, options.product))
    notes: list[str] = []
    exports = raw.select(
        pl.col(entity).alias(_E),
        pl.col(time).alias(_T),
        pl.col(options.product).alias(_P),
        pl.col(options.value).cast(pl.Float64).alias(_X),
        *([pl.col(options.va_share).cast(pl.Float64).alias("__va")] if options.va_share else []),
    )
    for key, panel_column in ((_E, ctx.entity), (_T, ctx.time)):
        exports = _cast_key(exports, key, panel[panel_column], where, panel_column)
    labels = [ctx.entity, ctx.time, options.product]

    negative = exports.filter(pl.col(_X) < 0)
    if negative.height:
        raise SpecError(
            f"sophistication: {negative.height} negative export values in column "
            f"'{options.value}' of {where}: {_describe(negative, [_E, _T, _P], labels)}",
            code="data",
        )
    if options.va_share:
        outside = exports.filter((pl.col("__va") < 0) | (pl.col("__va") > 1))
        if outside.height:
            raise SpecError(
                f"sophistication: value-added share '{options.va_share}' outside [0, 1] in "
                f"{outside.height} rows: {_describe(outside, [_E, _T, _P], labels)}",
                code="data",
            )
    null_check = [_X, *(["__va"] if options.va_share else [])]
    nulls = exports.filter(pl.any_horizontal(pl.col(null_check).is_null()))
    if nulls.height:
        message = (
            f"{nulls.height} export rows of {where} lack '{options.value}'"
            + (f" or '{options.va_share}'" if options.va_share else "")
            + f": {_describe(nulls, [_E, _T, _P], labels)}"
        )
        missing_policy(
            options.missing,
            "sophistication",
            message,
            notes,
            f"left out {message}",
            hint="set missing: skip to leave them out",
        )
        exports = exports.filter(~pl.any_horizontal(pl.col(null_check).is_null()))
    if options.va_share:
        exports = exports.with_columns((pl.col(_X) * pl.col("__va")).alias(_X)).drop("__va")

    # Each key becomes its rank among its sorted distinct values, once: every sum below is a
    # bincount over codes built from these ranks, and every lookup a gather by code, with no
    # sort of the rows and no join on string keys. Cells are numbered in (time, product,
    # entity) order, the order the steps below read them in.
    (e_rank, e_values), (t_rank, t_values), (p_rank, p_values) = (
        key_ranks(exports[key]) for key in (_E, _T, _P)
    )
    n_e, n_t, n_p = (max(values.len(), 1) for values in (e_values, t_values, p_values))
    cell = (t_rank * n_p + p_rank) * n_e + e_rank
    counts = np.bincount(cell, minlength=n_t * n_p * n_e)
    repeated = counts > 1
    if repeated.any():
        notes.append(
            f"summed {int(counts[repeated].sum())} export rows sharing {int(repeated.sum())} "
            f"({', '.join(labels)}) combinations"
        )
    used = np.flatnonzero(counts)
    values = exports[_X].fill_null(np.nan).to_numpy()
    sums = np.bincount(cell, weights=values, minlength=counts.size)[used]
    return _Exports(
        entity=used % n_e,
        time=used // n_e // n_p,
        product=used // n_e % n_p,
        value=sums,
        entities=e_values,
        times=t_values,
        products=p_values,
    ), notes


def _cast_key(
    frame: pl.DataFrame, key: str, panel_key: pl.Series, where: str, name: str
) -> pl.DataFrame:
    """``frame`` with its ``key`` column in the panel's key type, so that the source's codes
    match the panel's: numbers read from one file (1) and codes with leading zeros read as
    text from another ('001', as stock and county codes are written) match by their value.
    Raises ``SpecError`` when the types cannot be matched, or when no code of the source is
    one of the panel's (every exporter-year would otherwise lack its income)."""
    dtype = panel_key.dtype
    if frame.schema[key] != dtype:
        padded = _codes_by_value(panel_key) if frame.schema[key].is_integer() else None
        try:
            if padded is not None:
                # the panel's own codes, found by their number: 1 reads as '001'
                cast = pl.col(key).replace_strict(padded, default=pl.col(key).cast(pl.String))
            else:
                cast = pl.col(key).cast(dtype, strict=True)
            frame = frame.with_columns(cast.cast(dtype, strict=True).alias(key))
        except pl.exceptions.PolarsError:
            raise SpecError(
                f"sophistication: the {name} column of {where} is {frame.schema[key]} and "
                f"cannot be matched with the panel's {name} ({dtype})",
                code="data",
            ) from None
    ours = frame[key].drop_nulls().unique()
    theirs = panel_key.drop_nulls().unique()
    if ours.len() and not ours.is_in(theirs.implode()).any():
        raise SpecError(
            f"sophistication: no {name} of {where} is one of the panel's: it has "
            f"{_examples(ours)}, the panel {_examples(theirs)}",
            code="data",
            hint="the two files must write the codes alike (the same names, or the same "
            "numbers); derive a matching column in one of them",
        )
    return frame


def _codes_by_value(codes: pl.Series) -> dict[int, str] | None:
    """The panel's text codes by their integer value, when every one is digits and no two
    share a value ('007' and '7'); else None."""
    if codes.dtype != pl.String:
        return None
    distinct = codes.drop_nulls().unique()
    if not distinct.len() or not distinct.str.contains(r"^[0-9]{1,18}$").all():
        return None
    values = distinct.cast(pl.Int64)
    if values.n_unique() != distinct.len():
        return None
    return dict(zip(values.to_list(), distinct.to_list(), strict=True))


def _examples(values: pl.Series) -> str:
    """A few of ``values``, sorted, written as in the data (``'001'`` for text)."""
    first = values.sort().head(3).to_list()
    more = f" and {values.len() - 3} more" if values.len() > 3 else ""
    return ", ".join(repr(v) for v in first) + more


def _real_income(
    panel: pl.DataFrame, options: SophisticationOptions, ctx: TransformContext
) -> pl.DataFrame:
    """(entity, time, income) with income deflated as the options say; nulls kept for the caller."""
    income = pl.col(options.income).cast(pl.Float64)
    if options.deflator is None:
        return panel.select(pl.col(ctx.entity).alias(_E), pl.col(ctx.time).alias(_T), income)
    deflator = pl.col(options.deflator).cast(pl.Float64)
    nonpositive = panel.filter(deflator <= 0)
    if nonpositive.height:
        raise SpecError(
            f"sophistication: deflator '{options.deflator}' is <= 0 in {nonpositive.height} "
            f"rows: {_describe(nonpositive, [ctx.entity, ctx.time], [ctx.entity, ctx.time])}",
            code="data",
        )
    if options.base_year is None:
        base = pl.lit(100.0)
    else:
        base_rows = panel.filter(pl.col(ctx.time) == options.base_year).select(
            ctx.entity, deflator.alias("__base")
        )
        lacking = (
            panel.select(ctx.entity)
            .unique(maintain_order=True)
            .join(base_rows.drop_nulls(), on=ctx.entity, how="anti")
        )
        if lacking.height:
            names = ", ".join(str(v) for v in lacking[ctx.entity].head(5))
            raise SpecError(
                f"sophistication: no deflator '{options.deflator}' in base year "
                f"{options.base_year} for {lacking.height} entities ({names})",
                code="data",
            )
        panel = panel.join(base_rows, on=ctx.entity, how="left", maintain_order="left")
        base = pl.col("__base")
    return panel.select(
        pl.col(ctx.entity).alias(_E),
        pl.col(ctx.time).alias(_T),
        (income * base / deflator).alias(options.income),
    )


def _key_codes(values: pl.Series, keys: pl.Series) -> np.ndarray:
    """Code of each of ``values`` in the sorted distinct ``keys`` (−1 where absent or null)."""
    lookup = pl.DataFrame([keys.alias("__key"), pl.Series("__code", np.arange(keys.len()))])
    found = (
        pl.DataFrame([values.alias("__key")])
        .join(lookup, on="__key", how="left", maintain_order="left")["__code"]
        .fill_null(-1)
    )
    return found.to_numpy().astype(np.int64, copy=False)


def _cell_codes(entity: pl.Series, time: pl.Series, exports: _Exports) -> np.ndarray:
    """Each (entity, time) row's entity-year code among the export cells (−1: not in exports)."""
    e_code, t_code = _key_codes(entity, exports.entities), _key_codes(time, exports.times)
    return np.where((e_code >= 0) & (t_code >= 0), e_code * exports.times.len() + t_code, -1)


def _income_by_code(
    income: pl.DataFrame, exports: _Exports, column: str
) -> tuple[np.ndarray, np.ndarray]:
    """(real income, has income) per entity-year code of the exports; a panel row with a null
    income, or no panel row, has none. Shapes: (N·T,) and (N·T,) over the exports' keys."""
    size = max(exports.entities.len() * exports.times.len(), 1)
    cell = _cell_codes(income[_E], income[_T], exports)
    values = income[column]
    present = (cell >= 0) & values.is_not_null().to_numpy()
    income_of = np.full(size, np.nan)
    has_income = np.zeros(size, dtype=bool)
    income_of[cell[present]] = values.cast(pl.Float64).to_numpy()[present]
    has_income[cell[present]] = True
    return income_of, has_income


def apply_sophistication(
    frame: pl.DataFrame, options: SophisticationOptions, ctx: TransformContext
) -> TransformOutput:
    """Add EXPY (Hausmann, Hwang and Rodrik 2007) to the panel, PRODY as an artifact.

    Checked by ``tests/test_transforms_sophistication.py`` (econcomplex 1.0.1 reference).
    """
    if options.base_year is not None and options.deflator is None:
        raise SpecError("sophistication: 'base_year' needs 'deflator'", code="schema")
    require_columns(frame, [ctx.entity, ctx.time, *sophistication_inputs(options)], "the panel")
    require_numeric(frame, sophistication_inputs(options), "the panel", (ctx.entity, ctx.time))
    require_unique_keys(frame, [ctx.entity, ctx.time], "the panel")
    exports, notes = _read_exports(options, ctx, frame)
    keys = [ctx.entity, ctx.time]
    n_e, n_t, n_p = exports.entities.len(), exports.times.len(), exports.products.len()
    n_et, n_tp = max(n_e * n_t, 1), max(n_t * n_p, 1)

    # Sums are bincounts over integer codes in row order (the cells' (time, product, entity)
    # order), the same additions in the same order as group sums over the cell frame, so
    # reruns are byte-identical and nothing is sorted or joined on string keys.
    et = exports.entity * n_t + exports.time
    totals = np.bincount(et, weights=exports.value, minlength=n_et)
    exporting = np.bincount(et, minlength=n_et) > 0
    empty = np.flatnonzero(exporting & (totals <= 0))
    if empty.size:
        cells = pl.DataFrame(
            [
                exports.entities.gather(empty // n_t).alias(_E),
                exports.times.gather(empty % n_t).alias(_T),
            ]
        )
        message = (
            f"{empty.size} entity-years export nothing in total: {_describe(cells, [_E, _T], keys)}"
        )
        missing_policy(options.missing, "sophistication", message, notes, f"left out {message}")
    with np.errstate(invalid="ignore", divide="ignore"):
        keep = totals[et] > 0
        share = np.where(keep, exports.value / np.where(keep, totals[et], 1.0), 0.0)
    # Zero exports weigh nothing; dropping them keeps a product nobody exports from 0 / 0.
    keep &= share > 0
    rows = np.flatnonzero(keep)
    share, et = share[rows], et[rows]
    tp = exports.time[rows] * n_p + exports.product[rows]

    income_of, has_income = _income_by_code(
        _real_income(frame, options, ctx), exports, options.income
    )
    priced_income = has_income[et]
    if not priced_income.all():
        lacking = np.unique(et[~priced_income])
        cells = pl.DataFrame(
            [
                exports.entities.gather(lacking // n_t).alias(_E),
                exports.times.gather(lacking % n_t).alias(_T),
            ]
        )
        what = f"'{options.income}'" + (f" or '{options.deflator}'" if options.deflator else "")
        message = (
            f"{lacking.size} exporter-years have no {what} in the panel: "
            f"{_describe(cells, [_E, _T], keys)}"
        )
        missing_policy(
            options.missing,
            "sophistication",
            message,
            notes,
            f"left out of PRODY {message}",
            hint="every exporter weighs in PRODY; set missing: skip to leave them out",
        )
    weighted = np.flatnonzero(priced_income)
    w_tp, w_share = tp[weighted], share[weighted]
    column_sums = np.bincount(w_tp, weights=w_share, minlength=n_tp)
    rca = w_share / column_sums[w_tp]
    prody_sum = np.bincount(w_tp, weights=rca * income_of[et[weighted]], minlength=n_tp)
    priced_cells = np.flatnonzero(np.bincount(w_tp, minlength=n_tp))
    cell_time, cell_product = priced_cells // n_p, priced_cells % n_p
    if options.per == "year":
        prody_of = np.full(n_tp, np.nan)
        prody_of[priced_cells] = prody_sum[priced_cells] * options.scale
        row_prody = prody_of[tp]
        prody = pl.DataFrame(
            [
                exports.products.gather(cell_product).alias(_P),
                exports.times.gather(cell_time).alias(_T),
                pl.Series("prody", prody_of[priced_cells], dtype=pl.Float64).fill_nan(None),
            ]
        )
    else:
        # the mean over the years a product is priced in, summed in year order
        pooled_sum = np.bincount(cell_product, weights=prody_sum[priced_cells], minlength=n_p)
        years = np.bincount(cell_product, minlength=n_p)
        with np.errstate(invalid="ignore", divide="ignore"):
            prody_of = np.where(years > 0, pooled_sum / np.maximum(years, 1), np.nan)
        prody_of *= options.scale
        row_prody = prody_of[exports.product[rows]]
        priced_products = np.flatnonzero(years)
        prody = pl.DataFrame(
            [
                exports.products.gather(priced_products).alias(_P),
                pl.Series("prody", prody_of[priced_products], dtype=pl.Float64).fill_nan(None),
            ]
        )

    unpriced = np.flatnonzero(np.isnan(row_prody))
    if unpriced.size:
        cells = exports.frame(rows[unpriced], {_E: _E, _T: _T, _P: _P})
        notes.append(
            f"no PRODY for {_describe(cells, [_P, _T], [options.product, ctx.time])} "
            f"(no exporter with income), so {options.output} is null for "
            f"{_describe(cells, [_E, _T], keys)}"
        )
    # a product without PRODY makes its exporters' EXPY null (the NaN propagates in the sum)
    expy_of = np.bincount(et, weights=share * row_prody, minlength=n_et)
    has_expy = np.bincount(et, minlength=n_et) > 0
    expy = pl.Series("__expy", expy_of, dtype=pl.Float64).fill_nan(None)
    if options.log:
        expy = expy.log()

    panel_cell = _cell_codes(frame[ctx.entity], frame[ctx.time], exports)
    matched = panel_cell >= 0
    matched[matched] = has_expy[panel_cell[matched]]
    if not matched.all():
        unmatched = frame.filter(pl.Series(~matched))
        message = (
            f"{unmatched.height} panel rows have no exports in source '{options.source}': "
            f"{_describe(unmatched, keys, keys)}"
        )
        missing_policy(
            options.missing,
            "sophistication",
            message,
            notes,
            f"{options.output} is null for {message}",
            hint="set missing: skip to give them a null EXPY",
        )
    values = expy.gather(np.where(matched, panel_cell, 0))
    values = pl.select(
        pl.when(pl.Series(matched)).then(values).otherwise(None).alias(options.output)
    ).to_series()
    result = frame.with_columns(values)
    artifact = prody.rename(
        {_P: options.product} | ({_T: ctx.time} if options.per == "year" else {})
    )
    return TransformOutput(
        result, artifacts={prody_artifact_key(options.output): artifact}, notes=tuple(notes)
    )
