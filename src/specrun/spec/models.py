"""The spec's pydantic models: what a valid spec file is, section by section.

Models, transforms and tables are unions over registries (``estimator:``, the transform's key,
``kind:``), assembled in ``spec.schema`` once every registry is populated. Fields that hold
variable names are typed ``VarName`` / ``VarList`` so that one generic checker can verify and
expand them (``$controls``) without knowing any estimator.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)


class VariableRef:
    """Marks a field as naming panel variables as model terms (``specrun.data.terms``):
    checked at validation, ``$group`` expanded, built into columns before the estimator runs.

    ``single``: the field holds one term of one column (``y: D.Expy``, ``q: L.STR``), so no
    factor, interaction or operator range. ``lags_only``: the estimator applies time-series
    operators itself (the GMM kernels' ``L.w``), so only ``L.``/``L#.`` are allowed and the
    executor leaves the items as written.
    """

    def __init__(self, *, single: bool = False, lags_only: bool = False) -> None:
        self.single = single
        self.lags_only = lags_only


TERM_DESCRIPTION = (
    "A model term as Stata writes it: a variable (Dige); time-series operators on the panel's "
    "time index, gaps respected (L.Dige, L2.Dige, L(0/2).Dige, F.Dige, D.Dige, LD.Dige); "
    "factors (i.region, ib3.region, ib(last).region, ibn.region); interactions with c. or i. "
    "on every part (c.Dige#c.STR, i.treat#c.post, i.region##c.Dige, c.L.Dige#c.STR); $group "
    "expands a group and L.($controls) applies operators to each member. Quote an item with "
    "spaces: in YAML ' #' starts a comment."
)
# For editors only: validation parses terms with the grammar and reports located errors.
TERM_SCHEMA = {
    "type": "string",
    "pattern": r"^\S(.*\S)?$",
    "description": TERM_DESCRIPTION,
    "examples": ["Dige", "L.Dige", "c.Dige#c.STR", "i.region", "$controls", "L.($controls)"],
}

VarName = Annotated[str, VariableRef(single=True), WithJsonSchema(TERM_SCHEMA)]
VarList = Annotated[list[Annotated[str, WithJsonSchema(TERM_SCHEMA)]], VariableRef()]
TermList = Annotated[list[Annotated[str, WithJsonSchema(TERM_SCHEMA)]], VariableRef(lags_only=True)]


def new_list() -> list[Any]:
    """A new empty list: the ``default_factory`` of list fields, in place of ``list``.

    pydantic reads every factory's signature (it may take the validated data); ``list``'s is
    parsed from its text signature with ``tokenize`` (~0.2 ms a field, ~5 ms of validating the
    paper spec, with the tokenizer's regex compiled on first use), a Python function's is not."""
    return []


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryMember(StrictModel):
    """Base of the options of a registry's members (estimators, table and figure kinds,
    transform steps): their validators are built on first use, not when their class is
    defined, so that validating a spec builds only the members it names (each registry is one
    union of ~10 members; building them all costs ~0.1 s at start-up, see
    ``spec.schema.validate_tagged``). Models they share (``CovarianceSpec``, ``SampleSpec``)
    stay ``StrictModel``: built once at import, reused by every member that nests them."""

    model_config = ConfigDict(defer_build=True)


class GeneratedIndex(StrictModel):
    """Entity and period columns for a file stored entity-major without them (Hansen's data)."""

    entity: str = Field(description="Name of the entity column to create (numbered from 1).")
    time: str = Field(description="Name of the period column to create.")
    periods: int = Field(ge=1, description="Periods per entity (rows are entity-major).")
    start: int = Field(1, description="The first period's value.")

    @model_validator(mode="after")
    def _distinct(self) -> GeneratedIndex:
        if self.entity == self.time:
            raise ValueError(f"entity and time are both '{self.entity}': name two columns")
        return self


class SourceSpec(StrictModel):
    path: str = Field(description="File path, relative to the spec file's folder.")
    format: Literal["csv", "tsv", "parquet", "excel", "stata", "whitespace"] | None = Field(
        None, description="File format; inferred from the extension when omitted."
    )
    columns: list[str] | None = Field(
        None, description="Column names for a headerless whitespace-separated text file."
    )
    sheet: str | Annotated[int, Field(ge=1)] | None = Field(
        None, description="Excel sheet: its name, or its number counting from 1."
    )
    index: GeneratedIndex | None = Field(
        None, description="Create entity and period columns for an entity-major file."
    )
    null_values: list[str] = Field(
        default_factory=lambda: ["", "NA", ".", "..", "-", "—", "–", "--"],
        description="Cells read as missing (in text files, and text cells of Excel and Stata "
        "files); the default also takes the codes "
        "statistical offices print for missing values: '..', '-', '—', '–', and Wind's '--'.",
    )
    infer_rows: Annotated[int, Field(ge=1)] | Literal["all"] = Field(
        10_000,
        description="CSV/TSV: how many rows decide each column's type; 'all' reads the whole "
        "file first (slow on large files). A later row that breaks the type is an error naming "
        "its line and column.",
    )
    encoding: str | None = Field(
        None,
        description="Text encoding of a CSV/TSV file, e.g. gb18030 or gbk for many Chinese "
        "statistical exports; default UTF-8 (with or without a byte-order mark). Also of a "
        "Stata 13 or older .dta file (format below 118), whose text is in the encoding of the "
        "computer that wrote it (Stata 14's unicode translate); Stata 14 and later files are "
        "UTF-8.",
    )
    header_row: Annotated[int, Field(ge=1, le=1000)] = Field(
        1,
        description="Row holding the column names, counting from 1 (Excel, CSV, TSV); rows "
        "above it (a title, a unit line) are skipped, as Stata's import excel, cellrange(A2).",
    )
    thousands: Literal[",", ".", " ", "'", "_"] | None = Field(
        None,
        description="Thousands separator of numbers stored as text ('1,234.5'): a text column "
        "whose every cell is a number once it is removed is read as numbers.",
    )
    decimal: Literal[".", ","] = Field(
        ".",
        description="Decimal mark of numbers. ',' reads '3,14' as 3.14, as Stata's import "
        "delimited, decimalseparator(,) and R's read.csv2 or readr's locale(decimal_mark = "
        '",") do (European and some Chinese statistical exports), in CSV/TSV cells, quoted '
        "or not, and in text cells of every format; with thousands: '.', '1.234,5' reads as "
        "1234.5. A cell with a '.' is then no number (1.234 could be 1.234 or 1234), unless "
        "'.' is the thousands separator: its column stays text, and a model reading it names "
        "the cell. Such files usually separate fields with ';' (separator:).",
    )
    separator: str | None = Field(
        None,
        description="Field separator of a CSV/TSV file, one character: ';' (files saved where "
        "the decimal mark is a comma; Stata's import delimited, delimiters(\";\"), R's "
        "read.csv2), '|', or a tab (written \"\\t\" or tab). Default ',' for .csv, a tab for "
        ".tsv. On a .txt or .dat file it reads the file as delimited text with a header rather "
        'than whitespace-separated numbers. Fields holding the separator are quoted ("a;b").',
    )
    percent: bool = Field(
        False,
        description="Read text cells like '12.5%' as 0.125 (Stata's destring, percent): a text "
        "column whose every cell is a number or a percentage is read as numbers.",
    )
    ignore: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Text removed from text cells before they are read as numbers, as Stata's "
        "destring, ignore(\"年\"): ignore: [年] reads a column of '2012年' as 2012; a text "
        "column whose every cell is a number once these are removed is read as numbers.",
    )

    @field_validator("ignore")
    @classmethod
    def _not_in_numbers(cls, texts: list[str]) -> list[str]:
        # removing a digit or the decimal point from every text cell changes the numbers
        # silently ('35.2亿元' with ignore: ['.', 亿元] read as 352)
        for text in texts:
            if re.fullmatch(r"[0-9.]+", text):
                raise ValueError(
                    f"ignore: '{text}' would be removed from inside the numbers too (35.2 "
                    "read as 352); a '.' thousands separator is thousands: '.'"
                    if "." in text
                    else f"ignore: '{text}' would be removed from inside the numbers too "
                    "(2010 read as 21)"
                )
        return texts

    @field_validator("decimal")
    @classmethod
    def _decimal_not_thousands(cls, mark: str, info: ValidationInfo) -> str:
        # '1.234' with both '.' could be 1.234 or 1234: neither reading is safe to pick
        if info.data.get("thousands") == mark:
            raise ValueError(
                f"decimal: '{mark}' is also the thousands separator (thousands: '{mark}'); "
                "'1.234,5' is decimal: ',' with thousands: '.'"
            )
        return mark

    @field_validator("separator")
    @classmethod
    def _one_character(cls, text: str | None, info: ValidationInfo) -> str | None:
        if text is None:
            return None
        # YAML keeps \t unquoted as two characters; Stata writes delimiters(tab)
        separator = "\t" if text in ("\\t", "tab") else text
        folded = unicodedata.normalize("NFKC", separator)
        if len(separator) != 1 or not separator.isascii():
            wide = len(separator) == 1 and len(folded) == 1 and folded.isascii()
            raise ValueError(
                f"separator '{text}' is full-width: write separator: '{folded}'"
                if wide
                else f"separator must be one character (',', ';', '|' or \"\\t\" for a tab), "
                f"got '{text}' ({len(text)} characters)"
                if len(separator) != 1
                else f"separator '{text}' is not an ASCII character: CSV readers split fields "
                "on one byte"
            )
        if separator in '"\r\n':
            raise ValueError(
                "separator cannot be a quote or a line end: quotes enclose fields, line ends "
                "end rows"
            )
        # decimal comes first in the source's fields, so it is validated here; a thousands
        # separator equal to the field separator stays allowed: quoted cells ("1,234.5")
        # are how comma-separated files hold such numbers
        mark = info.data.get("decimal", ".")
        if separator == mark:
            raise ValueError(
                f"separator '{text}' is also the decimal mark (decimal: '{mark}'): an unquoted "
                "3,14 would be two fields; files with a decimal comma separate fields with ';' "
                "(separator: ';')"
            )
        return separator

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import codecs

        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(
                f"unknown encoding '{value}' (e.g. utf-8, gb18030, gbk, big5, latin-1)"
            ) from None


class PanelSpec(StrictModel):
    source: str = Field(description="The source holding the panel (one row per entity-time).")
    entity: str = Field(description="Entity (cross-section) identifier column.")
    time: str = Field(description="Time period column.")
    drop_missing_keys: bool = Field(
        False,
        description=(
            "Drop (and count) rows whose entity or time is missing; by default such rows are "
            "an error naming them (a missing key is never an entity or a period of its own)."
        ),
    )

    @model_validator(mode="after")
    def _distinct(self) -> PanelSpec:
        if self.entity == self.time:
            raise ValueError(f"entity and time are both '{self.entity}': name two columns")
        return self


ROW_INDEX = "_row"  # the row number that stands in for the entity of a cross-section
NO_PERIOD = "_period"  # the single period of a cross-section


class DataSpec(StrictModel):
    """Sources, and either a panel (entity × time) or, for a cross-section, the main source."""

    sources: dict[str, SourceSpec] = Field(
        description="Input files by name (a name is how panel, main and transforms refer to "
        "them); each a CSV, TSV, Excel, Stata, Parquet or whitespace-separated file."
    )
    panel: PanelSpec | None = Field(
        None, description="The panel and its index; omit it for a cross-section."
    )
    main: str | None = Field(
        None,
        description="Without a panel: the source that models read (default: the only source).",
    )

    @model_validator(mode="after")
    def _main_source(self) -> DataSpec:
        if self.panel is not None and self.main is not None:
            raise ValueError("give either panel or main, not both (the panel names its source)")
        if self.panel is None and self.main is None and len(self.sources) != 1:
            raise ValueError(
                "without a panel, 'main' must name the source models read "
                f"(there are {len(self.sources)} sources)"
            )
        return self

    @property
    def frame_source(self) -> str:
        """The source the analysis frame starts from."""
        if self.panel is not None:
            return self.panel.source
        return self.main or next(iter(self.sources))

    @property
    def index(self) -> tuple[str, str]:
        """Entity and time columns: the panel's, or a row number and one period."""
        if self.panel is not None:
            return self.panel.entity, self.panel.time
        return ROW_INDEX, NO_PERIOD


class LocalizedText(StrictModel):
    """The same text in each output language; a missing language falls back to the other."""

    en: str | None = Field(None, description="The English text (outputs.language: en).")
    zh: str | None = Field(None, description="The Chinese text (outputs.language: zh).")

    def get(self, language: str) -> str | None:
        own = self.zh if language == "zh" else self.en
        return own if own is not None else (self.en if self.en is not None else self.zh)


class VariableSpec(StrictModel):
    label: Annotated[str, StringConstraints(max_length=200)] | LocalizedText | None = Field(
        None,
        description="Label printed in tables and figures: text, or {en: ..., zh: ...} per "
        "language (at most 200 characters).",
    )
    description: str | None = Field(
        None, description="A note on the variable for readers of the spec; never printed."
    )

    def label_in(self, language: str) -> str | None:
        """The label in ``language`` (``outputs.language``)."""
        if isinstance(self.label, LocalizedText):
            return self.label.get(language)
        return self.label


class SampleSpec(StrictModel):
    where: str | None = Field(None, description="Row filter, in specrun's expression language.")
    time: tuple[int | None, int | None] | None = Field(
        None, description="Inclusive time window [first, last]; null leaves a side open."
    )
    exclude: dict[str, list[str | int | float]] | None = Field(
        None, description="Rows whose column takes one of these values are dropped."
    )
    label: str | None = Field(
        None, description="How tables and notes name the sample (default: its key)."
    )

    @model_validator(mode="after")
    def _not_empty(self) -> SampleSpec:
        if self.where is None and self.time is None and self.exclude is None:
            raise ValueError("a sample needs at least one of: where, time, exclude")
        return self

    @field_validator("time")
    @classmethod
    def _window_in_order(
        cls, window: tuple[int | None, int | None] | None
    ) -> tuple[int | None, int | None] | None:
        # a reversed window keeps no row: every model said its sample matches none
        if window is not None and None not in window and window[0] > window[1]:
            raise ValueError(
                f"the time window [{window[0]}, {window[1]}] is reversed: write "
                f"[{window[1]}, {window[0]}]"
            )
        return window


# The quantile definitions a spec may name wherever it asks for quantiles (winsorize,
# descriptive), as numpy.quantile methods (Hyndman and Fan 1996): ``stata`` is type 2, the
# averaged inverted empirical CDF of Stata's _pctile and summarize, detail (R quantile(type = 2));
# ``linear`` is type 7, R's and numpy's default.
QuantileDefinition = Literal["stata", "linear"]
QUANTILE_METHODS = {"stata": "averaged_inverted_cdf", "linear": "linear"}

# Most resampling draws a spec may ask for (bootstrap, permutations): beyond it a run would
# exhaust memory (draws × rows) long before the Monte-Carlo error mattered.
MAX_DRAWS = 100_000


class WildBootstrapSpec(StrictModel):
    """Wild cluster bootstrap (WCR, null imposed) p-values and confidence intervals for every
    slope, as Stata's ``boottest`` (Roodman, MacKinnon, Nielsen and Webb 2019); for few
    clusters. Reported in the model's ``extra.wild_bootstrap``."""

    draws: int = Field(
        9999,
        ge=99,
        le=MAX_DRAWS,
        description="Bootstrap samples (Rademacher weights with "
        "2^G at most this many enumerate all 2^G sign vectors instead).",
    )
    weights: Literal["webb", "rademacher"] = Field(
        "webb", description="Webb's six-point weights (advised below about 12 clusters) or ±1."
    )
    seed: int = Field(ge=0, le=2**63 - 1, description="Seed of the random weights.")
    level: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")


SE_TYPES = ("unadjusted", "HC0", "HC1", "HC2", "HC3", "cluster", "driscoll_kraay")
SE_DESCRIPTIONS = {
    "unadjusted": "conventional",
    "HC0": "heteroskedasticity-robust (HC0)",
    "HC1": "heteroskedasticity-robust",
    "HC2": "heteroskedasticity-robust (HC2)",
    "HC3": "heteroskedasticity-robust (HC3)",
    "driscoll_kraay": "Driscoll–Kraay",
}


class CovarianceSpec(StrictModel):
    """Standard errors: a type, and the columns to cluster by.

    ``type``: ``unadjusted``; ``HC0``–``HC3`` (``robust`` is ``HC1``); ``cluster`` with
    ``cluster:`` naming one or more columns (``entity``/``time`` name the panel index; two or
    more give Cameron–Gelbach–Miller multiway clustering); ``driscoll_kraay`` (Stata ``xtscc``,
    with a ``lags:`` bandwidth). Stata's ``xtreg, fe vce(robust)`` is NOT HC1: it is clustered by
    entity (``se: {cluster: entity}``).

    ``convention`` names the small-sample correction: ``stata`` (default; reghdfe's rule, equal
    to ``xtreg, fe vce(cluster id)`` / ``regress`` where those apply: absorbed effects nested in a
    cluster variable leave K), ``areg`` (every absorbed level counts in K), ``plm`` (R plm
    ``vcovHC``/``vcovDC``/``vcovSCC`` with ``type = "HC1"``, n/(n−k)) or ``linearmodels``
    (linearmodels' own covariance, with its defaults).
    """

    type: Literal["unadjusted", "HC0", "HC1", "HC2", "HC3", "cluster", "driscoll_kraay"] = Field(
        "unadjusted",
        description="Covariance type; 'robust' is HC1. Stata's xtreg, fe vce(robust) is not HC1 "
        "but clustered by entity (cluster: entity).",
    )
    cluster: list[str] | str | None = Field(
        None,
        description="Columns to cluster by (entity/time name the panel index; so do the "
        "panel's own column names).",
    )
    lags: int | None = Field(
        None,
        ge=0,
        description="Driscoll–Kraay bandwidth (Bartlett lags); default floor(4(T/100)^(2/9)) as "
        "xtscc.",
    )
    convention: Literal["stata", "areg", "plm", "linearmodels"] = Field(
        "stata",
        description="Small-sample correction of robust and clustered SEs: stata (reghdfe's K; "
        "equals xtreg, fe vce(cluster id)), areg (every absorbed level counts in K), plm (R "
        "vcovHC type HC1) or linearmodels (its own defaults).",
    )
    bootstrap: WildBootstrapSpec | None = Field(
        None, description="Wild cluster bootstrap inference besides the clustered SEs."
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = {"type": value}
        elif not isinstance(value, dict | CovarianceSpec):
            # pydantic would name this class ("a valid dictionary or instance of
            # CovarianceSpec"): say the two forms a user can write instead
            shown = repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:57]}…"
            raise ValueError(
                "se is a covariance type (unadjusted, robust, HC0–HC3, cluster, "
                f"driscoll_kraay) or a mapping such as {{cluster: entity}}, got {shown}"
            )
        if isinstance(value, dict):
            if value.get("type") == "robust":
                value = {**value, "type": "HC1"}
            if "cluster" in value:
                cluster = value["cluster"]
                value = {**value, "cluster": [cluster] if isinstance(cluster, str) else cluster}
                value.setdefault("type", "cluster")
        return value

    @model_validator(mode="after")
    def _cluster_named(self) -> CovarianceSpec:
        if self.type == "cluster" and not self.cluster:
            raise ValueError(
                "clustered standard errors need 'cluster:' and one or more columns: write "
                "se: {cluster: entity} (Stata's vce(cluster id)), or name any columns, as "
                "se: {cluster: [entity, time]}"
            )
        if self.type != "cluster" and self.cluster:
            raise ValueError(f"'{self.type}' standard errors take no cluster")
        if self.bootstrap is not None and (self.type != "cluster" or len(self.cluster or []) != 1):
            raise ValueError(
                "the wild cluster bootstrap needs one cluster variable: "
                "'cluster: entity' or 'cluster: time'"
            )
        if self.cluster and len(set(self.cluster)) != len(self.cluster):
            raise ValueError("a cluster column is named twice")
        if self.lags is not None and self.type != "driscoll_kraay":
            raise ValueError("'lags' is the Driscoll–Kraay bandwidth (type: driscoll_kraay)")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        # the shorthand 'se: robust' is a plain string
        shorthand = ["unadjusted", "robust", "HC0", "HC1", "HC2", "HC3", "driscoll_kraay"]
        return {"anyOf": [{"enum": shorthand}, handler(core_schema)]}

    @property
    def clusters(self) -> list[str]:
        """The cluster columns as a list (the shorthand string is normalised on input)."""
        return [self.cluster] if isinstance(self.cluster, str) else list(self.cluster or [])

    def describe(self) -> str:
        if self.type == "cluster":
            dims = " and ".join(self.clusters)
            return f"clustered by {dims}"
        return SE_DESCRIPTIONS[self.type]

    def column_refs(self, field: str = "se") -> list[tuple[str, tuple[str | int, ...]]]:
        """Cluster columns other than the panel index, with their path under the model."""
        return [
            (name, (field, "cluster", i))
            for i, name in enumerate(self.clusters)
            if name not in ("entity", "time")
        ]


