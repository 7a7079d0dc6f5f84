"""Tracing cases and containing their outbreak points (domain.md §4), on top of tracing.engine.

``case_window`` turns a case's record into its window; ``trace_cases`` runs the engine for one or
many cases with the investigators' decisions and the contacts' isolation times; ``do_contain``
is the 24-hour workflow: trace, put the contacts into their categories, give the answerable grid
worker of each compound its lists (notify, move to observation, test), list the venues to disinfect
with a task each, and raise the risk level of the case's home area.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import Basis, Category, SourceKind
from cases.models import PersonStatus
from core.policy import policy
from people.identity import mask_id_number
from people.models import Resident
from tracing import engine as eng
from tracing import index as presence_index
from tracing.models import (
    ContactDecision,
    Containment,
    ContainmentVenue,
    DecisionAction,
    Degree,
    TracedContact,
)

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
INFECTED = (Category.CONFIRMED, Category.ASYMPTOMATIC)
ENGINES = ("duckdb", "spark")


class NotACase(ValueError):
    """Tracing needs a confirmed case or an asymptomatic infection."""


def epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def moment(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC)


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    rule: str


def case_window(status: PersonStatus, as_of: dt.datetime) -> Window:
    """domain.md §4: from 00:00 Asia/Shanghai two days before onset (symptomatic) or 48 h before the
    positive sample (asymptomatic), to the earlier of isolation and the as-of time."""
    rules = policy(as_of)
    days = int(rules.contact_window_days_before_onset)
    hours = int(rules.contact_window_hours_before_sample)
    if status.category == Category.CONFIRMED and status.onset_date:
        day = status.onset_date - dt.timedelta(days=days)
        start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=SHANGHAI)
        rule = _("00:00 %(days)s days before onset (%(onset)s)") % {"days": days, "onset": status.onset_date}
    elif status.sampled_at:
        start = status.sampled_at - dt.timedelta(hours=hours)
        rule = _("%(hours)s h before the positive sample") % {"hours": hours}
    else:  # no onset or sample date recorded: count back from the diagnosis, and say so
        start = status.since - dt.timedelta(days=days)
        rule = _("%(days)s days before the diagnosis (no onset or sample date recorded)") % {"days": days}
    end = min(status.isolated_at, as_of) if status.isolated_at else as_of
    return Window(start=start, end=max(end, start), rule=rule)


def infected_status(person: Resident) -> PersonStatus:
    status = PersonStatus.objects.filter(person=person).first()
    if status is None or status.category not in INFECTED:
        raise NotACase(_("%(name)s is not a confirmed case or an asymptomatic infection") % {"name": person.name})
    return status


def rules_at(as_of: dt.datetime) -> eng.Rules:
    return eng.Rules(min_overlap_seconds=int(float(policy(as_of).contact_min_overlap_minutes) * 60))


def get_engine(name: str, index: presence_index.PresenceIndex):
    if name == "duckdb":
        return eng.IndexEngine(index)
    if name == "spark":
        from tracing.spark import SparkEngine

        return SparkEngine.shared()
    raise ValueError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")


def decisions_for(case_ids: list[str]) -> dict[str, list[eng.Override]]:
    out: dict[str, list[eng.Override]] = {}
    rows = ContactDecision.objects.filter(case__id_number__in=case_ids).select_related("case")
    for d in rows:
        out.setdefault(d.case.id_number, []).append(
            eng.Override(
                id_number=d.id_number,
                degree=d.degree,
                add=d.action == DecisionAction.ADD,
                exposed_at=epoch(d.exposed_at) if d.exposed_at else None,
                note=d.reason,
            )
        )
    return out


def isolation_times(id_numbers: list[str]) -> dict[str, int]:
    """When each of these close contacts was isolated (placed), for their secondary windows."""
    out: dict[str, int] = {}
    for start in range(0, len(id_numbers), 2000):
        rows = PersonStatus.objects.filter(
            isolated_at__isnull=False, person__id_number__in=id_numbers[start : start + 2000]
        ).values_list("person__id_number", "isolated_at")
        out.update({id_number: epoch(at) for id_number, at in rows})
    return out


def trace_cases(
    persons: list[Resident], as_of: dt.datetime, engine_name: str = "duckdb"
) -> tuple[list[eng.CaseTrace], list[Window]]:
    """Trace several cases in one batch per stage (the engine sees all of them at once)."""
    index = presence_index.current()
    windows, cases = [], []
    for person in persons:
        status = infected_status(person)
        window = case_window(status, as_of)
        windows.append(window)
        pkey = int(index.pkeys([person.id_number])[0]) if person.id_number else -1
        cases.append(eng.CaseWindow(person.id_number or "", pkey, epoch(window.start), epoch(window.end), epoch(as_of)))
    traces = eng.trace(
        get_engine(engine_name, index),
        index,
        cases,
        rules_at(as_of),
        isolated_at=isolation_times,
        overrides=decisions_for([c.id_number for c in cases]),
    )
    return traces, windows


def venue_codes(vkeys: set[int]) -> dict[int, tuple[str, str]]:
    from geo.models import Venue

    return {pk: (code, name) for pk, code, name in Venue.objects.filter(pk__in=vkeys).values_list("pk", "code", "name")}


def reason_json(reason: dict, venues: dict[int, tuple[str, str]]) -> dict:
    """A reason as people read it: kind, local times, venue code and name, overlap in minutes."""
    out = {
        "kind": reason["kind"],
        "via": reason["via"],
        "start": timezone.localtime(moment(reason["start"]), SHANGHAI).isoformat(),
        "end": timezone.localtime(moment(reason["stop"]), SHANGHAI).isoformat(),
    }
    if reason["kind"] == "venue":
        code, name = venues.get(reason["venue"], ("", ""))
        out |= {"venue_code": code, "venue_name": name, "overlap_minutes": round(reason["overlap"] / 60, 1)}
    if reason.get("note"):
        out["note"] = reason["note"]
    return out


def trace_json(result: eng.CaseTrace, window: Window) -> dict:
    """The ``linli trace --json`` document (full identity numbers: an administrator's tool)."""
    close, secondary = result.close, result.secondary
    vkeys = {r["venue"] for c in close + secondary for r in c.reasons if r["kind"] == "venue"}
    venues = venue_codes(vkeys)
    return {
        "case": result.case.id_number,
        "window": {
            "start": timezone.localtime(window.start, SHANGHAI).isoformat(),
            "end": timezone.localtime(window.end, SHANGHAI).isoformat(),
            "rule": window.rule,
        },
        "close_contacts": [
            {"id_number": c.id_number, "reasons": [reason_json(r, venues) for r in c.reasons]} for c in close
        ],
        "secondary_contacts": [
            {"id_number": c.id_number, "via": c.via, "reasons": [reason_json(r, venues) for r in c.reasons]}
            for c in secondary
        ],
        "removed_by_investigators": [{"id_number": d.id_number, "degree": d.degree} for d in result.removed],
    }


# --- containment ---------------------------------------------------------------------------------


def do_contain(person: Resident, *, as_of: dt.datetime | None = None, user=None, engine_name: str = "duckdb"):
    """Start (or re-run) the containment of an infected case: trace and act on the result."""
    now = timezone.now()
    as_of = as_of or now
    status = infected_status(person)
    containment = Containment.objects.filter(case=person, episode=status.episode).first()
    if containment is None:
        hours = int(policy(now).containment_hours)
        containment = Containment(
            case=person,
            episode=status.episode,
            category=status.category,
            started_at=status.since,
            due_at=status.since + dt.timedelta(hours=hours),
        )
        containment.copy_place(person)
        containment.save()
    (result,), (window,) = trace_cases([person], as_of, engine_name)
    index = presence_index.current()
    with transaction.atomic():
        _save_trace(containment, result, window, as_of, engine_name, index.version)
        _save_venues(containment, index, window)
        _identify_contacts(containment, user)
        _open_disinfection(containment)
        _raise_risk(containment, user)
    return containment


def _save_trace(containment, result: eng.CaseTrace, window: Window, as_of, engine_name: str, version: int) -> None:
    contacts = result.close + result.secondary
    vkeys = {r["venue"] for c in contacts for r in c.reasons if r["kind"] == "venue"}
    venues = venue_codes(vkeys)
    ids = {c.id_number for c in contacts} | {c.via for c in contacts}
    people = dict(Resident.objects.filter(id_number__in=ids, merged_into__isnull=True).values_list("id_number", "pk"))
    TracedContact.objects.filter(containment=containment).delete()
    TracedContact.objects.bulk_create(
        [
            TracedContact(
                containment=containment,
                degree=contact.degree,
                id_number=contact.id_number,
                person_id=people.get(contact.id_number),
                via_id_number=contact.via if contact.degree == Degree.SECONDARY else "",
                via_id=people.get(contact.via) if contact.degree == Degree.SECONDARY else None,
                first_exposure=moment(contact.first_exposure),
                reasons=[reason_json(r, venues) | {"via": mask_id_number(r["via"])} for r in contact.reasons],
                manual=all(r["kind"] == "manual" for r in contact.reasons),
            )
            for contact in contacts
        ],
        batch_size=2000,
    )
    containment.window_start, containment.window_end, containment.window_rule = window.start, window.end, window.rule
    containment.traced_at, containment.traced_as_of = timezone.now(), as_of
    containment.engine, containment.store_version = engine_name, version
    containment.close_count = result.close_count
    containment.secondary_count = result.secondary_count
    containment.save()


def _save_venues(containment: Containment, index, window: Window) -> None:
    """Every venue the case stayed at inside the window (gate passes make no stay)."""
    ContainmentVenue.objects.filter(containment=containment).delete()
    pkey = int(index.pkeys([containment.case.id_number])[0]) if containment.case.id_number else -1
    rows: dict[int, list[int]] = {}
    if 0 <= pkey < index.persons:
        lo, hi = int(index.p_ptr[pkey]), int(index.p_ptr[pkey + 1])
        w0, w1 = epoch(window.start), epoch(window.end)
        for venue, t0, t1 in zip(
            index.p_venue[lo:hi].tolist(), index.p_t0[lo:hi].tolist(), index.p_t1[lo:hi].tolist(), strict=True
        ):
            if t1 > w0 and t0 < w1:
                rows.setdefault(venue, []).append(t0)
    ContainmentVenue.objects.bulk_create(
        [
            ContainmentVenue(
                containment=containment,
                venue_id=venue,
                first_stay=moment(min(times)),
                last_stay=moment(max(times)),
                stays=len(times),
            )
            for venue, times in rows.items()
        ]
    )
    containment.venue_count = len(rows)
    containment.save(update_fields=["venue_count"])


def _identify_contacts(containment: Containment, user) -> None:
    """Close contacts into the close-contact category, secondary ones into theirs, set-based
    (cases.services.do_identify_many); then one list per compound and step for its grid worker."""
    from cases.services import do_identify_many

    category = {Degree.CLOSE: Category.CLOSE_CONTACT, Degree.SECONDARY: Category.SECONDARY_CONTACT}
    notes = {
        Degree.CLOSE: _("Close contact of a case (containment %(id)s)") % {"id": containment.pk},
        Degree.SECONDARY: _("Secondary contact (containment %(id)s)") % {"id": containment.pk},
    }
    for degree in (Degree.CLOSE, Degree.SECONDARY):
        people = list(
            containment.contacts.filter(degree=degree, person__isnull=False).values_list("person_id", flat=True)
        )
        do_identify_many(
            people,
            category[degree],
            at=containment.traced_at or timezone.now(),
            source_kind=SourceKind.TRACING,
            source_ref_prefix=f"containment:{containment.pk}:{degree}",
            note=notes[degree],
            user=user,
            basis=Basis.CONTACT_OF_CASE,  # issue #11: the containment's case, recorded, is named
            basis_case=containment.case,
        )
    _open_contact_lists(containment)


# What the grid worker does for each compound's contacts (domain.md §3–4): close contacts are
# notified, moved to central observation and tested; secondary contacts are notified.
CONTACT_STEPS = {Degree.CLOSE: ("notify", "transfer", "test"), Degree.SECONDARY: ("notify",)}


def _open_contact_lists(containment: Containment) -> None:
    """One task per compound, step and degree, listing its contacts: the grid worker's list (名单).

    A workplace case can have hundreds of close and thousands of secondary contacts; one task per
    person would bury the grid workers (and take minutes to open), one list per compound does not."""
    from geo.models import Compound
    from tasks.services import do_open_task

    contacts = containment.contacts.filter(person__isnull=False, person__compound__isnull=False).select_related(
        "person"
    )
    by_compound: dict[tuple[int, int], list[TracedContact]] = {}
    for contact in contacts:
        by_compound.setdefault((contact.degree, contact.person.compound_id), []).append(contact)
    compounds = Compound.objects.in_bulk({c for _, c in by_compound})
    titles = {
        ("notify", Degree.CLOSE): _("Notify %(n)s close contacts in %(place)s (case %(case)s)"),
        ("transfer", Degree.CLOSE): _("Move %(n)s close contacts in %(place)s to central observation"),
        ("test", Degree.CLOSE): _("Test %(n)s close contacts in %(place)s"),
        ("notify", Degree.SECONDARY): _("Notify %(n)s secondary contacts in %(place)s (case %(case)s)"),
    }
    for (degree, compound_id), members in sorted(by_compound.items()):
        compound = compounds[compound_id]
        listing = "\n".join(f"{c.person.name} {c.person.masked_id_number}" for c in members)
        for step in CONTACT_STEPS[degree]:
            do_open_task(
                step,
                subject=compound,
                title=titles[(step, degree)]
                % {"n": len(members), "place": compound.name, "case": containment.case.name},
                detail=listing,
                source=f"containment:{containment.pk}",
                dedupe_key=f"containment:{containment.pk}:{step}:{degree}:{compound_id}",
                due_at=containment.due_at,
                owner_level="grid",
            )


def _open_disinfection(containment: Containment) -> None:
    from tasks.services import do_open_task

    for place in containment.venues.select_related("venue"):
        do_open_task(
            "disinfect",
            subject=place.venue,
            title=_("Disinfect %(venue)s (case stayed there)") % {"venue": place.venue.name},
            source=f"containment:{containment.pk}",
            dedupe_key=f"containment:{containment.pk}:disinfect:{place.venue_id}",
            due_at=containment.due_at,
        )


def _raise_risk(containment: Containment, user) -> None:
    from risk.services import raise_for_case

    raise_for_case(
        containment.case,
        containment.started_at,
        _("Case confirmed (containment %(id)s)") % {"id": containment.pk},
        user=user,
    )


def do_decide_contact(
    case: Resident, id_number: str, *, add: bool, reason: str, user, degree: int = Degree.CLOSE, exposed_at=None
) -> ContactDecision:
    """An investigator's addition or removal; the next trace applies it (and every later one)."""
    if not reason.strip():
        raise ValueError(_("A reason is required"))
    decision, _created = ContactDecision.objects.update_or_create(
        case=case,
        id_number=id_number.strip().upper(),
        degree=degree,
        defaults={
            "action": DecisionAction.ADD if add else DecisionAction.REMOVE,
            "reason": reason.strip()[:300],
            "exposed_at": exposed_at,
            "decided_by": user if getattr(user, "is_authenticated", False) else None,
        },
    )
    return decision
