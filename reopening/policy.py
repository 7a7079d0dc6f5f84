"""The reopening app's policy items: which checklist each kind of unit must meet, and the limits on
evidence files. Registered in AppConfig.ready (core.policy.register_items), versioned with the rest."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from core.policy import PolicyItem
from reopening.choices import ChecklistItem, UnitKind

CHECKLISTS = "reopening_checklists"
EVIDENCE_LIMITS = "reopening_evidence_limits"

ITEMS: dict[str, PolicyItem] = {
    CHECKLISTS: PolicyItem(
        {
            # issue #12: 一校一策 — every school's plan covers supplies, screening, procedures, disinfection
            UnitKind.SCHOOL.value: ["supplies", "screening", "procedures", "disinfection"],
            # State Council joint prevention and control mechanism, guidance on enterprises resuming
            # work (Feb 2020): health ledger, temperature checks, ventilation and disinfection,
            # staggered canteens, a temporary isolation room, an emergency plan
            UnitKind.ENTERPRISE.value: [
                "supplies",
                "staff_health_ledger",
                "temperature_checks",
                "ventilation_disinfection",
                "canteen_staggered",
                "isolation_room",
                "emergency_plan",
            ],
        },
        _("Reopening checklists by kind of unit"),
        "issue #12 (schools: 一校一策); State Council joint prevention mechanism, enterprises' resumption "
        "guidance, Feb 2020",
    ),
    EVIDENCE_LIMITS: PolicyItem(
        {"max_megabytes": 10, "max_files_per_item": 10},
        _("Reopening evidence: largest file (MB) and files per checklist item"),
        "Linli default: a phone photo or a scanned plan of a few pages",
    ),
}


def check_checklists(value: Any) -> None:
    """Both kinds must have a non-empty list of known, distinct item codes."""
    known = set(ChecklistItem.values)
    for kind in UnitKind.values:
        items = value.get(kind)
        if not isinstance(items, list) or not items:
            raise ValueError(f"{CHECKLISTS}.{kind}: a non-empty list of items is needed")
        unknown = [i for i in items if i not in known]
        if unknown:
            raise ValueError(f"{CHECKLISTS}.{kind}: unknown items {', '.join(map(str, unknown))}")
        if len(set(items)) != len(items):
            raise ValueError(f"{CHECKLISTS}.{kind}: an item is named twice")
    extra = set(value) - set(UnitKind.values)
    if extra:
        raise ValueError(f"{CHECKLISTS}: unknown kinds {', '.join(sorted(extra))}")


def check_limits(value: Any) -> None:
    for key in ("max_megabytes", "max_files_per_item"):
        if not value.get(key):
            raise ValueError(f"{EVIDENCE_LIMITS}.{key}: must be at least 1")


VALIDATORS = {CHECKLISTS: check_checklists, EVIDENCE_LIMITS: check_limits}