class ModelBase(RegistryMember):
    """Keys every model takes, whatever its estimator."""

    # groups of variable fields no two of which may name the same variable (IV's x, endog and
    # instruments): validation reports a name in two of them where it is written the second
    # time. The dependent variable among the others and a name twice in one list are checked
    # for every estimator (``ReferenceChecks.check_repeats``).
    exclusive_fields: ClassVar[tuple[tuple[str, ...], ...]] = ()

    estimator: str
    label: str | None = Field(None, description="Column title in tables.")
    sample: str | SampleSpec | None = Field(None, description="A named sample or an inline one.")
    over: str | None = Field(
        None, description="Fit one model per value of this column (named <model>.<value>)."
    )
    center: list[str] = Field(
        default_factory=new_list,
        description="Variables demeaned on the model's estimation sample wherever they enter "
        "(main effects and interactions), so that main effects read as effects at the mean.",
    )

    def variable_refs(self) -> list[tuple[str, tuple[str | int, ...]]]:
        """Variables named outside VarName/VarList fields, with their path in the model."""
        return []

    def distinct_lists(self) -> list[tuple[tuple[str | int, ...], list[Any], str]]:
        """Lists other than the variable lists (which validation checks for repeats as terms)
        in which an item written twice is a mistake: each list's path in the model, its items
        and its name in messages. Here ``center:``; estimators add their own (GMM's ``iv:``)."""
        return [(("center",), list(self.center), "center")]

    def model_refs(self) -> list[tuple[str, tuple[str | int, ...]]]:
        """Other models this one reads the results of (a Hausman test's fe and re), with their
        path in the model; the plan fits those first and the fit receives their results."""
        return []

    def strict_columns(self) -> list[str]:
        """Columns whose missing values are errors instead of rows dropped (weights)."""
        return []

    def group_columns(self) -> list[str]:
        """Columns used only as group labels — absorbed effects and cluster variables — which,
        like Stata's ``absorb()`` and ``vce(cluster)`` variables, may hold text."""
        return [name for name, path in self.variable_refs() if path[0] in ("absorb", "se")]

    def hints(self) -> list[tuple[str, tuple[str | int, ...]]]:
        """Advice for a valid but likely unintended setting, with its path in the model."""
        return []


