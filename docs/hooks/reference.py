"""Reference pages generated from the code: the spec schema, the registries, statistics, errors.

An MkDocs hook (``hooks:`` in ``mkdocs.yml``): ``mkdocs build`` and ``mkdocs serve`` write the
reference pages afresh from the pydantic models and the registries on every build, so they list
whatever estimators, transforms, table kinds, figure kinds, formats, statistics and error codes
the code has — nothing is typed twice and nothing can drift. ``pages()`` returns the same
Markdown for tests.
"""

from __future__ import annotations

import inspect
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "src") not in sys.path:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))

from pydantic import BaseModel  # noqa: E402

from specrun.data.expr import FUNCTIONS  # noqa: E402
from specrun.spec.models import TERM_DESCRIPTION, TERM_SCHEMA  # noqa: E402
from specrun.spec.schema import SECTION_DESCRIPTIONS, json_schema, summary  # noqa: E402

REFERENCE = "reference"


# --------------------------------------------------------------------------------------------
# option tables from pydantic models


def _text(text: str) -> str:
    """Markdown prose with ``<…>`` outside code spans escaped, so that a placeholder such as
    ``<base>.<variant>`` is printed, not read as an HTML tag (which a browser hides)."""
    parts = str(text).split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped, ``<…>`` escaped as in prose."""
    return _text(" ".join(str(text).split()).replace("|", "\\|"))


def type_name(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A JSON-schema property as a short type: ``list[term]``, ``int ≥ 1``, ``"a" | "b"``."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        if "enum" in target:
            return " | ".join(f"`{v}`" for v in target["enum"])
        return "mapping" if name.endswith(("Spec", "Options", "Group")) else name
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " | ".join(f"`{v}`" for v in prop["enum"])
    for key in ("anyOf", "oneOf"):
        if key in prop:
            parts = [type_name(p, defs) for p in prop[key] if p.get("type") != "null"]
            text = " | ".join(dict.fromkeys(parts))
            return text + (" | null" if any(p.get("type") == "null" for p in prop[key]) else "")
    kind = prop.get("type")
    if prop.get("examples") == TERM_SCHEMA["examples"]:
        return "term"
    if kind == "array":
        if "prefixItems" in prop:
            return "[" + ", ".join(type_name(p, defs) for p in prop["prefixItems"]) + "]"
        return f"list[{type_name(prop.get('items', {}), defs)}]"
    if kind == "object":
        inner = prop.get("additionalProperties")
        if isinstance(inner, dict):
            return f"mapping of {type_name(inner, defs)}"
        return "mapping"
    bounds = []
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        if key in prop:
            value = prop[key]
            bounds.append(f"{sign} {value}" if isinstance(value, int) else f"{sign} {value:g}")
    names = {"integer": "int", "number": "float", "boolean": "bool", "string": "text"}
    base = names.get(str(kind), str(kind or "any"))
    return base + (f" ({', '.join(bounds)})" if bounds else "")


def schema_table(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """The keys of a JSON-schema object (following ``$ref``, ``anyOf`` and mapping values)."""
    seen = 0
    while seen < 5:
        seen += 1
        if "$ref" in prop:
            prop = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
        elif "anyOf" in prop:
            prop = next((p for p in prop["anyOf"] if p.get("type") != "null"), {})
        elif isinstance(prop.get("additionalProperties"), dict) and "properties" not in prop:
            prop = prop["additionalProperties"]
        else:
            break
    if "properties" not in prop:
        return ""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, sub in prop["properties"].items():
        default = (
            "**required**"
            if name in prop.get("required", [])
            else f"`{json.dumps(sub['default'], ensure_ascii=False)}`"
            if "default" in sub
            else ""
        )
        rows.append(
            f"| `{name}` | {_cell(type_name(sub, defs))} | {default} | "
            f"{_cell(_describe(name, sub))} |"
        )
    return "\n".join(rows)


def _default(model: type[BaseModel], name: str) -> str:
    info = model.model_fields.get(name)
    if info is None:
        return ""
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    else:
        value = info.default
    if isinstance(value, BaseModel):
        describe = getattr(value, "describe", None)
        return describe() if callable(describe) else "the defaults of its keys"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _describe(name: str, prop: dict[str, Any]) -> str:
    text = prop.get("description", "")
    if text == TERM_DESCRIPTION:
        text = "The dependent variable: one term." if name == "y" else "One model term."
        text += " See [model terms](spec.md#model-terms)."
    return text.replace("``", "`")


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    """The properties of a model's JSON schema: its own, or, for a model that also takes a
    shorthand (``se: robust`` beside ``se: {cluster: entity}``), those of the mapping among its
    ``anyOf`` alternatives."""
    defs = schema.get("$defs", {})
    for member in (schema, *schema.get("anyOf", ())):
        if "$ref" in member:
            member = defs.get(member["$ref"].rsplit("/", 1)[-1], {})
        if "properties" in member:
            return dict(member["properties"])
    return {}


def options_table(model: type[BaseModel], *, skip: tuple[str, ...] = ()) -> str:
    """Every field of ``model``: key, type, default (or required), description."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, prop in _properties(schema).items():
        if name in skip or name in ("estimator", "kind"):  # the section's heading names it
            continue
        rows.append(
            f"| `{name}` | {_cell(type_name(prop, defs))} | {_cell(_default(model, name))} | "
            f"{_cell(_describe(name, prop))} |"
        )
    return "\n".join(rows)


