"""Options of the ``entropy_index`` transform, checked without numpy; the index is computed
by ``specrun.transforms.entropy``, imported on first use."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from specrun.registry import Lazy
from specrun.transforms.base import TRANSFORMS, TransformKind, TransformOptions

_DIRECTIONS: dict[str, Literal["+", "-"]] = {
    "+": "+",
    "positive": "+",
    "benefit": "+",
    "-": "-",
    "negative": "-",
    "cost": "-",
}


class EntropyIndexOptions(TransformOptions):
    """Options of ``entropy_index`` (entropy-weight composite index)."""

    indicators: dict[str, str] = Field(
        min_length=2,
        description="Indicator column → direction: '+' (or 'positive', 'benefit') when more "
        "is better, '-' (or 'negative', 'cost') when less is better. Order is kept in the "
        "weights table.",
    )
    output: str = Field(description="Name of the index column added to the panel.")
    normalize: Literal["minmax", "sum"] = Field(
        "minmax",
        description="'minmax': (x - min) / (max - min), or (max - x) / (max - min) for '-'. "
        "'sum': x / sum(x), or (1/x) / sum(1/x) for '-' (pymcdm's sum normalisation).",
    )
    shift: float | None = Field(
        None,
        ge=0,
        description="Added to every normalised value so that no p is 0 before its log; "
        "default 0.0001 with minmax and 0 with sum.",
    )
    weights: Literal["pooled", "year"] = Field(
        "pooled",
        description="'pooled': one set of weights from all rows. 'year': normalisation, "
        "weights and index computed within each year of the panel's time column.",
    )
    scale: float = Field(1.0, gt=0, description="Multiplies the index (e.g. 100).")
    missing: Literal["error", "drop"] = Field(
        "error",
        description="'error': a null indicator value stops the run, naming it. 'drop': rows "
        "with a null indicator are left out of the weights and get a null index (reported).",
    )

    @field_validator("indicators")
    @classmethod
    def _known_directions(cls, indicators: dict[str, str]) -> dict[str, str]:
        normalized: dict[str, str] = {}
        for name, direction in indicators.items():
            key = str(direction).strip().lower()
            if key not in _DIRECTIONS:
                raise ValueError(
                    f"indicator '{name}': direction '{direction}' is not one of "
                    + ", ".join(repr(d) for d in _DIRECTIONS)
                )
            normalized[name] = _DIRECTIONS[key]
        return normalized

    @property
    def effective_shift(self) -> float:
        if self.shift is not None:
            return self.shift
        return 0.0001 if self.normalize == "minmax" else 0.0


def weights_artifact_key(output: str) -> str:
    """Key of the weights frame in the run's artifacts: ``"weights.<output>"``."""
    return f"weights.{output}"


TRANSFORMS.register("entropy_index")(
    TransformKind(
        "entropy_index",
        EntropyIndexOptions,
        Lazy("specrun.transforms.entropy:apply_entropy_index"),
        lambda o: list(o.indicators),
        lambda o: [o.output],
    )
)