class LatexOutputSpec(StrictModel):
    """``outputs.latex``: the engine ``tables.tex`` is written for, its paper, compiling it."""

    engine: Literal["auto", "pdflatex", "xelatex"] = Field(
        "auto",
        description="Engine tables.tex is written for: auto picks XeLaTeX with ctex when any "
        "text is Chinese, pdflatex otherwise.",
    )
    paper: Literal["a4", "letter"] = Field("a4", description="Paper size of tables.tex.")
    compile: bool = Field(
        False,
        description="Compile tables.tex into tables.pdf and warn, naming the table, when one "
        "is wider than the text.",
    )


class DocxOutputSpec(StrictModel):
    """``outputs.docx``: Word's fonts for Latin and East Asian text, embedded figures."""

    latin_font: str = Field("Times New Roman", description="Font of Latin text in Word tables.")
    cjk_font: str = Field("SimSun", description="Font of Chinese text in Word tables (宋体).")
    figures: bool = Field(False, description="Append the run's figures to tables.docx.")


class OutputSpec(StrictModel):
    dir: str = Field("out", description="Output folder, relative to the spec file's folder.")
    formats: list[Literal["latex", "markdown", "html", "docx", "xlsx"]] = Field(
        default_factory=lambda: ["latex", "markdown"],
        description="Table formats written: latex (.tex, tables.tex), markdown, html, docx "
        "(Word) and xlsx (Excel); one file per table and one document with all.",
    )
    analysis: Literal["parquet", "csv", "none"] = Field(
        "parquet",
        description="The model-ready panel (the columns models use, after all transforms): "
        "analysis.parquet, analysis.csv, or not written.",
    )
    language: Literal["en", "zh"] = Field(
        "en", description="Language of generated table text (notes, Yes/No, N, headers)."
    )
    latex: LatexOutputSpec = Field(
        default_factory=LatexOutputSpec,
        description="tables.tex: engine (pdflatex or XeLaTeX with ctex), paper, compiling.",
    )
    docx: DocxOutputSpec = Field(
        default_factory=DocxOutputSpec,
        description="Word output: Latin and Chinese fonts, whether figures are appended.",
    )
