"""Text as staff see it: Chinese characters take two columns in a terminal or a spreadsheet."""

from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    """Character cells ``text`` takes: a wide (Chinese) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
