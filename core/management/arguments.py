"""Argument types shared by Linli's management commands."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError


def day(text: str) -> dt.date:
    """An ISO day (YYYY-MM-DD) on the command line, or a clear error."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from exc
