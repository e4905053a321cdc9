"""Reading a printed cell back as a number, for formats that align or store numbers as numbers.

The table IR holds printed text (``0.412``, ``(0.051)``, ``−0.123``, ``1,341``); Excel wants
the value and a number format that prints the same digits, Word a decimal tab. Nothing is
recomputed: the value is exactly the printed text read back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMBER = re.compile(
    r"^(?P<open>[(\[]?)"
    r"(?P<number>[−-]?\d[\d,]*(?:\.(?P<decimals>\d+))?(?P<exponent>e[−+-]?\d+)?)"
    r"(?P<close>[)\]]?)$"
)


@dataclass(frozen=True)
class PrintedNumber:
    """A cell's number: ``value``, its ``decimals``, thousands separators, and the brackets
    around it (``(`` ``)`` for standard errors)."""

    value: float
    decimals: int
    thousands: bool
    open: str
    close: str
    scientific: bool = False

    def excel_format(self, stars: str = "") -> str:
        """An Excel number format printing the same text: ``(0.000)``, ``#,##0``, ``0.000"**"``."""
        body = ("#,##0" if self.thousands else "0") + (
            "." + "0" * self.decimals if self.decimals else ""
        )
        if self.scientific:
            body += "E+00"
        suffix = f'"{stars}"' if stars else ""
        # the second section keeps the minus sign inside the brackets: (-1.234), not -(1.234)
        positive = f"{_literal(self.open)}{body}{_literal(self.close)}{suffix}"
        negative = f"{_literal(self.open)}-{body}{_literal(self.close)}{suffix}"
        return f"{positive};{negative}"


def _literal(bracket: str) -> str:
    return {"": "", "(": "(", ")": ")", "[": '"["', "]": '"]"'}[bracket]


def printed_number(text: str) -> PrintedNumber | None:
    """The number a cell prints, or None for text (``Yes``, ``[0.1, 0.3]``, empty)."""
    match = NUMBER.match(text.strip())
    if match is None or bool(match["open"]) != bool(match["close"]):
        return None
    if match["open"] and {match["open"], match["close"]} not in ({"(", ")"}, {"[", "]"}):
        return None
    digits = match["number"].replace("−", "-").replace(",", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    return PrintedNumber(
        value=value,
        decimals=len(match["decimals"] or ""),
        thousands="," in match["number"],
        open=match["open"],
        close=match["close"],
        scientific=match["exponent"] is not None,
    )
