"""The one transitions table of the task workflow, and the status sets derived from it.

domain.md §9 (GB/T 30428): report → register → dispatch → handle → feed back → verify and close →
evaluate. Every status change — single actions, bulk actions and the escalation sweep — is checked
against :data:`TRANSITIONS`; nothing else decides which move is allowed.
"""

from __future__ import annotations

from collections import deque

from django.utils.translation import gettext as _

from tasks.choices import TaskStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.REPORTED: frozenset({S.REGISTERED, S.CANCELLED}),
    S.REGISTERED: frozenset({S.DISPATCHED, S.CANCELLED}),
    # dispatched → dispatched is a hand-over to another person (reassign, escalation)
    S.DISPATCHED: frozenset({S.DISPATCHED, S.HANDLING, S.CANCELLED}),
    # handling → dispatched: handed over or escalated; the new assignee starts again
    S.HANDLING: frozenset({S.DISPATCHED, S.FED_BACK, S.CANCELLED}),
    # fed back → handling: verification failed, sent back to the handler
    S.FED_BACK: frozenset({S.CLOSED, S.HANDLING}),
    S.CLOSED: frozenset({S.EVALUATED}),
    S.EVALUATED: frozenset(),
    S.CANCELLED: frozenset(),
}

FINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
# not closed, evaluated or cancelled: on someone's list
OPEN = (S.REPORTED, S.REGISTERED, S.DISPATCHED, S.HANDLING, S.FED_BACK)
# waiting for the assignee to act: these can run late and be escalated (a fed-back task waits for
# verification, its handler met the deadline)
ACTIVE = (S.REPORTED, S.REGISTERED, S.DISPATCHED, S.HANDLING)
# a task that reaches one of these has been closed (closed_at set)
DONE = (S.CLOSED, S.EVALUATED)


class TransitionError(ValueError):
    """A status change the transitions table does not allow, or an action that does not apply."""


def allowed(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def check(from_status: str, to_status: str) -> None:
    if not allowed(from_status, to_status):
        raise TransitionError(f"{from_status} → {to_status} is not an allowed transition")


def sources_of(to_status: str) -> tuple[str, ...]:
    """The statuses from which ``to_status`` can be reached in one move (for set-based paths)."""
    return tuple(sorted(s for s, targets in TRANSITIONS.items() if to_status in targets))


def path(from_status: str, to_status: str, via: frozenset[str] | None = None) -> list[str]:
    """The shortest chain of moves from one status to another (without the start); [] if equal.

    ``via`` limits the intermediate statuses (e.g. never pass through cancelled). Raises
    TransitionError when the table offers no way.
    """
    if from_status == to_status:
        return []
    seen = {from_status: None}
    queue = deque([from_status])
    while queue:
        current = queue.popleft()
        for nxt in sorted(TRANSITIONS.get(current, ())):
            if nxt in seen or (via is not None and nxt != to_status and nxt not in via):
                continue
            seen[nxt] = current
            if nxt == to_status:
                steps = [nxt]
                while seen[steps[-1]] != from_status:
                    steps.append(seen[steps[-1]])
                return steps[::-1]
            queue.append(nxt)
    labels = dict(S.choices)
    raise TransitionError(
        _("no way from %(from)s to %(to)s")
        % {"from": labels.get(from_status, from_status), "to": labels.get(to_status, to_status)}
    )
