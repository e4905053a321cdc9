"""Options of the ``group_mean`` transform (Stata's ``bysort g: egen m = mean(x)``), checked
without numpy; the means are ``specrun.transforms.group_mean``, imported on first use."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from specrun.registry import Lazy
from specrun.transforms.base import TRANSFORMS, TransformKind, TransformOptions


class GroupMeanOptions(TransformOptions):
    """Options of ``group_mean``: each row gets the mean of a variable over its group's rows,
    or, with ``leave_out: true``, over the group's other rows (the mean of the other firms of
    its industry and year, a common instrument)."""

    vars: list[str] = Field(min_length=1, description="Panel columns to average.")
    by: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1,
        description="Columns whose combinations are the groups (industry and year: "
        "[industry, year]); a single column may be written without brackets.",
    )
    leave_out: bool = Field(
        False,
        description="Average over the group's other rows, leaving the row's own value out "
        "(the leave-one-out mean); a row alone in its group with a value gets a missing one.",
    )
    name: str = Field(
        "{var}_mean",
        description="Template of the new column's name with a '{var}' placeholder.",
    )

    @field_validator("by", mode="before")
    @classmethod
    def _one_column(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _name_has_var(cls, template: str) -> str:
        if "{var}" not in template:
            raise ValueError("the name template must contain '{var}'")
        rest = template.replace("{var}", "")
        if "{" in rest or "}" in rest:
            raise ValueError("the name template takes only '{var}' as a placeholder")
        return template

    def output_name(self, var: str) -> str:
        """The new column's name for ``var``: ``{var}`` replaced literally."""
        return self.name.replace("{var}", var)


TRANSFORMS.register("group_mean")(
    TransformKind(
        "group_mean",
        GroupMeanOptions,
        Lazy("specrun.transforms.group_mean:apply_group_mean"),
        lambda o: [*o.vars, *o.by],
        lambda o: [o.output_name(v) for v in o.vars],
    )
)
