"""Health-code business rules: recompute colours (set-based), mint and verify tokens, declarations,
appeals (the correction interface), revocations. GB/T 38963 interfaces map onto these functions:
health declaration → :func:`do_declare_health`, trip declaration → :func:`do_declare_trip`, health
query → :func:`code_for`, code generation → :func:`mint`, verification → :func:`verify`,
correction → :func:`do_appeal` and :func:`do_decide_appeal`.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.imports.sql import Staging, execute, fetch, q
from core.policy import Policy, policy
from healthcode import rules as colour_rules
from healthcode.choices import CATEGORY_RULES, AppealStatus, ChangeCause, Colour, Rule
from healthcode.keys import KEY_RING, token_lifetime
from healthcode.models import (
    Appeal,
    ColourChange,
    HealthCode,
    HealthDeclaration,
    ReasonWithdrawal,
    Revocation,
    TripDeclaration,
    Verification,
)
from healthcode.tokens import CLOCK_SKEW_SECONDS, Claims, Result, sign
from people.models import Resident

CHUNK = 5000
log = logging.getLogger(__name__)


@dataclass
class RecomputeSummary:
    issued: int = 0
    changed: int = 0
    by_colour: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"issued": self.issued, "changed": self.changed, "changed_by_colour": self.by_colour}


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _db_time(value: dt.datetime):
    """A timestamp as raw SQL must pass it (Django keeps SQLite times as naive UTC text)."""
    if connection.vendor == "sqlite":
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


def _issue_missing(only: Sequence[int] | None, now: dt.datetime, version: int | None) -> int:
    """A green code with a fresh random subject for every resident (of ``only``) without one."""
    resident, code = q(Resident._meta.db_table), q(HealthCode._meta.db_table)
    missing = f"SELECT r.id FROM {resident} r WHERE NOT EXISTS (SELECT 1 FROM {code} c WHERE c.person_id = r.id)"
    if only is None:
        ids = [row[0] for row in fetch(missing)]
    else:
        ids = []
        for chunk in _chunks(only):
            marks = ", ".join(["%s"] * len(chunk))
            ids += [row[0] for row in fetch(f"{missing} AND r.id IN ({marks})", list(chunk))]
    if not ids:
        return 0
    subjects = secrets.token_bytes(12 * len(ids)).hex()
    table = pa.table(
        {
            "person_id": pa.array(ids, pa.int64()),
            "subject": pa.array([subjects[i * 24 : (i + 1) * 24] for i in range(len(ids))], pa.string()),
        }
    )
    staging = Staging.create("stage_new_codes", table)
    try:
        execute(
            f"INSERT INTO {code} (person_id, subject, colour, reasons, since, computed_at, policy_version) "
            f"SELECT s.person_id, s.subject, %s, %s, %s, %s, %s FROM {q(staging.name)} s",
            [Colour.GREEN, "[]", _db_time(now), _db_time(now), version],
        )
    finally:
        staging.drop()
    return len(ids)


def recompute(
    only: Iterable[int] | None = None,
    cause: str = ChangeCause.BATCH,
    user=None,
    now: dt.datetime | None = None,
) -> RecomputeSummary:
    """Bring the codes of ``only`` (everyone when None) in line with the rules at ``now``.

    Set-based: new residents get codes in one insert; reasons come from a handful of queries
    (rules.SOURCES); only codes whose colour or reasons differ are written, each colour change is
    recorded in the history, and the tokens issued before it are revoked (so a green screenshot
    stops passing the moment its owner turns yellow or red).
    """
    now = now or timezone.now()
    rules = policy(now)
    people = None if only is None else sorted(set(only))
    summary = RecomputeSummary()
    if people is not None and not people:
        return summary
    with transaction.atomic():
        summary.issued = _issue_missing(people, now, rules.version)
        found: dict[int, list[colour_rules.Reason]] = {}
        current: dict[int, tuple[str, str, list, dt.datetime]] = {}
        codes = HealthCode.objects.values_list("person_id", "subject", "colour", "reasons", "since")
        if people is None:
            found = colour_rules.collect(now, rules, None)
            rows = list(codes.exclude(colour=Colour.GREEN))
            for chunk in _chunks(list(found)):  # SQLite caps the parameters of one statement
                rows += list(codes.filter(person_id__in=chunk, colour=Colour.GREEN))
        else:
            rows = []
            for chunk in _chunks(people):
                found |= colour_rules.collect(now, rules, chunk)
                rows += list(codes.filter(person_id__in=chunk))
        for person_id, subject, colour, reasons, since in rows:
            current[person_id] = (subject, colour, reasons, since)
        updates, changes, revocations = _differences(current, found, rules, now, cause, user)
        _write_updates(updates, now, rules.version)
        ColourChange.objects.bulk_create(changes, batch_size=2000)
        Revocation.objects.bulk_create(revocations, batch_size=2000)
    if revocations:
        KEY_RING.invalidate()  # this process at once; the others within KeyRing's refresh second
    summary.changed = len(changes)
    for change in changes:
        summary.by_colour[change.to_colour] = summary.by_colour.get(change.to_colour, 0) + 1
    return summary


def _differences(current, found, rules: Policy, now, cause, user):
    updates: list[tuple[int, str, str, dt.datetime]] = []
    changes: list[ColourChange] = []
    revocations: list[Revocation] = []
    keep_until = now + token_lifetime(now) + dt.timedelta(seconds=CLOCK_SKEW_SECONDS)
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    for person_id, (subject, colour, reasons, since) in current.items():
        new_reasons = [reason.as_json() for reason in found.get(person_id, [])]
        new_colour = colour_rules.colour_of(new_reasons, rules)
        if new_colour == colour and new_reasons == reasons:
            continue
        colour_since = since if new_colour == colour else now
        updates.append((person_id, new_colour, json.dumps(new_reasons, ensure_ascii=False), colour_since))
        if new_colour != colour:
            changes.append(
                ColourChange(
                    person_id=person_id,
                    at=now,
                    from_colour=colour,
                    to_colour=new_colour,
                    reasons=new_reasons,
                    cause=cause,
                    user_id=user_id,
                )
            )
            revocations.append(
                Revocation(
                    subject=subject, not_before=now, keep_until=keep_until, reason=f"{colour}→{new_colour}"[:120]
                )
            )
    return updates, changes, revocations


def _write_updates(updates: list[tuple[int, str, str, dt.datetime]], now: dt.datetime, version: int | None) -> None:
    if not updates:
        return
    person_ids, colours, reasons, sinces = zip(*updates, strict=True)
    table = pa.table(
        {
            "person_id": pa.array(person_ids, pa.int64()),
            "colour": pa.array(colours, pa.string()),
            "reasons": pa.array(reasons, pa.string()),
            "since": pa.array(sinces, pa.timestamp("s", tz="UTC")),
        }
    )
    staging = Staging.create("stage_code_updates", table)
    code = q(HealthCode._meta.db_table)
    reasons_value = "CAST(s.reasons AS jsonb)" if connection.vendor == "postgresql" else "s.reasons"
    try:
        execute(
            f"UPDATE {code} SET colour = s.colour, reasons = {reasons_value}, since = s.since, "
            f"computed_at = %s, policy_version = %s FROM {q(staging.name)} s WHERE {code}.person_id = s.person_id",
            [_db_time(now), version],
        )
    finally:
        staging.drop()


def code_for(person: Resident, now: dt.datetime | None = None) -> HealthCode:
    """The person's code (the health query): issued and computed on first use."""
    code = HealthCode.objects.filter(person=person).first()
    if code is None:
        recompute([person.pk], cause=ChangeCause.FIRST, now=now)
        code = HealthCode.objects.get(person=person)
    return code


