"""IV tables: each model's first stage(s) beside its second stage, with the weak-IV diagnostics.

A layout over the regression table, not a second table engine: the columns are, per IV model,
``<model>.first.<endog>`` for every endogenous regressor and then ``<model>``, grouped under the
model's label, and the statistic rows default to what applied papers print under an IV table
(first-stage F, Kleibergen–Paap and Cragg–Donald F, the over-identification and endogeneity
p-values). Everything else (stars, digits, keep/drop, labels) is the regression table's.
"""

from __future__ import annotations

from specrun.errors import SpecError
from specrun.results import ResultSet
from specrun.tables.base import TableContext
from specrun.tables.ir import Table
from specrun.tables.regression import _stat_value, build_regression
from specrun.tables.specs.iv import IVTableSpec
from specrun.tables.specs.regression import ColumnGroup, RegressionTableSpec


def build_iv_table(spec: IVTableSpec, results: ResultSet, ctx: TableContext) -> Table:
    columns: list[str] = []
    groups: list[ColumnGroup] = []
    column_labels: list[str] = []
    leading: list[str] = []  # endogenous regressors, then instruments, then the controls
    for name in spec.models:
        model = results.models.get(name)
        if model is None or model.estimator != "iv":
            raise SpecError(
                f"model '{name}' is not a fitted iv model",
                code="reference",
                path=f"tables.{ctx.name}.models",
            )
        endog = model.extra["endogenous"] if spec.first_stage else []
        firsts = [f"{name}.first.{e}" for e in endog]
        columns += [*firsts, name]
        for var in [*model.extra["endogenous"], *model.extra["instruments"]]:
            if var not in leading:
                leading.append(var)
        column_labels += [ctx.text("First stage")] * len(firsts) + [
            _second_stage_label(model.extra)
        ]
        groups.append(ColumnGroup(label=model.label or name, span=len(firsts) + 1))
    stats = spec.stats
    if "stats" not in spec.model_fields_set:
        # default rows no column has are left out, not printed empty: the over-identification
        # test of an exactly identified model, a Stock–Yogo value that is not tabulated
        fitted = [results.models[c] for c in columns if c in results.models]
        stats = [s for s in stats if any(_stat_value(m, s, "within") is not None for m in fitted)]
    layout = RegressionTableSpec(
        kind="regression",
        caption=spec.caption,
        label=spec.label,
        notes=spec.notes,
        digits=spec.digits,
        columns=columns,
        column_labels=column_labels,
        groups=groups if len(spec.models) > 1 else [],
        keep=spec.keep,
        drop=spec.drop,
        order=spec.order if spec.order is not None else leading,
        labels=spec.labels,
        constant=spec.constant,
        show=spec.show,
        stars=spec.stars,
        stats=stats,
        stat_labels=spec.stat_labels,
    )
    return build_regression(layout, results, ctx)


def _second_stage_label(extra: object) -> str:
    method = extra.get("method", "2sls") if isinstance(extra, dict) else "2sls"
    return {"2sls": "2SLS", "liml": "LIML", "gmm": "GMM"}.get(str(method), str(method))
