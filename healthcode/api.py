"""Health-code API (GB/T 38963 interfaces): public keys and revocations for verifiers, token
verification, and a person's code for staff (scoped, read-logged)."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from cases.choices import basis_label
from core.audit import log_reads
from core.choices import ReadAction
from core.scoping import get_scoped_or_404
from healthcode import keys
from healthcode.choices import Colour
from healthcode.models import ColourChange
from healthcode.services import code_for, reason_label, verify
from people.models import Resident

router = Router(tags=["health code"])


class KeyOut(Schema):
    kid: str
    public_key: str  # raw Ed25519 public key, base64url without padding
    created_at: int
    signs_until: int | None
    verify_until: int | None


class KeysOut(Schema):
    algorithm: str
    token_format: str
    keys: list[KeyOut]


class RevocationsOut(Schema):
    version: int
    generated_at: int
    serials: list[str]
    subjects: dict[str, int]


class TokenIn(Schema):
    token: str


class VerdictOut(Schema):
    verdict: str
    valid: bool
    colour: str | None
    kid: str | None
    serial: str | None
    issued_at: int | None
    expires_at: int | None


class ReasonOut(Schema):
    rule: str
    label: str
    since: str
    detail: str
    basis: str = ""  # a category reason's legal basis (issue #11), e.g. lab_report, contact_of_case
    basis_label: str = ""


class CodeChangeOut(Schema):
    at: dt.datetime
    from_colour: str
    to_colour: str
    cause: str


class CodeOut(Schema):
    person_id: int
    colour: str
    colour_label: str
    since: dt.datetime
    computed_at: dt.datetime
    reasons: list[ReasonOut]
    history: list[CodeChangeOut]


@router.get("/keys", response=KeysOut, auth=None, summary="Public keys that verify health-code tokens")
def public_keys(request):
    """Public by design: a gate caches these to verify offline."""
    return {
        "algorithm": "Ed25519",
        "token_format": "LL1: + base64url(32-byte payload + 64-byte signature)",
        "keys": keys.published_keys(),
    }


@router.get("/revocations", response=RevocationsOut, summary="Revoked tokens and subjects (for offline verifiers)")
def revocations(request):
    return keys.published_revocations()


@router.post("/verify", response=VerdictOut, summary="Verify a health-code token")
def verify_token(request, payload: TokenIn):
    """valid / expired / revoked / forged / unknown_key / malformed, and the colour when valid."""
    return verify(payload.token, user_id=request.user.pk, channel="api").as_dict()


@router.get("/people/{person_id}", response=CodeOut, summary="A person's colour, reasons and history")
def person_code(request, person_id: int):
    person = get_scoped_or_404(request.user, Resident.objects.all(), pk=person_id)
    log_reads(request.user, ReadAction.API_VIEW, Resident, [person.pk])
    code = code_for(person)
    history = ColourChange.objects.filter(person=person).order_by("-at", "-id")[:50]
    return {
        "person_id": person.pk,
        "colour": code.colour,
        "colour_label": str(Colour(code.colour).label),
        "since": code.since,
        "computed_at": code.computed_at,
        "reasons": [
            reason
            | {"label": reason_label(reason["rule"])}
            | ({"basis_label": basis_label(reason["basis"])} if reason.get("basis") else {})
            for reason in code.reasons
        ],
        "history": [
            {"at": c.at, "from_colour": c.from_colour, "to_colour": c.to_colour, "cause": c.cause} for c in history
        ],
    }