def mint(code: HealthCode, now: dt.datetime | None = None) -> tuple[str, Claims]:
    """A fresh signed token for ``code`` (code generation): nothing is stored per token."""
    now = now or timezone.now()
    signer = KEY_RING.signer()
    # never in the second of the last colour change, whose revocation covers that whole second
    issued = max(int(now.timestamp()), int(code.since.timestamp()) + 1)
    claims = Claims(
        kid=signer.kid,
        subject=code.subject,
        colour=code.colour,
        issued_at=issued,
        expires_at=issued + signer.lifetime_seconds,
        serial=secrets.token_hex(6),
    )
    return sign(signer.private_key, claims), claims


class VerificationLog:
    """Verifications are logged in batches (one insert per ``BATCH`` rows or per second), so the
    verifying path does no write of its own. Under ``linli serve`` (LINLI_WRITE_BEHIND) a writer
    thread does the insert, so no request waits for it; otherwise the request that fills the batch
    writes it. The buffer is flushed at exit; a failed insert keeps its rows for the next one."""

    BATCH = 500
    MAX_AGE_SECONDS = 1.0
    MAX_KEPT = 100_000  # rows kept while the database is unreachable

    def __init__(self, write_behind: bool) -> None:
        self.write_behind = write_behind
        self._lock = threading.Lock()
        self._rows: list[tuple] = []
        self._oldest = 0.0
        self._due = threading.Event()
        self._writer: threading.Thread | None = None

    def add(self, row: tuple) -> None:
        """``row``: (at, verdict, colour, kid, serial, user_id, channel) — a plain tuple, so that a
        busy verifier does not build a model instance per request."""
        with self._lock:
            if not self._rows:
                self._oldest = time.monotonic()
            self._rows.append(row)
            due = len(self._rows) >= self.BATCH or time.monotonic() - self._oldest >= self.MAX_AGE_SECONDS
        if not due:
            return
        if self.write_behind:
            self._start_writer()
            self._due.set()
        else:
            self.flush()

    def flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            with connection.cursor() as cursor:
                cursor.executemany(_INSERT_VERIFICATION, [_db_row(row) for row in rows])
        except Exception:
            with self._lock:  # keep them for the next attempt, within a bound
                self._rows = (rows + self._rows)[-self.MAX_KEPT :]
            raise
        return len(rows)

    def discard(self) -> int:
        """Drop what is buffered (tests: their database is rolled back anyway)."""
        with self._lock:
            dropped, self._rows = len(self._rows), []
        return dropped

    def _start_writer(self) -> None:
        if self._writer is None or not self._writer.is_alive():
            with self._lock:
                if self._writer is None or not self._writer.is_alive():
                    self._writer = threading.Thread(target=self._write_loop, name="linli-verification-log", daemon=True)
                    self._writer.start()

    def _write_loop(self) -> None:
        while True:
            self._due.wait(timeout=self.MAX_AGE_SECONDS)
            self._due.clear()
            try:
                self.flush()
            except Exception:
                log.exception("verification log write failed; rows kept for the next attempt")
            finally:
                connection.close()  # one insert a second: no connection kept idle in between


_VERIFICATION_COLUMNS = ("at", "verdict", "colour", "kid", "serial", "user_id", "channel")
_INSERT_VERIFICATION = (
    f"INSERT INTO {Verification._meta.db_table} ({', '.join(_VERIFICATION_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(_VERIFICATION_COLUMNS))})"
)


def _db_row(row: tuple) -> tuple:
    return (_db_time(row[0]), *row[1:])


VERIFICATION_LOG = VerificationLog(write_behind=settings.LINLI_WRITE_BEHIND)
atexit.register(lambda: VERIFICATION_LOG.flush())


def verify(
    token: str, user_id: int | None = None, channel: str = "api", now: dt.datetime | None = None, log: bool = True
) -> Result:
    """Verify with the server's current keys and revocations; log the answer (batched) unless the
    caller records the verification itself (a gate check keeps the verdict on its own row)."""
    now = now or timezone.now()
    result = KEY_RING.verifier().verify(token, int(now.timestamp()))
    if not log:
        return result
    claims = result.claims
    VERIFICATION_LOG.add(
        (
            now,
            str(result.verdict),
            result.colour or "",
            claims.kid if claims else "",
            claims.serial if claims else "",
            user_id,
            channel[:12],
        )
    )
    return result


def person_for_subject(subject: str) -> Resident | None:
    code = HealthCode.objects.select_related("person").filter(subject=subject).first()
    return code.person if code else None


def do_revoke_token(serial: str, reason: str, user=None) -> Revocation:
    now = timezone.now()
    revocation = Revocation.objects.create(
        serial=serial.lower()[:12],
        keep_until=now + token_lifetime(now) + dt.timedelta(seconds=CLOCK_SKEW_SECONDS),
        reason=reason[:120],
        user=user if getattr(user, "is_authenticated", False) else None,
    )
    KEY_RING.invalidate()
    return revocation


def prune_revocations(now: dt.datetime | None = None) -> int:
    """Revocations whose tokens have all expired are no longer published; drop them."""
    deleted, _detail = Revocation.objects.filter(keep_until__lte=now or timezone.now()).delete()
    return deleted


# --- declarations (GB/T 38962 data items) --------------------------------------------------------


