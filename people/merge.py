"""Merging two person records into one, and undoing it (a split), with a record of what moved.

Apps that hold rows about a person register the foreign keys here (``PERSON_REFERENCES``) in their
AppConfig.ready, so that people never imports them; a merge moves every such row set-based and keeps
the ids it moved, which is what makes the split exact.
"""

from __future__ import annotations

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from people.models import LinkCandidate, LinkCandidateStatus, PersonMerge, Resident

# (model label, person foreign-key field name); apps append theirs
PERSON_REFERENCES: list[tuple[str, str]] = []


def register_person_reference(model_label: str, field: str) -> None:
    if (model_label, field) not in PERSON_REFERENCES:
        PERSON_REFERENCES.append((model_label, field))


def do_merge(source: Resident, target: Resident, user, reason: str = "") -> PersonMerge:
    """Move everything about ``source`` onto ``target``; ``source`` stays, marked merged, for the record."""
    if source.pk == target.pk:
        raise ValueError("a person cannot be merged into themselves")
    with transaction.atomic():
        moved: dict[str, list[int]] = {}
        for label, field in PERSON_REFERENCES:
            model = apps.get_model(label)
            rows = model.objects.filter(**{field: source})
            if model._meta.get_field(field).one_to_one and model.objects.filter(**{field: target}).exists():
                continue  # the target has its own; the source's stays with the merged record
            ids = list(rows.values_list("pk", flat=True))
            if ids:
                model.objects.filter(pk__in=ids).update(**{field: target})
                moved[f"{label}.{field}"] = ids
        Resident.objects.filter(pk=source.pk).update(merged_into=target)
        LinkCandidate.objects.filter(new_person=source, resident=target).update(
            status=LinkCandidateStatus.ACCEPTED, decided_by=user, decided_at=timezone.now()
        )
        LinkCandidate.objects.filter(new_person=source, status=LinkCandidateStatus.OPEN).update(
            status=LinkCandidateStatus.REJECTED, decided_by=user, decided_at=timezone.now()
        )
        return PersonMerge.objects.create(
            source=source,
            target=target,
            moved=moved,
            reason=reason[:300],
            merged_by=user if getattr(user, "is_authenticated", False) else None,
        )


def do_split(merge: PersonMerge, user) -> None:
    """Undo a merge: the moved rows go back to the source person, who is no longer merged."""
    with transaction.atomic():
        merge = PersonMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at:
            return
        for key, ids in merge.moved.items():
            label, field = key.rsplit(".", 1)
            apps.get_model(label).objects.filter(pk__in=ids).update(**{field: merge.source_id})
        Resident.objects.filter(pk=merge.source_id).update(merged_into=None)
        LinkCandidate.objects.filter(new_person_id=merge.source_id, resident_id=merge.target_id).update(
            status=LinkCandidateStatus.OPEN, decided_by=None, decided_at=None
        )
        merge.undone_by = user if getattr(user, "is_authenticated", False) else None
        merge.undone_at = timezone.now()
        merge.save()


def do_reject_candidate(candidate: LinkCandidate, user) -> None:
    LinkCandidate.objects.filter(pk=candidate.pk).update(
        status=LinkCandidateStatus.REJECTED, decided_by=user, decided_at=timezone.now()
    )
