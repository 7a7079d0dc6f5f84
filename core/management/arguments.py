"""Argument types shared by Linli's management commands."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentTypeError


def day(text: str) -> dt.date:
    """An ISO day (YYYY-MM-DD) on the command line, or a clear error (an argparse type: argparse
    prints the message and the usage, not a traceback)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc
