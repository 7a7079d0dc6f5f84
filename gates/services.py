"""Recording gate checks (四必) and deciding passage; closed management and its exit approvals;
supply rounds. domain.md §7.

:func:`record_checks` takes a batch (a gate app syncing its offline queue sends many at once, and
gates.batching joins concurrent requests) and works set-based: one query for repeats, one for the
people and their colours (one more when ID numbers were typed), approvals only under closed
management; gates, who may use them and closures are cached per process for a few seconds; one
insert each for the checks, the read log and the refused records. A record whose ``client_id`` was
already received answers with the first record's result, so a device may resend after a lost reply.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import log_reads
from core.choices import ReadAction
from core.expiring import Expiring
from core.moments import parse_moment
from core.policy import Policy, policy, recent_policy
from core.scoping import restrict
from gates.choices import (
    ApprovalStatus,
    CheckRejectReason,
    ClosureRule,
    Decision,
    Direction,
    Method,
    RefusalReason,
)
from gates.models import Closure, ExitApproval, Gate, GateCheck, GateCheckReject, SupplyDelivery, SupplyRound
from healthcode.choices import ChangeCause, Colour, Verdict
from healthcode.models import HealthCode
from healthcode.services import recompute, verify
from people.identity import is_valid_id_number, normalise_id_number
from people.models import PLACE_COLUMNS, Resident

TEMPERATURE_RANGE = (Decimal("34.0"), Decimal("43.0"))
DEVICE_CLOCK_AHEAD = dt.timedelta(minutes=5)
OLDEST_OFFLINE_RECORD = dt.timedelta(days=7)


@dataclass
class CheckOutcome:
    client_id: str
    status: str  # recorded | duplicate | rejected
    reason: str = ""
    detail: str = ""
    check: GateCheck | None = None
    masked_name: str = ""

    def as_dict(self) -> dict:
        data = {"client_id": self.client_id, "status": self.status}
        if self.status == "rejected":
            return data | {"reason": self.reason, "detail": self.detail}
        check = self.check
        return data | {
            "id": check.pk,
            "person": self.masked_name,
            "colour": check.colour,
            "decision": check.decision,
            "refusal": check.refusal,
            "refusal_label": str(RefusalReason(check.refusal).label) if check.refusal else "",
            "fever": check.fever,
            "task": check.task_id,
        }


@dataclass
class _Item:
    raw: dict
    client_id: uuid.UUID | None = None
    gate: Gate | None = None
    direction: str = Direction.IN
    at: dt.datetime | None = None
    temperature: Decimal | None = None
    token: str = ""
    id_number: str = ""
    verdict: str = ""
    subject: str = ""
    person: Resident | None = None
    colour: str = ""
    closure: Closure | None = None
    problem: tuple[str, str] | None = None


def _parse(raw: dict, now: dt.datetime) -> _Item:
    item = _Item(raw=raw)
    try:
        item.client_id = uuid.UUID(str(raw.get("client_id", "")))
    except ValueError:
        item.problem = (CheckRejectReason.BAD_VALUE, "client_id")
        return item
    item.direction = str(raw.get("direction") or Direction.IN)
    if item.direction not in Direction.values:
        item.problem = (CheckRejectReason.BAD_VALUE, "direction")
        return item
    temperature = raw.get("temperature")
    if temperature not in (None, ""):
        try:
            item.temperature = Decimal(str(temperature)).quantize(Decimal("0.1"))
        except (InvalidOperation, ValueError):
            item.problem = (CheckRejectReason.BAD_VALUE, "temperature")
            return item
        if not TEMPERATURE_RANGE[0] <= item.temperature <= TEMPERATURE_RANGE[1]:
            item.problem = (CheckRejectReason.BAD_VALUE, f"temperature {item.temperature}")
            return item
    at = raw.get("at")
    try:
        item.at = parse_moment(str(at)) if at else now
    except ValueError:
        item.problem = (CheckRejectReason.BAD_VALUE, "at")
        return item
    if item.at > now + DEVICE_CLOCK_AHEAD or item.at < now - OLDEST_OFFLINE_RECORD:
        item.problem = (CheckRejectReason.BAD_VALUE, f"at {item.at.isoformat()}")
        return item
    item.token = str(raw.get("token") or "").strip()
    item.id_number = normalise_id_number(raw.get("id_number"))
    if not item.token and not item.id_number:
        item.problem = (CheckRejectReason.NO_IDENTITY, "")
    elif not item.token and not is_valid_id_number(item.id_number):
        item.problem = (CheckRejectReason.BAD_ID_NUMBER, "")
    return item


def record_checks(records: Sequence[dict], user, channel: str = "gate", _retry: bool = False) -> list[CheckOutcome]:
    """Record a batch of gate checks; every record is either recorded (with the gate's decision),
    recognised as already received, or refused with its reason and kept."""
    now = timezone.now()
    rules = recent_policy()
    items = [_parse(raw if isinstance(raw, dict) else {"value": raw}, now) for raw in records]
    user_id = user.pk if getattr(user, "is_authenticated", False) else None

    known = _already_received([i.client_id for i in items if i.client_id and not i.problem])
    _attach_gates(items, user)
    _identify(items, user_id, channel)
    fresh = [i for i in items if not i.problem and i.client_id not in known]
    for item in fresh:
        if item.gate.compound_id:
            closures = _CLOSURES.get(item.gate.compound_id, lambda c=item.gate.compound_id: _closures_of(c))
            item.closure = closure_applying(closures, item.at, item.gate, item.person)
    approvals = _approvals({i.person.pk for i in fresh if i.closure is not None})

    checks: list[GateCheck] = []
    seen: set[uuid.UUID] = set()
    for item in fresh:
        if item.client_id in seen:  # the same record twice in one batch
            continue
        seen.add(item.client_id)
        checks.append(_decide(item, approvals, rules, user_id))
    rejects = [
        GateCheckReject(
            client_id=i.client_id,
            gate_code=str(i.raw.get("gate", ""))[:32],
            payload={k: v for k, v in i.raw.items() if k != "token"}
            | ({"token": i.token[:16] + "…"} if i.token else {}),
            reason=i.problem[0],
            detail=i.problem[1][:300],
            user_id=user_id,
        )
        for i in items
        if i.problem
    ]
    try:
        with transaction.atomic():
            GateCheck.objects.bulk_create(checks, batch_size=1000)
            GateCheckReject.objects.bulk_create(rejects, batch_size=1000)
            _after_fever([c for c in checks if c.fever], user)
            # a normal reading may end a checkpoint-fever reason of someone not green
            cleared = [
                c.person_id for c in checks if c.temperature is not None and not c.fever and c.colour != Colour.GREEN
            ]
            if cleared:
                recompute(cleared, cause=ChangeCause.GATE, user=user)
            # a volunteer saw these people (masked name and colour): read-logged like any staff read
            seen_people = [c.person_id for c in checks] + [
                known[i.client_id].person_id for i in items if i.client_id in known and not i.problem
            ]
            log_reads(user, ReadAction.GATE, Resident, seen_people)
    except IntegrityError:
        if _retry:  # the same record arrived twice at once (a device resending): now it is known
            raise
        return record_checks(records, user, channel, _retry=True)
    by_client = {c.client_id: c for c in checks}
    outcomes = []
    for item in items:
        client_id = str(item.client_id or item.raw.get("client_id", ""))
        if item.problem:
            outcomes.append(CheckOutcome(client_id, "rejected", item.problem[0], item.problem[1]))
        elif item.client_id in known:
            check = known[item.client_id]
            outcomes.append(CheckOutcome(client_id, "duplicate", check=check, masked_name=check.person.masked_name))
        else:
            check = by_client[item.client_id]
            outcomes.append(CheckOutcome(client_id, "recorded", check=check, masked_name=item.person.masked_name))
    return outcomes


def _already_received(client_ids: list[uuid.UUID]) -> dict[uuid.UUID, GateCheck]:
    if not client_ids:
        return {}
    return {c.client_id: c for c in GateCheck.objects.select_related("person").filter(client_id__in=client_ids)}


# A gate's record and who may use it change rarely; closures change more often but a second's
# delay is harmless. Cached per process so a busy gate costs no query for them (gate.batching).
_GATES = Expiring(5.0)
_VISIBLE = Expiring(5.0)
_CLOSURES = Expiring(1.0)


def _attach_gates(items: list[_Item], user) -> None:
    for item in items:
        if item.problem:
            continue
        code = str(item.raw.get("gate", ""))
        gate = _GATES.get(code, lambda code=code: Gate.objects.filter(code=code, active=True).first())
        if gate is None:
            item.problem = (CheckRejectReason.UNKNOWN_GATE, code)
        elif not _VISIBLE.get(
            (getattr(user, "pk", None), gate.pk),
            lambda gate=gate: restrict(user, Gate.objects.filter(pk=gate.pk)).exists(),
        ):
            item.problem = (CheckRejectReason.OUT_OF_SCOPE, code)
        else:
            item.gate = gate


def _identify(items: list[_Item], user_id: int | None, channel: str) -> None:
    """Verify tokens and find each record's person and current colour: by the token's subject
    (one query for the batch) or by ID number (one more, when any record was typed)."""
    for item in items:
        if item.problem or not item.token:
            continue
        result = verify(item.token, user_id=user_id, channel=channel, log=False)  # the check is the log
        item.verdict = result.verdict
        if result.verdict in (Verdict.MALFORMED, Verdict.FORGED, Verdict.UNKNOWN_KEY):
            item.problem = (CheckRejectReason.BAD_CODE, str(Verdict(result.verdict).label))
        else:
            item.subject = result.claims.subject
    subjects = {i.subject for i in items if i.subject and not i.problem}
    numbers = {i.id_number for i in items if not i.subject and i.id_number and not i.problem}
    fields = ("id", "name", "id_number", *PLACE_COLUMNS)
    by_subject: dict[str, HealthCode] = {}
    if subjects:
        rows = HealthCode.objects.filter(subject__in=subjects).select_related("person")
        by_subject = {code.subject: code for code in rows.only("subject", "colour", *(f"person__{f}" for f in fields))}
    by_number: dict[str, Resident] = {}
    colours: dict[int, str] = {}
    if numbers:
        by_number = {p.id_number: p for p in Resident.objects.filter(id_number__in=numbers).only(*fields)}
        colours = _current_colours([p.pk for p in by_number.values()])
    for item in items:
        if item.problem:
            continue
        if item.subject:
            code = by_subject.get(item.subject)
            item.person, item.colour = (code.person, code.colour) if code else (None, "")
        else:
            item.person = by_number.get(item.id_number)
            item.colour = colours.get(item.person.pk, "") if item.person else ""
        if item.person is None:
            item.problem = (CheckRejectReason.UNKNOWN_PERSON, "")


def _current_colours(person_ids: list[int]) -> dict[int, str]:
    colours = dict(HealthCode.objects.filter(person_id__in=person_ids).values_list("person_id", "colour"))
    missing = [pid for pid in person_ids if pid not in colours]
    if missing:  # registered since the last batch: issue their codes now
        recompute(missing, cause=ChangeCause.FIRST)
        colours |= dict(HealthCode.objects.filter(person_id__in=missing).values_list("person_id", "colour"))
    return colours


def _closures_of(compound_id: int) -> list[Closure]:
    """The compound's closures that can still matter: not ended before the oldest record a device
    may send (OLDEST_OFFLINE_RECORD)."""
    since = timezone.now() - OLDEST_OFFLINE_RECORD
    return list(Closure.objects.filter(compound_id=compound_id, ends_at__gt=since))


def _approvals(people: set[int]) -> dict[int, list[ExitApproval]]:
    found: dict[int, list[ExitApproval]] = {}
    if people:
        for approval in ExitApproval.objects.filter(person_id__in=people, status=ApprovalStatus.APPROVED):
            found.setdefault(approval.person_id, []).append(approval)
    return found


def closure_applying(closures: list[Closure], at: dt.datetime, gate: Gate, person: Resident) -> Closure | None:
    """The closure in force at ``at`` for someone passing ``gate``: the whole compound's, or
    their own (or the gate's) building's."""
    for closure in closures:
        active = closure.starts_at <= at < closure.ends_at and (closure.lifted_at is None or closure.lifted_at > at)
        if active and closure.building_id in (None, person.building_id, gate.building_id):
            return closure
    return None


def _decide(item: _Item, approvals: dict[int, list[ExitApproval]], rules: Policy, user_id) -> GateCheck:
    gate, person, raw, closure, colour = item.gate, item.person, item.raw, item.closure, item.colour
    fever = item.temperature is not None and item.temperature >= Decimal(str(rules.fever_threshold_c))
    identity_checked = bool(raw.get("identity_checked"))
    mask = bool(raw.get("mask"))
    approval = None
    refusal = ""
    if closure is not None:
        approval = next(
            (
                a
                for a in approvals.get(person.pk, [])
                if a.closure_id == closure.pk and a.valid_from <= item.at <= a.valid_until
            ),
            None,
        )
    if not identity_checked:
        refusal = RefusalReason.IDENTITY_NOT_CHECKED
    elif item.verdict and item.verdict != Verdict.VALID:
        refusal = RefusalReason.BAD_CODE
    elif colour == Colour.RED:
        refusal = RefusalReason.RED_CODE
    elif fever:
        refusal = RefusalReason.FEVER
    elif colour == Colour.YELLOW and gate.compound_id != person.compound_id:
        refusal = RefusalReason.YELLOW_CODE  # a yellow code may go home, not into other places
    elif not mask:
        refusal = RefusalReason.NO_MASK
    elif closure is not None and approval is None:
        if item.direction == Direction.OUT:
            refusal = RefusalReason.EXIT_NOT_APPROVED
        elif item.direction == Direction.IN and closure.rule == ClosureRule.SEALED:
            refusal = RefusalReason.ENTRY_CLOSED
    check = GateCheck(
        client_id=item.client_id,
        gate=gate,
        person=person,
        at=item.at,
        direction=item.direction,
        method=Method.CODE if item.token else Method.ID_NUMBER,
        identity_checked=identity_checked,
        temperature=item.temperature,
        mask=mask,
        colour=colour,
        token_verdict=item.verdict,
        decision=Decision.REFUSE if refusal else Decision.ALLOW,
        refusal=refusal,
        fever=fever,
        approval=approval,
        offline=bool(raw.get("offline")),
        user_id=user_id,
    )
    check.copy_place(person)
    return check


def _after_fever(checks: list[GateCheck], user) -> None:
    """domain.md §7: ≥ 37.3 °C refers the person to a fever clinic (a task with a 2-hour clock)
    and turns the code yellow (healthcode rule gate_fever)."""
    from tasks.services import do_open_task

    if not checks:
        return
    for check in checks:
        check.task = do_open_task(
            "refer",
            subject=check.person,
            title=_("Refer %(name)s to a fever clinic (%(temperature)s °C at %(gate)s)")
            % {"name": check.person.masked_name, "temperature": check.temperature, "gate": check.gate.name},
            detail=_("Checked at %(at)s; accompany the person to the nearest fever clinic and record the visit.")
            % {"at": timezone.localtime(check.at).strftime("%Y-%m-%d %H:%M")},
            source=f"gates.check:{check.client_id}",
            dedupe_key=f"gates.fever:{check.client_id}",
            opened_by=user,
        )
    GateCheck.objects.bulk_update(checks, ["task"])
    recompute([c.person_id for c in checks], cause=ChangeCause.GATE, user=user)


@dataclass
class Lookup:
    verdict: str
    person: Resident | None = None
    colour: str | None = None
    closure: Closure | None = None
    exit_approved: bool | None = None
    lives_here: bool | None = None

    def as_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "person": self.person.masked_name if self.person else None,
            "lives_here": self.lives_here,
            "colour": self.colour,
            "closure": self.closure.get_rule_display() if self.closure else None,
            "exit_approved": self.exit_approved,
        }


def lookup(gate: Gate, *, token: str | None, id_number: str | None, direction: str, user) -> Lookup:
    """What a volunteer sees before recording: the masked name, the current colour and, under
    closed management, whether this person may leave now. Nothing else (issue #5, Security)."""
    from healthcode.services import code_for, person_for_subject

    person = None
    if token:
        result = verify(token, user_id=getattr(user, "pk", None), channel="gate")
        if result.claims is None or result.verdict in (Verdict.FORGED, Verdict.UNKNOWN_KEY):
            return Lookup(result.verdict)
        verdict = result.verdict
        person = person_for_subject(result.claims.subject)
    else:
        number = normalise_id_number(id_number)
        if not is_valid_id_number(number):
            return Lookup(Verdict.MALFORMED)
        verdict = "id_number"
        person = Resident.objects.filter(id_number=number).first()
    if person is None:
        return Lookup(verdict)
    now = timezone.now()
    closures = list(
        Closure.objects.filter(
            compound_id=gate.compound_id, starts_at__lte=now, ends_at__gt=now, lifted_at__isnull=True
        )
    )
    closure = closure_applying(closures, now, gate, person) if gate.compound_id else None
    approved = None
    if closure is not None and direction == Direction.OUT:
        approved = ExitApproval.objects.filter(
            closure=closure, person=person, status=ApprovalStatus.APPROVED, valid_from__lte=now, valid_until__gte=now
        ).exists()
    lives_here = gate.compound_id is not None and person.compound_id == gate.compound_id
    return Lookup(verdict, person, code_for(person).colour, closure, approved, lives_here)


AREA_COLUMNS = ("district_id", "street_id", "community_id", "grid_id")


def _areas_of(node) -> dict[str, int | None]:
    """The district, street, community and grid of a compound or building, as column values."""
    return {column: getattr(node, column) for column in AREA_COLUMNS}


# --- closed management ---------------------------------------------------------------------------


def do_close(
    compound, *, rule: str, starts_at: dt.datetime, ends_at: dt.datetime, reason: str, user, building=None
) -> Closure:
    if ends_at <= starts_at:
        raise ValueError(_("The end must come after the start."))
    if not reason.strip():
        raise ValueError(_("Give the reason for closed management."))
    if building is not None and building.compound_id != compound.pk:
        raise ValueError(_("The building is not in this compound."))
    closure = Closure(
        compound=compound,
        building=building,
        rule=rule,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip()[:300],
        created_by=user if getattr(user, "is_authenticated", False) else None,
        **_areas_of(compound),
    )
    closure.save()
    _CLOSURES.clear()  # this process at once; the others within the cache's second
    return closure


def do_lift(closure: Closure, user) -> Closure:
    if closure.lifted_at is None:
        closure.lifted_at = timezone.now()
        closure.save(update_fields=["lifted_at", "updated_at"])
        _CLOSURES.clear()
    return closure


def do_request_exit(
    closure: Closure,
    person: Resident,
    *,
    purpose: str,
    note: str,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    user,
) -> ExitApproval:
    """An exit request (a medical visit, dialysis …) becomes a review task for the community."""
    from tasks.services import do_open_task

    if valid_until <= valid_from:
        raise ValueError(_("The end must come after the start."))
    approval = ExitApproval(
        closure=closure,
        person=person,
        purpose=purpose,
        note=note[:300],
        valid_from=valid_from,
        valid_until=valid_until,
        requested_by=user if getattr(user, "is_authenticated", False) else None,
    )
    approval.copy_place(person)
    with transaction.atomic():
        approval.save()
        approval.task = do_open_task(
            "review",
            subject=person,
            title=_("Exit request from closed management: %(name)s") % {"name": person.masked_name},
            detail=note,
            source=f"gates.exit:{approval.pk}",
            dedupe_key=f"gates.exit:{approval.pk}",
            opened_by=user,
            due_at=min(valid_from, timezone.now() + dt.timedelta(hours=policy().deadline_hours("review"))),
        )
        approval.save(update_fields=["task"])
    return approval


def do_decide_exit(approval: ExitApproval, user, *, approve: bool, note: str = "") -> ExitApproval:
    from tasks.services import do_complete

    if approval.status != ApprovalStatus.REQUESTED:
        raise ValueError(_("This request has already been decided."))
    with transaction.atomic():
        approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REFUSED
        approval.decided_by, approval.decided_at, approval.decision_note = user, timezone.now(), note[:300]
        approval.save()
        if approval.task is not None:
            do_complete(approval.task, user, note or str(ApprovalStatus(approval.status).label))
    return approval


# --- supplies for closed buildings ----------------------------------------------------------------


def do_open_supply_round(
    closure: Closure, building, *, day: dt.date, item: str, unit_price: Decimal, user
) -> SupplyRound:
    if building.compound_id != closure.compound_id:
        raise ValueError(_("The building is not in this compound."))
    supply_round, _created = SupplyRound.objects.get_or_create(
        building=building,
        day=day,
        item=item.strip()[:120],
        defaults={
            "closure": closure,
            "unit_price": unit_price,
            "created_by": user if getattr(user, "is_authenticated", False) else None,
            "compound_id": building.compound_id,
            **_areas_of(building),
        },
    )
    return supply_round


def do_record_deliveries(
    supply_round: SupplyRound, household_ids: Sequence[int], user, *, delivered: bool = True, note: str = ""
) -> int:
    """Mark households of the round's building as served (idempotent: a second mark changes nothing)."""
    from geo.models import Household

    valid = set(
        Household.objects.filter(building_id=supply_round.building_id, pk__in=household_ids).values_list(
            "pk", flat=True
        )
    )
    done = set(supply_round.deliveries.filter(household_id__in=valid).values_list("household_id", flat=True))
    rows = [
        SupplyDelivery(
            supply_round=supply_round,
            household_id=hid,
            delivered=delivered,
            note=note[:200],
            user=user if getattr(user, "is_authenticated", False) else None,
        )
        for hid in sorted(valid - done)
    ]
    SupplyDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def ensure_gate(compound, *, code: str, name: str, building=None) -> Gate:
    """A gate for a compound (or one of its buildings), with its tracing venue (kind ``gate``)."""
    from geo.choices import VenueKind
    from geo.models import Venue

    gate = Gate.objects.filter(code=code).first()
    if gate is not None:
        return gate
    with transaction.atomic():
        venue, _created = Venue.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": VenueKind.GATE,
                "lat": compound.lat,
                "lon": compound.lon,
                **_areas_of(compound),
            },
        )
        _GATES.clear()
        return Gate.objects.create(
            code=code,
            name=name,
            compound=compound,
            building=building,
            venue=venue,
            **_areas_of(compound),
        )
