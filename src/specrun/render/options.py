"""Options every renderer receives, taken from the spec's ``outputs:`` section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RenderOptions:
    """``latex_engine`` (``auto`` | ``pdflatex`` | ``xelatex``) and ``paper`` (``a4`` |
    ``letter``) shape ``tables.tex``; ``latin_font``/``cjk_font`` are Word's fonts for Latin and
    East Asian text; ``figures`` maps a figure's name to its PNG bytes, for documents that embed
    figures (``outputs.docx.figures: true``), and ``captions`` a figure's name to the caption
    text those documents print (its ``title:``; its name when it has none)."""

    latex_engine: str = "auto"
    paper: str = "a4"
    latin_font: str = "Times New Roman"
    cjk_font: str = "SimSun"
    figures: Mapping[str, bytes] = field(default_factory=dict)
    captions: Mapping[str, str] = field(default_factory=dict)
