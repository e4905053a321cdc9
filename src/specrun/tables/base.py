"""What a table kind is: a spec model (``kind:``), the models it reads, and a builder to IR.

Imports neither the table IR nor the results: the kinds' options (``tables.specs``) build on
this module to validate a spec without loading any builder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from pydantic import Field

from specrun.registry import Registry
from specrun.spec.models import RegistryMember, new_list

if TYPE_CHECKING:  # the table IR and results are the builders' business, not validation's
    from specrun.results import ResultSet
    from specrun.tables.ir import Table


# the option of every table kind with significance stars
Stars = Annotated[
    list[float],
    Field(
        default_factory=lambda: [0.1, 0.05, 0.01],
        description="P-value cut-offs of the significance stars: the default prints * at p < 0.1, "
        "** at p < 0.05 and *** at p < 0.01; the notes state them.",
    ),
]


class TableBase(RegistryMember):
    kind: str
    caption: str = Field("", description="Table title.")
    label: str | None = Field(None, description="LaTeX label; defaults to tab:<name>.")
    notes: list[str] = Field(default_factory=new_list, description="Notes printed under the table.")
    digits: int = Field(3, ge=0, le=10, description="Decimals of printed numbers.")
    number: int | None = Field(
        None,
        ge=1,
        description="Printed table number; tables without one follow the spec's order "
        "(a panel right after another panel shares its number).",
    )
    panel: str | None = Field(
        None, description="This table is one panel of its number ('B' prints Table 5, Panel B)."
    )
    size: Literal["normalsize", "small", "footnotesize", "scriptsize"] = Field(
        "normalsize", description="Font size of the table (LaTeX size names; Word: 10.5/9/8/7 pt)."
    )
    landscape: bool | None = Field(
        None,
        description="Print the table on a landscape page: true always, false never (a wide "
        "table is shrunk to the portrait text width); left out, when the table is wider than "
        "a portrait page's text (LaTeX: pdflscape; Word: a landscape section).",
    )
    decimal: bool = Field(
        True,
        description="Align numbers on their decimal point (LaTeX: dcolumn; Word: decimal tab).",
    )
    resize: Literal["auto", "none"] = Field(
        "auto",
        description="auto: shrink the table to the text width when it is wider; none: never.",
    )


T = TypeVar("T", bound=TableBase)


@dataclass(frozen=True)
class TableContext:
    """What a table may know besides results: the name, variable labels (the spec's, else the
    data file's), the spec's groups, and the data's value labels: ``value_labels`` maps a
    factor variable to ``{level: label}`` (``{"regcode": {"2": "West"}}``, a Stata file's
    ``label values``), which row labels print in place of the level; ``member_labels`` maps an
    ``over:`` family's member (``by_region.2``) to its value's label (``West``), which column
    headers and coefplot ticks print in place of the value."""

    name: str
    labels: Mapping[str, str]
    groups: Mapping[str, tuple[str, ...]]
    language: str = "en"
    warnings: list[str] = field(default_factory=list)  # what a reader might misread, by table
    value_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    member_labels: Mapping[str, str] = field(default_factory=dict)
    # the panel's index as notes name it: {"entity": "province", "time": "year"} in English,
    # the columns' Chinese labels in Chinese where they have them; empty without a panel
    index_names: Mapping[str, str] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        """Report something the table prints correctly but a reader could misread."""
        self.warnings.append(message)

    def text(self, phrase: str) -> str:
        """A generated phrase (``Yes``, ``N``, a column header) in the output language."""
        from specrun.tables import text

        return text.translate(phrase, self.language)

    def covariance(self, se_type: str) -> str:
        """A model's covariance description (``se_type``) as a note prints it, with the panel's
        index named (``clustered by province``; :func:`text.covariance_text`)."""
        from specrun.tables import text

        return text.covariance_text(se_type, self.language, self.index_names)

    def index_name(self, index: str) -> str:
        """The panel's ``entity`` or ``time`` as a note names it (``text.index_name``)."""
        from specrun.tables import text

        return text.index_name(index, self.language, self.index_names)


@dataclass(frozen=True)
class TableKind(Generic[T]):
    """A table kind: its options model (``kind:``), its builder, and the models it reads."""

    name: str
    spec: type[T]
    build: Callable[[T, ResultSet, TableContext], Table]
    models: Callable[[T], list[str]]  # model (or family) names the table reads
    reads: tuple[str, ...] = ()  # estimators whose results it can print; empty: any
    # reads its models' percentiles of each regressor (``ModelResult.distributions``), which
    # fits record only for models such a table or figure reads
    reads_distributions: bool = False


TABLES: Registry[TableKind[Any]] = Registry("table kind")


def table_numbers(tables: Mapping[str, TableBase]) -> dict[str, tuple[str, str]]:
    """Printed (number, panel) of every table, in the spec's order.

    A table's ``number:`` sets its number and the count continues from it; a table with
    ``panel:`` and no number shares the number of the table before it when that one is a panel
    too (Panel A, then Panel B); any other table takes the next number.
    Numbers never depend on which tables a run builds (``--only``).
    """
    numbers: dict[str, tuple[str, str]] = {}
    current = 0
    previous_panel = False
    for name, table in tables.items():
        if table.number is not None:
            current = table.number
        elif table.panel is None or not previous_panel:
            current += 1
        numbers[name] = (str(current), table.panel or "")
        previous_panel = table.panel is not None
    return numbers


def with_layout(table: Table, spec: TableBase, number: tuple[str, str], language: str) -> Table:
    """The built table with its number, panel, size, orientation and language set from the spec."""
    from specrun.tables.ir import Layout

    layout = Layout(
        number=number[0],
        panel=number[1],
        size=spec.size,
        landscape=spec.landscape,
        resize=spec.resize == "auto",
        language=language,
        decimal=spec.decimal,
    )
    return replace(table, layout=layout)