def _doc(obj: Any) -> str:
    return summary(getattr(obj, "__doc__", None))


def _long_doc(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.replace("``", "`")


# --------------------------------------------------------------------------------------------
# pages


GENERATED = (
    '!!! note "Generated page"\n    This page is written from specrun\'s code on every '
    "`mkdocs build`; it lists exactly what the installed version accepts.\n\n"
)


def spec_page() -> str:
    from specrun.spec import models as m
    from specrun.spec.multiverse import InferenceSpec, MultiverseSpec

    schema = json_schema()
    described_as = {name: _text(text) for name, text in SECTION_DESCRIPTIONS.items()}
    lines = [
        "# Spec reference",
        "",
        GENERATED,
        "A spec is one YAML file with these top-level sections. `data` and `models` are "
        "required. Relative paths (`data.sources.*.path`, `outputs.dir`) resolve against "
        "the folder of the spec file, not the folder you run `specrun` from.",
        "",
        "| section | meaning |",
        "|---|---|",
    ]
    for name, prop in schema["properties"].items():
        lines.append(f"| [`{name}`](#{name}) | {_cell(prop.get('description', ''))} |")
    lines += [
        "",
        "## spec_version",
        "",
        described_as["spec_version"] + " Optional; write `spec_version: 1`.",
        "",
        "## title",
        "",
        described_as["title"],
    ]
    sections: list[tuple[str, str, list[tuple[str, type[BaseModel]]]]] = [
        (
            "data",
            "",
            [
                ("data", m.DataSpec),
                ("data.sources.<name>", m.SourceSpec),
                ("data.panel", m.PanelSpec),
                ("data.sources.<name>.index", m.GeneratedIndex),
            ],
        ),
        (
            "variables",
            "",
            [("variables.<name>", m.VariableSpec), ("label: {en, zh}", m.LocalizedText)],
        ),
        ("samples", "", [("samples.<name>", m.SampleSpec)]),
        (
            "outputs",
            "",
            [
                ("outputs", m.OutputSpec),
                ("outputs.latex", m.LatexOutputSpec),
                ("outputs.docx", m.DocxOutputSpec),
            ],
        ),
    ]
    for section, _, members in sections:
        lines += ["", f"## {section}", "", described_as[section], ""]
        for title, model in members:
            lines += [
                f"### `{title}`",
                "",
                _long_doc(model) if model.__doc__ else "",
                "",
                options_table(model),
                "",
            ]
    lines += [
        "",
        "## groups",
        "",
        described_as["groups"],
        "",
        "<!-- spec: reference-groups -->\n```yaml\nspec_version: 1\ndata:\n"
        "  sources: {panel: {path: ../data/province_panel.csv}}\n"
        "  panel: {source: panel, entity: province, time: year}\n"
        "groups:\n  controls: [urban_rate, market_index]\n"
        "models:\n  fe: {estimator: panel_fe, y: gdp_pc, x: [internet_rate, $controls]}\n```",
        "",
        "## transforms",
        "",
        described_as["transforms"] + " See [Transforms](transforms.md).",
        "",
        "## models",
        "",
        described_as["models"] + " See [Estimators](estimators.md) for every "
        "estimator's keys. Every model also takes `extends: <model>` (copy that model's keys "
        "and override some) and the keys common to all estimators below.",
        "",
        options_table(m.ModelBase, skip=("estimator",)),
        "",
        "### Standard errors: `se`",
        "",
        "`se:` takes a shorthand string (`unadjusted`, `robust`, `HC0`–`HC3`, "
        "`driscoll_kraay`) or a mapping:",
        "",
        _long_doc(m.CovarianceSpec),
        "",
        options_table(m.CovarianceSpec),
        "",
        "#### `se.bootstrap`",
        "",
        _long_doc(m.WildBootstrapSpec),
        "",
        options_table(m.WildBootstrapSpec),
        "",
        "### Model terms",
        "",
        TERM_DESCRIPTION,
        "",
        "## variants",
        "",
        described_as["variants"] + " A variant takes any model key, plus "
        "`transforms:` that apply to its data only.",
        "",
        "## tables",
        "",
        described_as["tables"] + " See [Table kinds](tables.md).",
        "",
        "## figures",
        "",
        described_as["figures"] + " See [Figure kinds](figures.md).",
        "",
        "## multiverse",
        "",
        described_as["multiverse"] + " See [Multiverse and specification curves]"
        "(../guides/multiverse.md).",
        "",
        "### `multiverse.<name>`",
        "",
        options_table(MultiverseSpec),
        "",
        "### `multiverse.<name>.inference`",
        "",
        _long_doc(InferenceSpec),
        "",
        options_table(InferenceSpec),
    ]
    described = {
        "spec_version",
        "title",
        "data",
        "variables",
        "samples",
        "outputs",
        "groups",
        "transforms",
        "models",
        "variants",
        "tables",
        "figures",
        "multiverse",
    }
    for name, prop in schema["properties"].items():
        if name not in described:  # a section added since this page was written
            lines += [
                "",
                f"## {name}",
                "",
                _text(prop.get("description", "")),
                "",
                schema_table(prop, schema.get("$defs", {})),
            ]
    lines += [
        "",
        "## Editor support",
        "",
        "`specrun schema > specrun.schema.json` writes the JSON Schema this page is made "
        "from; start a spec with `# yaml-language-server: $schema=specrun.schema.json` for "
        "completion and hover help in editors with the YAML language server.",
    ]
    return "\n".join(lines) + "\n"


def estimators_page() -> str:
    from specrun.estimators import ESTIMATORS
    from specrun.tables.statistics import STATISTICS

    lines = ["# Estimators", "", GENERATED, "| estimator | what it fits |", "|---|---|"]
    for name in ESTIMATORS.names():
        lines.append(f"| [`{name}`](#{name}) | {_cell(_doc(ESTIMATORS.get(name).spec))} |")
    for name in ESTIMATORS.names():
        kind = ESTIMATORS.get(name)
        stats = [s for s, d in STATISTICS.items() if name in d.estimators]
        lines += ["", f"## {name}", "", _long_doc(kind.spec), ""]
        facts = []
        if kind.needs_panel:
            facts.append("needs a panel (`data.panel`)")
        if kind.children:
            facts.append(
                "parts addressable as " + ", ".join(f"`<model>.{c}`" for c in kind.children)
            )
        if facts:
            lines += ["*" + "; ".join(facts) + ".*", ""]
        lines.append(options_table(kind.spec))
        lines += [
            "",
            "Keys common to every model (`label`, `sample`, `over`, `center`, "
            "`extends`) are in the [spec reference](spec.md#models).",
        ]
        if stats:
            lines += [
                "",
                "Table statistics: "
                + ", ".join(f"[`{s}`](statistics.md#{s})" for s in stats)
                + ".",
            ]
    return "\n".join(lines) + "\n"


def _registry_page(
    title: str,
    intro: str,
    registry: Any,
    model_of: Callable[[Any], Any],
    key: str,
    skip: tuple[str, ...],
) -> str:
    lines = [f"# {title}", "", GENERATED, intro, "", f"| {key} | what it does |", "|---|---|"]
    for name in registry.names():
        what = _doc(model_of(registry.get(name))).removeprefix(f"kind: {name}: ")
        lines.append(f"| [`{name}`](#{name}) | {_cell(what)} |")
    for name in registry.names():
        model = model_of(registry.get(name))
        lines += ["", f"## {name}", "", _long_doc(model), ""]
        reads = getattr(registry.get(name), "reads", ())
        if reads:
            lines += ["Reads models with estimator " + ", ".join(f"`{r}`" for r in reads) + ".", ""]
        if issubclass(model, BaseModel) and "root" in model.model_fields:
            lines.append(
                f"Takes {type_name(model.model_json_schema(), {})} (see the description above)."
            )
        else:
            lines.append(options_table(model, skip=skip))
    return "\n".join(lines) + "\n"


def transforms_page() -> str:
    from specrun.transforms import TRANSFORMS

    return _registry_page(
        "Transforms",
        "Each step of `transforms:` is a one-key mapping `- <transform>: <options>`; steps run "
        "in order on the panel, and later steps (and models) see the columns earlier ones "
        "made. A variant's `transforms:` apply to that model's data only.",
        TRANSFORMS,
        lambda k: k.options,
        "transform",
        (),
    )


def tables_page() -> str:
    from specrun.tables.base import TableBase
    from specrun.tables.kinds import TABLES

    common = list(TableBase.model_fields)
    return _registry_page(
        "Table kinds",
        "A table is `tables: {<name>: {kind: <kind>, …}}`. Keys every kind takes: "
        + ", ".join(f"`{c}`" for c in common if c != "kind")
        + " (listed under each kind "
        "below too). Statistic names for `stats:` are on [Table statistics](statistics.md).",
        TABLES,
        lambda k: k.spec,
        "kind",
        (),
    )


def figures_page() -> str:
    from specrun.figures import FIGURES

    return _registry_page(
        "Figure kinds",
        "A figure is `figures: {<name>: {kind: <kind>, …}}`, written as "
        "`figures/<name>.png` and `.pdf`.",
        FIGURES,
        lambda k: k.spec,
        "kind",
        (),
    )


def formats_page() -> str:
    import importlib

    from specrun.render import FORMATS

    lines = [
        "# Output formats",
        "",
        GENERATED,
        "`outputs.formats` lists the formats written. Each writes "
        "`tables/<table>.<extension>` per table and one document with every table.",
        "",
        "| format | per table | all tables | renderer |",
        "|---|---|---|---|",
    ]
    for name in FORMATS.names():
        r = FORMATS.get(name)
        # a renderer is imported on first use: its module is named by the Lazy reference
        ref = getattr(r.table, "ref", None)
        module = importlib.import_module(ref.split(":")[0] if ref else r.table.__module__)
        lines.append(
            f"| `{name}` | `tables/<table>.{r.extension}` | "
            f"`{r.document_file or '—'}` | {_cell(_doc(module))} |"
        )
    from specrun.spec.models import DocxOutputSpec, LatexOutputSpec, OutputSpec

    lines += [
        "",
        "## `outputs`",
        "",
        options_table(OutputSpec),
        "",
        "## `outputs.latex`",
        "",
        options_table(LatexOutputSpec),
        "",
        "## `outputs.docx`",
        "",
        options_table(DocxOutputSpec),
    ]
    return "\n".join(lines) + "\n"


def statistics_page() -> str:
    from specrun.tables.descriptive import STAT_HEADERS
    from specrun.tables.statistics import STATISTICS

    lines = [
        "# Table statistics",
        "",
        GENERATED,
        "Names for a regression or IV table's `stats:` list. Each row prints the statistic "
        "for every column whose model has it (an empty cell otherwise). A dotted name reads a "
        "number from a model's `extra` results in `results.json` (e.g. `indirect.sobel_z`, "
        "`indirect.boot_ci_low` of a mediation model). Unknown names are validation errors "
        "listing these names; names from esttab/outreg2 (`N`, `r2_a`, `N_clust`) are answered "
        "with specrun's.",
        "",
        "| name | row label | meaning | source | estimators |",
        "|---|---|---|---|---|",
    ]
    for name, s in STATISTICS.items():
        est = "all" if "*" in s.estimators else ", ".join(f"`{e}`" for e in s.estimators)
        label = s.label or "(the name)"
        lines.append(
            f"| `{name}`{{#{name}}} | {_cell(label)} | "
            f"{_cell(s.meaning)} | {_cell(s.source)} | {est} |"
        )
    lines += [
        "",
        "## Descriptive tables",
        "",
        "A `descriptive` table's `stats:` are columns: "
        + ", ".join(f"`{k}` ({v})" for k, v in STAT_HEADERS.items())
        + ", and any quantile as `p<percent>` (`p25`).",
    ]
    return "\n".join(lines) + "\n"


# every error code: a spec (or a command) that triggers it, and how to fix it
ERROR_EXAMPLES: dict[str, tuple[str, str]] = {
    "yaml": (
        "models:\n  fe: {estimator: panel_fe, y: y\n",
        "Close brackets and quotes; indent with spaces, not tabs; give each key once.",
    ),
    "schema": (
        "models:\n  fe: {estimator: panel_fe, y: y, x: [x], effect: [entity]}\n",
        "Use the key or value the message suggests; the reference pages list every key.",
    ),
    "reference": (
        "models:\n  fe: {estimator: panel_fe, y: y, x: [xx]}\n",
        "Name a column of the data (or one a transform makes), a defined group, sample or "
        "model; the hint names the closest.",
    ),
    "expression": (
        'samples:\n  recent: {where: "year >>= 2005"}\n'
        "models:\n  fe: {estimator: panel_fe, y: y, x: [x], sample: recent}\n",
        "Write the expression with the operators and functions of the expression language: "
        "arithmetic, comparisons, and/or/not, in [...], and the functions "
        + ", ".join(f"{name}()" for name in FUNCTIONS)
        + ".",
    ),
    "term": (
        'models:\n  fe: {estimator: panel_fe, y: y, x: ["x#w"]}\n',
        "Prefix each part of an interaction with c. (continuous) or i. (factor): c.x#c.w.",
    ),
    "data": (
        "models:\n  fe: {estimator: panel_fe, y: y, x: [x]}\n",
        "Check the path (relative to the spec's folder), the encoding (encoding: gb18030) "
        "and the cells the message names.",
    ),
    "estimation": (
        "transforms:\n  - derive: {x2: 2 * x}\n"
        "models:\n  ols: {estimator: ols, y: y, x: [x, x2]}\n",
        "Drop one of the collinear regressors, or a regressor the fixed effects absorb.",
    ),
    "usage": (
        "models:\n  fe: {estimator: panel_fe, y: y, x: [x]}\n",
        "Name a model, table or figure of the spec in --only; give --out a folder of its own.",
    ),
    "scheduler": (
        "models:\n  fe: {estimator: panel_fe, y: y, x: [x]}\n",
        "Give the address the Dask scheduler prints (tcp://host:8786), start one with `dask "
        "scheduler` and `dask worker ADDRESS`, or drop --scheduler to fit locally.",
    ),
    "worker": (
        "",
        "Run again; a worker killed by SIGKILL was most likely out of memory: use fewer "
        "--jobs, or --jobs 1.",
    ),
    "hint": (
        "models:\n  fe: {estimator: panel_fe, y: y, x: [x], se: HC1}\n",
        "Read the advice; change the spec if it describes a mistake (here: Stata's "
        "xtreg, fe vce(robust) is clustered by entity).",
    ),
    "spec": (
        "",
        "specrun itself always names a more specific code; `spec` is what an error raised "
        "without one (e.g. by an extension's estimator) carries. Read the message: it names "
        "the file, line and column.",
    ),
}
ERROR_COMMANDS = {
    "data": ["validate"],
    "estimation": ["run"],
    "usage": ["run", "--only", "nope"],
    "scheduler": ["run", "--no-cache", "--scheduler", "localhost"],
}
EXAMPLE_DATA = "id,year,y,x,w\n" + "".join(
    f"{i},{t},{(i * 7 + t * 3) % 11 + 0.5 * i},{(i * 5 + t) % 7},{(i + t * t) % 5}\n"
    for i in range(1, 7)
    for t in range(2001, 2006)
)


def error_example(code: str) -> tuple[str, str, str]:
    """The spec text, the command and what specrun prints for ``code``'s example."""
    import contextlib
    import io

    from specrun.cli import main

    body, _ = ERROR_EXAMPLES[code]
    path = "data.csv" if code != "data" else "data_missing.csv"
    head = (
        "spec_version: 1\ndata:\n  sources:\n"
        f"    panel: {{path: {path}}}\n  panel: {{source: panel, entity: id, time: year}}\n"
    )
    spec = head + body
    command = ERROR_COMMANDS.get(code, ["validate"])
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "data.csv").write_text(EXAMPLE_DATA, encoding="utf-8")
        Path(folder, "spec.yaml").write_text(spec, encoding="utf-8")
        args = [command[0], str(Path(folder, "spec.yaml")), *command[1:]]
        if command[0] == "run":
            args += ["--out", str(Path(folder, "out"))]
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            main(args)
        shown = (err.getvalue() + out.getvalue()).replace(folder + "/", "").replace(folder, ".")
    lines = [ln for ln in shown.splitlines() if ln.startswith(("error", "warning", "hint"))]
    return (
        spec,
        "specrun "
        + " ".join(
            [
                "spec.yaml" if a.endswith("spec.yaml") else a
                for a in [command[0], "spec.yaml", *command[1:]]
            ]
        ),
        "\n".join(lines),
    )


