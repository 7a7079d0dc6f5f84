"""The one transitions table of group orders (the pattern of tasks.flow): nothing else decides
which status change is allowed."""

from __future__ import annotations

from care.choices import OrderStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.ORDERED, S.CANCELLED}),
    S.ORDERED: frozenset({S.DELIVERING, S.CANCELLED}),
    # once volunteers carry goods there is no cancelling: every household gets an outcome
    S.DELIVERING: frozenset({S.DONE}),
    S.DONE: frozenset(),
    S.CANCELLED: frozenset(),
}

# still ahead of its households: on the staff's and the residents' lists
ACTIVE = (S.OPEN, S.ORDERED, S.DELIVERING)


class OrderTransitionError(ValueError):
    """A status change the table does not allow, or an action that does not apply now."""


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())
