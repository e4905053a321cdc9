"""Fonts for Chinese (CJK) text in figures.

Matplotlib's default font (DejaVu Sans) has no CJK glyphs: a Chinese label prints as empty
boxes with one "Glyph … missing from font(s)" warning per character. Figures are drawn with
the family list [<default family>, <a CJK font>], so Latin text and the minus sign keep the
default font and each ideograph falls back to the CJK font (matplotlib ≥ 3.6 font fallback).
The CJK font is found through matplotlib's font manager; fonts installed after matplotlib
built its cache are picked up from the system's font folders.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from matplotlib import font_manager, rc_context, rcParams
from matplotlib.figure import Figure
from matplotlib.text import Text

from specrun.errors import SpecError
from specrun.tables.text import has_cjk

# Simplified-Chinese faces first (the glyph shapes Chinese readers expect), then the rest.
PREFERRED = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Serif SC",
    "SimHei",
    "SimSun",
    "Microsoft YaHei",
    "PingFang SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
)
FILE_HINTS = ("cjk", "sourcehan", "wqy", "uming", "ukai", "simsun", "simhei", "msyh", "droidsans")
INSTALL_HINT = (
    "install a CJK font, e.g. on Debian/Ubuntu 'apt-get install fonts-noto-cjk' "
    "(or fonts-wqy-zenhei); on macOS and Windows one is installed already"
)


def _known() -> set[str]:
    return {entry.name for entry in font_manager.fontManager.ttflist}


@cache
def cjk_font() -> str | None:
    """The name of an installed CJK font, or None when the system has none."""
    known = _known()
    for name in PREFERRED:
        if name in known:
            return name
    for path in font_manager.findSystemFonts():
        if any(hint in Path(path).name.lower() for hint in FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue  # a font file FreeType cannot read: try the next one
    known = _known()
    return next((name for name in PREFERRED if name in known), None)


@contextmanager
def cjk_fallback() -> Iterator[None]:
    """Draw with a CJK font behind the default family, when the system has one.

    Text keeps the default font; only glyphs it lacks (ideographs) come from the CJK font, so
    figures without CJK text are drawn as before. Without a CJK font, matplotlib's
    missing-glyph warnings (which name its source files) are held back: :func:`check_cjk_text`
    reports the problem once, with the fix.

    Text is also drawn as written, never parsed as mathtext: titles, labels and category names
    are the user's, and a ``$`` in them ("US$ per capita", "$5 to $10") was read as the start
    of a formula, printed in math italics or, when not valid TeX, raised from deep inside
    matplotlib. (The rcParam is read when a Text is made, so drawing and saving both need it.)
    """
    font = cjk_font()
    literal = {"text.parse_math": False}
    if font is None:
        with warnings.catch_warnings(), rc_context(literal):
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
            yield
        return
    with rc_context({"font.family": [*rcParams["font.family"], font], **literal}):
        yield


def check_cjk_text(figure: Figure, name: str) -> None:
    """Raise a SpecError naming the figure when it holds CJK text and no CJK font is
    installed (it would print as empty boxes), with the package to install."""
    if cjk_font() is not None:
        return  # nothing to look for: walking every artist made every axis' ticks
    texts = [t.get_text() for t in figure.findobj(Text) if isinstance(t, Text)]
    if any(has_cjk(t) for t in texts):
        raise SpecError(
            f"figure '{name}' has Chinese text, but no CJK font is installed",
            code="data",
            path=f"figures.{name}",
            hint=INSTALL_HINT,
        )