def do_declare_health(
    person: Resident,
    *,
    temperature: float | None,
    symptoms: Sequence[str] = (),
    conditions: str = "",
    contact_with_case: bool = False,
    channel: str = "resident",
) -> HealthDeclaration:
    declaration = HealthDeclaration(
        person=person,
        temperature=temperature,
        symptoms=list(symptoms),
        conditions=conditions[:200],
        contact_with_case=contact_with_case,
        channel=channel[:12],
    )
    declaration.copy_place(person)
    declaration.save()
    recompute([person.pk], cause=ChangeCause.DECLARATION)
    return declaration


def do_declare_trip(
    person: Resident, *, arrived_at: dt.datetime, origin_area_code: str, origin_area_name: str = "", mode: str = ""
) -> TripDeclaration:
    code = origin_area_code.strip()
    if not code.isdigit() or not 2 <= len(code) <= 12:
        raise ValueError(_("The area code must be 2 to 12 digits (a statistical division code)."))
    if arrived_at > timezone.now() + dt.timedelta(hours=1):
        raise ValueError(_("The arrival time is in the future."))
    trip = TripDeclaration(
        person=person,
        arrived_at=arrived_at,
        origin_area_code=code,
        origin_area_name=origin_area_name[:100],
        mode=mode[:20],
    )
    trip.copy_place(person)
    trip.save()
    recompute([person.pk], cause=ChangeCause.DECLARATION)
    return trip


# --- appeals: the correction interface -----------------------------------------------------------


def do_appeal(person: Resident, statement: str) -> Appeal:
    """A resident disputes their colour: the appeal and a review task for the community."""
    from tasks.services import do_open_task

    statement = statement.strip()
    if not statement:
        raise ValueError(_("Say why the colour is wrong."))
    code = code_for(person)
    if Appeal.objects.filter(person=person, status=AppealStatus.OPEN).exists():
        raise ValueError(_("An appeal is already open; staff will answer it first."))
    with transaction.atomic():
        appeal = Appeal(person=person, colour=code.colour, reasons=code.reasons, statement=statement[:2000])
        appeal.copy_place(person)
        appeal.save()
        appeal.task = do_open_task(
            "review",
            subject=person,
            title=_("Health-code appeal by %(name)s (%(colour)s)")
            % {"name": person.masked_name, "colour": Colour(code.colour).label},
            detail=statement[:1000],
            source=f"healthcode.appeal:{appeal.pk}",
            dedupe_key=f"healthcode.appeal:{appeal.pk}",
        )
        appeal.save(update_fields=["task"])
    return appeal


def do_decide_appeal(appeal: Appeal, user, *, withdraw: Sequence[str], note: str) -> Appeal:
    """Decide an appeal: withdraw some of its non-category reasons (corrected) or none (upheld).

    Category reasons (confirmed, suspected, quarantine, …) cannot be withdrawn here: they change
    only through a case decision in the four-category register, which is logged with its source.
    """
    from tasks.services import do_complete

    if appeal.status != AppealStatus.OPEN:
        raise ValueError(_("This appeal has already been decided."))
    if not note.strip():
        raise ValueError(_("Give the reason for the decision."))
    refused = sorted(set(withdraw) & CATEGORY_RULES)
    if refused:
        raise ValueError(
            _("%(rules)s can only change through the four-category register.") % {"rules": ", ".join(refused)}
        )
    held = {reason["rule"]: reason for reason in code_for(appeal.person).reasons}
    unknown = sorted(set(withdraw) - set(held))
    if unknown:
        raise ValueError(_("Not a current reason: %(rules)s") % {"rules": ", ".join(unknown)})
    now = timezone.now()
    with transaction.atomic():
        ReasonWithdrawal.objects.bulk_create(
            [ReasonWithdrawal(person=appeal.person, rule=rule, up_to=now, appeal=appeal) for rule in withdraw]
        )
        appeal.status = AppealStatus.CORRECTED if withdraw else AppealStatus.UPHELD
        appeal.withdrawn_rules = list(withdraw)
        appeal.decided_by, appeal.decided_at, appeal.decision_note = user, now, note.strip()[:300]
        appeal.save()
        recompute([appeal.person_id], cause=ChangeCause.APPEAL, user=user, now=now)
        if appeal.task is not None:
            do_complete(appeal.task, user, appeal.decision_note)
    return appeal


def reason_label(rule: str) -> str:
    try:
        return str(Rule(rule).label)
    except ValueError:
        return rule
