"""The rows a list endpoint returns: one rule for every API list (offset and limit as sent may be
negative or absurd, and a negative slice is an error in Django, a huge one an overflow in SQL); and
the type of a row id sent in a body, which SQL stores in 64 bits."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_OFFSET = 1_000_000_000
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]  # out of range is a 422, not an overflow (500)


def window(offset: int, limit: int, max_limit: int) -> slice:
    """``offset`` clamped to 0…MAX_OFFSET and ``limit`` to 1…``max_limit``, as a slice of a queryset."""
    start = min(max(offset, 0), MAX_OFFSET)
    return slice(start, start + min(max(limit, 1), max_limit))
