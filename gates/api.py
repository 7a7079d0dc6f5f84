"""Gate API: a gate's offline bundle (keys, revocations, closure, approved exits), a lookup before
the check, and the batch upload of checks (idempotent by each record's ``client_id``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import Router, Schema
from pydantic import model_validator

from core.audit import log_reads
from core.choices import ReadAction
from core.policy import policy
from core.scoping import get_scoped_or_404
from gates import services
from gates.choices import ApprovalStatus
from gates.models import Closure, ExitApproval, Gate
from healthcode import keys
from people.models import Resident

router = Router(tags=["gates"])
MAX_BATCH = 500


class CheckIn(Schema):
    client_id: str
    gate: str
    token: str | None = None
    id_number: str | None = None
    direction: str = "in"
    identity_checked: bool = False
    temperature: float | None = None
    mask: bool = False
    at: str | None = None
    offline: bool = False

    @model_validator(mode="after")
    def _no_nul(self):
        """A NUL character cannot be stored by PostgreSQL: refused as invalid (422), not a 500 deep in
        the batch insert (found by Schemathesis)."""
        for name, value in self:
            if isinstance(value, str) and "\x00" in value:
                raise ValueError(f"{name}: NUL characters are not accepted")
        return self


class ChecksIn(Schema):
    checks: list[CheckIn]


class CheckResultOut(Schema):
    client_id: str
    status: str
    reason: str | None = None
    detail: str | None = None
    id: int | None = None
    person: str | None = None
    colour: str | None = None
    decision: str | None = None
    refusal: str | None = None
    refusal_label: str | None = None
    fever: bool | None = None
    task: int | None = None


class ChecksOut(Schema):
    results: list[CheckResultOut]


class LookupIn(Schema):
    gate: str
    token: str | None = None
    id_number: str | None = None
    direction: str = "in"


class LookupOut(Schema):
    verdict: str
    person: str | None
    lives_here: bool | None  # in this gate's compound (a yellow code may go home, not elsewhere)
    colour: str | None
    closure: str | None
    exit_approved: bool | None


class ClosureOut(Schema):
    rule: str
    rule_label: str
    starts_at: int
    ends_at: int
    building: str | None
    reason: str


class GateConfigOut(Schema):
    code: str
    name: str
    compound: str | None
    fever_threshold_c: float
    closures: list[ClosureOut]
    approved_exit_subjects: dict[str, int]  # subject -> approval valid until
    keys: list[dict]
    revocations: dict
    generated_at: int


@router.get("/{code}/config", response=GateConfigOut, summary="What a gate needs to work offline")
def gate_config(request, code: str):
    gate = get_scoped_or_404(request.user, Gate.objects.select_related("compound"), code=code, active=True)
    now = timezone.now()
    closures = []
    approved: dict[str, int] = {}
    if gate.compound_id:
        active = Closure.objects.filter(compound_id=gate.compound_id, ends_at__gt=now, lifted_at__isnull=True)
        closures = [
            {
                "rule": c.rule,
                "rule_label": c.get_rule_display(),
                "starts_at": int(c.starts_at.timestamp()),
                "ends_at": int(c.ends_at.timestamp()),
                "building": c.building.name if c.building_id else None,
                "reason": c.reason,
            }
            for c in active.select_related("building")
        ]
        rows = ExitApproval.objects.filter(
            closure__in=active,
            status=ApprovalStatus.APPROVED,
            valid_until__gt=now,
            valid_from__lte=now + dt.timedelta(days=1),
        ).values_list("person__health_code__subject", "valid_until")
        approved = {subject: int(until.timestamp()) for subject, until in rows if subject}
    return {
        "code": gate.code,
        "name": gate.name,
        "compound": gate.compound.name if gate.compound_id else None,
        "fever_threshold_c": float(policy(now).fever_threshold_c),
        "closures": closures,
        "approved_exit_subjects": approved,
        "keys": keys.published_keys(now),
        "revocations": keys.published_revocations(now),
        "generated_at": int(now.timestamp()),
    }


@router.post("/lookup", response=LookupOut, summary="Who is at the gate: masked name, colour, exit status")
def lookup(request, payload: LookupIn):
    gate = get_scoped_or_404(request.user, Gate.objects.all(), code=payload.gate, active=True)
    found = services.lookup(
        gate, token=payload.token, id_number=payload.id_number, direction=payload.direction, user=request.user
    )
    if found.person is not None:
        log_reads(request.user, ReadAction.GATE, Resident, [found.person.pk])
    return found.as_dict()


@router.post("/checks", response={200: ChecksOut, 413: dict}, summary="Record gate checks (a batch, idempotent)")
def record(request, payload: ChecksIn):
    if len(payload.checks) > MAX_BATCH:
        return 413, {"detail": f"at most {MAX_BATCH} checks per request"}
    outcomes = services.record_checks([c.dict() for c in payload.checks], request.user, channel="gate")
    return {"results": [o.as_dict() for o in outcomes]}
