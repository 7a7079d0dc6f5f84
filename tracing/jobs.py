"""Background work of tracing: start a containment when a case is confirmed; seal finished ones."""

from __future__ import annotations

from django.db import transaction

from core.jobs import enqueue, every, job


@job("tracing.contain")
def contain(person_id: int) -> dict:
    from people.models import Resident
    from tracing.services import do_contain

    containment = do_contain(Resident.objects.get(pk=person_id))
    return {
        "containment": containment.pk,
        "close_contacts": containment.close_count,
        "secondary_contacts": containment.secondary_count,
        "venues": containment.venue_count,
    }


@job("tracing.seal_finished")
def seal_finished() -> dict:
    from tracing.board import seal_finished_containments

    return {"sealed": seal_finished_containments()}


def start_containment_after_commit(status) -> None:
    """cases.services.ON_INFECTED hook: trace once the identification is committed."""
    person_id = status.person_id
    transaction.on_commit(lambda: enqueue("tracing.contain", person_id=person_id))


every(10, "tracing.seal_finished")
