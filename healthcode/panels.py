"""The health-code panel on the resident page (core.panels person hook), and the helpers the staff
pages share to show a colour and its reasons the same way everywhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime

from cases.choices import CaseState, PlacementKind, basis_label
from healthcode.choices import CATEGORY_RULES, HEX, AppealStatus, Colour, Rule
from healthcode.models import Appeal, ColourChange, HealthCode
from healthcode.services import reason_label

HISTORY_ROWS = 20
DECIDE_PERMISSION = "healthcode.decide_appeal"


@dataclass(frozen=True)
class ShownReason:
    rule: str
    label: str
    since: dt.datetime | None
    detail: str
    category: bool
    basis: str = ""  # the legal basis of a category reason, in words (issue #11)


def _detail(rule: str, detail: str) -> str:
    """Category reasons carry a case state or a placement kind as their detail: show its label."""
    if rule == Rule.CENTRAL_ISOLATION and detail in PlacementKind.values:
        return str(PlacementKind(detail).label)
    if rule in CATEGORY_RULES and detail in CaseState.values:
        return str(CaseState(detail).label)
    return detail


def shown_reasons(reasons: list[dict] | None) -> list[ShownReason]:
    """Stored reasons ``[{rule, since, detail[, basis]}]`` with their labels, ready for a template."""
    return [
        ShownReason(
            rule=reason.get("rule", ""),
            label=reason_label(reason.get("rule", "")),
            since=parse_datetime(reason.get("since") or ""),
            detail=_detail(reason.get("rule", ""), reason.get("detail") or ""),
            category=reason.get("rule") in CATEGORY_RULES,
            basis=basis_label(reason["basis"]) if reason.get("basis") else "",
        )
        for reason in reasons or []
    ]


def colour_tag(colour: str) -> tuple[str, str]:
    """(label, hex) of a colour, for the coloured tag every page shows."""
    try:
        value = Colour(colour)
    except ValueError:
        return colour or "—", "#6b7280"
    return str(value.label), HEX[value]


def code_panel(request, person) -> str:
    """Colour, reasons, the last colour changes and open appeals of one (already scoped) resident."""
    code = HealthCode.objects.filter(person=person).first()
    history = list(
        ColourChange.objects.filter(person=person).select_related("user").order_by("-at", "-id")[:HISTORY_ROWS]
    )
    for change in history:
        change.from_tag = colour_tag(change.from_colour) if change.from_colour else None
        change.to_tag = colour_tag(change.to_colour)
    appeals = list(Appeal.objects.filter(person=person, status=AppealStatus.OPEN).order_by("at"))
    reasons = shown_reasons(code.reasons) if code else []
    return render_to_string(
        "healthcode/_panel.html",
        {
            "person": person,
            "code": code,
            "tag": colour_tag(code.colour) if code else None,
            "reasons": reasons,
            "has_category": any(reason.category for reason in reasons),
            "history": history,
            "appeals": appeals,
            "can_decide": request.user.has_perm(DECIDE_PERMISSION),
        },
        request=request,
    )