def errors_page() -> str:
    from specrun.errors import ERROR_CODES

    lines = [
        "# Error codes",
        "",
        GENERATED,
        "Every problem specrun reports is a located error: `file:line:col: path: message "
        "(hint)`, printed without a traceback, all problems of a spec at once; the exit code is "
        "1 (2 for bad usage). Each error carries one of these codes (the Python API's "
        "`SpecError.code`). The examples below are run when this page is built, on a "
        "six-province CSV `data.csv` with columns `id, year, y, x, w`.",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    for code, meaning in ERROR_CODES.items():
        lines.append(f"| [`{code}`](#{code}) | {_cell(meaning)} |")
    for code, meaning in ERROR_CODES.items():
        _, fix = ERROR_EXAMPLES[code]
        lines += ["", f"## {code}", "", meaning, ""]
        if ERROR_EXAMPLES[code][0]:
            spec, command, shown = error_example(code)
            lines += [
                '```yaml title="spec.yaml"',
                spec.rstrip(),
                "```",
                "",
                "```console",
                f"$ {command}",
                shown,
                "```",
                "",
            ]
        lines += [f"**Fix.** {fix}"]
    return "\n".join(lines) + "\n"


def api_page() -> str:
    import specrun.api as api

    lines = [
        "# Python API",
        "",
        GENERATED,
        _long_doc(api),
        "",
        "<!-- python: . -->\n```python\nfrom specrun.api import run_file\n\n"
        'run = run_file("specs/grunfeld.yaml", out="out/grunfeld")\n'
        'fe = run.output.results.models["fe_firm"]\n'
        'print(fe.coefficients["value"].estimate, fe.stats["r2_within"])\n'
        "print(run.folder, [f.relative for f in run.files][:3])\n```",
        "",
    ]
    for name in api.__all__:
        obj = getattr(api, name)
        try:
            signature = f"{name}{inspect.signature(obj)}"
        except (TypeError, ValueError):
            signature = name
        kind = "class" if inspect.isclass(obj) else "def"
        lines += [f"## `{name}`", "", f"```text\n{kind} {signature}\n```", "", _long_doc(obj), ""]
    from specrun.errors import SpecError, SpecErrors

    for obj in (SpecError, SpecErrors):
        lines += [f"## `specrun.errors.{obj.__name__}`", "", _long_doc(obj), ""]
    return "\n".join(lines) + "\n"


# words that mark a test module as a reference test (its numbers come from a peer or a paper)
PEERS = (
    "Stata",
    "R plm",
    "pyfixest",
    "linearmodels",
    "Hansen",
    "Roodman",
    "Wooldridge",
    "lavaan",
    "pymcdm",
    "econcomplex",
    "statsmodels",
    "wildboottest",
    "AER",
    "bacondecomp",
    "pydynpd",
)


def validation_page() -> str:
    """The docstring of every reference test module: which numbers each test compares with."""
    lines = [
        "# Validation: the reference tests",
        "",
        GENERATED,
        "Each section is the opening of a test module of specrun's suite, saying which "
        "published numbers or which peer package (with version and the exact call) its "
        "expected values come from. The tests store those numbers as constants: neither "
        "Stata nor R is needed to run them.",
    ]
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        doc = _module_doc(path)
        if doc and any(peer in doc for peer in PEERS):
            lines += ["", f"## `tests/{path.name}`", "", doc.replace("``", "`")]
    return "\n".join(lines) + "\n"


def _module_doc(path: Path) -> str:
    import ast

    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def pages() -> dict[str, str]:
    """Every generated page, by its path under ``docs/``."""
    return {
        f"{REFERENCE}/spec.md": spec_page(),
        f"{REFERENCE}/estimators.md": estimators_page(),
        f"{REFERENCE}/transforms.md": transforms_page(),
        f"{REFERENCE}/tables.md": tables_page(),
        f"{REFERENCE}/figures.md": figures_page(),
        f"{REFERENCE}/formats.md": formats_page(),
        f"{REFERENCE}/statistics.md": statistics_page(),
        f"{REFERENCE}/errors.md": errors_page(),
        f"{REFERENCE}/api.md": api_page(),
        "validation.md": validation_page(),
    }


# --------------------------------------------------------------------------------------------
# the MkDocs hook


def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages to the site (nothing is written into ``docs/``)."""
    from mkdocs.structure.files import File

    for path, text in pages().items():
        existing = files.get_file_from_path(path)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, path, content=text))
    return files


__all__ = ["on_files", "pages"]
