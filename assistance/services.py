"""Help-request actions: ask, route, verify, place, handle, resolve, rate, withdraw, reject.

The flow is the task engine's (domain.md §9: report → register → dispatch → handle → feed back →
verify and close → evaluate). A request from a registered resident becomes a ``help`` task for the
person answerable for the resident's building (包保), or the nearest staffed level above; its
deadline is the category's (policy ``help_deadline_hours``) and the overdue sweep
(tasks.escalation) takes it up the chain when late. Urgent categories (policy
``help_page_next_level``, escort to hospital by default) page the level above the assignee at once.

A request whose phone belongs to nobody on the register is kept and handed to its community as a
``verify`` task (found by the coordinates or address given); one that cannot be placed at all
waits for staff who see the whole city. Nothing asked is lost: every refusal raises
:class:`HelpRequestError` before anything is written, and everything accepted is stored whole.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import warnings
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assistance.choices import HelpCategory, HelpChannel, HelpStage, PhotoType
from assistance.models import MAX_TEXT_CHARS, HelpRequest
from core.policy import policy, recent_policy
from core.scoping import jurisdiction_of
from geo.models import Building, Compound
from people.identity import mask_phone
from people.models import PLACE_COLUMNS, Resident
from residents.services import SignInError, clean_phone, residents_for_phone
from tasks.choices import CHAIN, NotificationKind, TaskEvaluation, TaskStatus, TaskType
from tasks.flow import DONE, OPEN
from tasks.models import Task
from tasks.notify import notify
from tasks.routing import levels_above, resolve_owner
from tasks.services import (
    do_cancel,
    do_close,
    do_comment,
    do_complete,
    do_evaluate,
    do_feed_back,
    do_open_task,
    do_start,
)

log = logging.getLogger("linli.assistance")

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000  # a 5 MB file claiming more pixels than this is a decompression bomb
MIN_TEXT_CHARS = 2
NEAREST_COMPOUND_KM = 1.0  # coordinates farther than this from every compound place nothing
SATISFIED_FROM = 3  # stars: 3–5 evaluate the task as satisfied, 1–2 as unsatisfied
_MAGIC = (
    (b"\xff\xd8\xff", PhotoType.JPEG),
    (b"\x89PNG\r\n\x1a\n", PhotoType.PNG),
)
_PIL_FORMATS = {PhotoType.JPEG: "JPEG", PhotoType.PNG: "PNG", PhotoType.WEBP: "WEBP"}


class HelpRequestError(ValueError):
    """A refusal shown as it is (translated), with a stable code for API clients."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


# --- checking what was sent ------------------------------------------------------------------------


def clean_text(raw: str | None) -> str:
    text = (raw or "").strip()
    if len(text) < MIN_TEXT_CHARS:
        raise HelpRequestError(_("Say in a few words what you need."), "empty_text")
    if len(text) > MAX_TEXT_CHARS:
        raise HelpRequestError(
            _("Keep it under %(n)d characters (this is %(got)d).") % {"n": MAX_TEXT_CHARS, "got": len(text)},
            "text_too_long",
        )
    return text


def clean_category(raw: str | None) -> str:
    if raw not in HelpCategory.values:
        raise HelpRequestError(_("Choose what kind of help you need."), "bad_category")
    return raw


def _sniff(head: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return PhotoType.WEBP
    return None


def clean_photo(upload) -> tuple[ContentFile, str] | None:
    """A JPEG, PNG or WebP photo of at most 5 MB, decoded and written again by the server: the
    resident's camera metadata (the GPS position of their home, the phone's serial) is dropped, and
    a file that only pretends to be an image is refused. Returns (file, content type) or None."""
    if upload is None:
        return None
    from PIL import Image, ImageOps, UnidentifiedImageError

    size = getattr(upload, "size", None)
    if size is not None and size > MAX_PHOTO_BYTES:
        raise HelpRequestError(_("The photo is larger than 5 MB."), "photo_too_large")
    data = upload.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise HelpRequestError(_("The photo is larger than 5 MB."), "photo_too_large")
    if not data:
        return None
    kind = _sniff(data[:16])
    if kind is None:
        raise HelpRequestError(_("Send the photo as JPEG, PNG or WebP."), "bad_photo_type")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.width * probe.height > MAX_PHOTO_PIXELS:
                    raise HelpRequestError(_("The photo has too many pixels."), "bad_photo")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image = ImageOps.exif_transpose(image)
                if kind == PhotoType.JPEG and image.mode not in ("RGB", "L"):
                    image = image.convert("RGB")
                out = io.BytesIO()
                image.save(out, format=_PIL_FORMATS[kind], **({"quality": 85} if kind != PhotoType.PNG else {}))
    except HelpRequestError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as exc:
        log.info("help request photo refused: %s", exc)
        raise HelpRequestError(_("The photo could not be read. Send another one."), "bad_photo") from exc
    return ContentFile(out.getvalue(), name="photo"), kind


def check_flood(phone: str, now: dt.datetime, rules=None) -> None:
    """At most ``help_requests_per_phone_per_hour`` / ``…_per_day`` requests from one phone,
    counted from the requests themselves (one indexed query) so that the limit holds across
    processes."""
    rules = rules or policy(now)
    recent = HelpRequest.objects.filter(phone=phone, created_at__gt=now - dt.timedelta(days=1)).aggregate(
        day=Count("id"), hour=Count("id", filter=Q(created_at__gt=now - dt.timedelta(hours=1)))
    )
    if recent["day"] >= rules.help_requests_per_phone_per_day:
        raise HelpRequestError(
            _("This phone has sent too many requests today. If it is urgent, call your community."), "rate_limited"
        )
    if recent["hour"] >= rules.help_requests_per_phone_per_hour:
        raise HelpRequestError(
            _("This phone has sent too many requests in the last hour. If it is urgent, call your community."),
            "rate_limited",
        )


# --- finding the place of a request from outside the register --------------------------------------


def nearest_compound(lat: float | None, lon: float | None) -> Compound | None:
    """The compound nearest to the coordinates, within :data:`NEAREST_COMPOUND_KM` (equirectangular
    distance, good to metres at a city's scale; one indexed-free query over the compounds)."""
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    scale = math.cos(math.radians(lat))
    degrees = NEAREST_COMPOUND_KM / 111.32
    candidate = (
        Compound.objects.filter(
            lat__range=(lat - degrees, lat + degrees), lon__range=(lon - degrees / scale, lon + degrees / scale)
        )
        .annotate(
            d2=(F("lat") - Value(lat)) * (F("lat") - Value(lat))
            + (F("lon") - Value(lon)) * (F("lon") - Value(lon)) * Value(scale * scale)
        )
        .order_by("d2", "id")
        .first()
    )
    if candidate is None:
        return None
    km = math.hypot(candidate.lat - lat, (candidate.lon - lon) * scale) * 111.32
    return candidate if km <= NEAREST_COMPOUND_KM else None


def compound_named_in(address: str) -> Compound | None:
    """The compound whose name appears in a free-text address (the longest such name)."""
    address = (address or "").strip()
    if len(address) < 2:
        return None
    table = Compound._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE LENGTH(name) >= 2 AND %s LIKE '%%' || name || '%%' "
            "ORDER BY LENGTH(name) DESC, id LIMIT 1",
            [address],
        )
        row = cursor.fetchone()
    return Compound.objects.filter(pk=row[0]).first() if row else None


def _place_from_compound(request: HelpRequest, compound: Compound) -> None:
    request.compound_id, request.building_id = compound.pk, None
    request.grid_id, request.community_id = compound.grid_id, compound.community_id
    request.street_id, request.district_id = compound.street_id, compound.district_id


# --- asking --------------------------------------------------------------------------------------


@dataclass
class Ask:
    """What a requester sent: from the portal (``resident`` set, phone verified), an Open311 client
    or staff taking a call."""

    category: str
    text: str
    phone: str
    channel: str = HelpChannel.PORTAL
    resident: Resident | None = None
    phone_verified: bool = False
    photo: object | None = None
    media_url: str = ""
    contact_name: str = ""
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    ip: str | None = None
    client_reference: str = ""
    taken_by: object | None = None


def _requester(ask: Ask, phone: str) -> Resident | None:
    """The resident behind the request: the signed-in one, else the only one registered with the
    phone (or several sharing one household). A phone shared across households stays unknown."""
    if ask.resident is not None:
        return ask.resident
    people = residents_for_phone(phone)
    if people and len({p.household_id or p.pk for p in people}) == 1:
        return people[0]
    return None


def do_ask(ask: Ask, now: dt.datetime | None = None) -> HelpRequest:
    """Check, store and route one request. Raises :class:`HelpRequestError` (nothing written)."""
    rules = recent_policy() if now is None else policy(now)  # the hot path reads it once a second
    now = now or timezone.now()
    category = clean_category(ask.category)
    text = clean_text(ask.text)
    try:
        phone = clean_phone(ask.phone)
    except SignInError as exc:
        raise HelpRequestError(str(exc), "bad_phone") from exc
    photo = clean_photo(ask.photo)
    check_flood(phone, now, rules)
    request = HelpRequest(
        category=category,
        text=text,
        channel=ask.channel,
        phone=phone,
        phone_verified=ask.phone_verified,
        contact_name=(ask.contact_name or "").strip()[:60],
        address=(ask.address or "").strip()[:200],
        lat=ask.lat,
        lon=ask.lon,
        media_url=(ask.media_url or "")[:200],
        ip=ask.ip,
        client_reference=(ask.client_reference or "")[:64],
        taken_by=ask.taken_by if getattr(ask.taken_by, "is_authenticated", False) else None,
        created_at=now,
        stage=HelpStage.UNPLACED,
    )
    if photo is not None:
        request.photo_type = photo[1]
    try:
        with transaction.atomic():
            if photo is not None:
                request.photo.save("photo", photo[0], save=False)
            resident = _requester(ask, phone)
            if resident is not None:
                request.resident = resident
                for column in PLACE_COLUMNS:
                    setattr(request, column, getattr(resident, column))
            if request.building_id is None:
                compound = nearest_compound(ask.lat, ask.lon) or compound_named_in(ask.address)
                if compound is not None:
                    _place_from_compound(request, compound)
            request.save()
            _route(request, by=request.taken_by, rules=rules)
    except Exception:
        if request.photo:  # the row is gone with the transaction: so is its file
            request.photo.delete(save=False)
        raise
    log.info(
        "help request %s (%s) from %s via %s: %s",
        request.reference,
        category,
        mask_phone(phone),
        ask.channel,
        request.stage,
    )
    return request


def _route(request: HelpRequest, by=None, rules=None) -> None:
    """A registered resident's request (one with a building on the register) gets its help task; a
    stranger's, or that of a person known only from a feed without an address, a verification task
    for the community found; the rest waits, unplaced, for city staff."""
    if request.resident_id is not None and request.building_id is not None:
        _open_help_task(request, by, since=request.created_at, rules=rules)
    elif request.compound_id is not None:
        request.verify_task = do_open_task(
            TaskType.VERIFY,
            subject=request.compound,
            title=_("Verify a help request from an unregistered phone: %(category)s")
            % {"category": HelpCategory(request.category).label},
            detail=_task_detail(request),
            source=f"help_request:{request.pk}",
            dedupe_key=f"help_verify:{request.pk}",
            opened_by=by,
        )
        request.stage = HelpStage.VERIFYING
        request.save(update_fields=["verify_task", "stage"])
    else:
        request.stage = HelpStage.UNPLACED
        request.save(update_fields=["stage"])


def _task_detail(request: HelpRequest) -> str:
    lines = [
        request.text,
        "",
        _("Help request %(ref)s, asked %(at)s")
        % {
            "ref": request.reference,
            "at": timezone.localtime(request.created_at).strftime("%Y-%m-%d %H:%M"),
        },
    ]
    if request.address:
        lines.append(_("Address given: %(address)s") % {"address": request.address})
    return "\n".join(lines)


def deadline_for(category: str, at: dt.datetime, rules=None) -> dt.datetime:
    rules = rules or policy(at)
    hours = rules.help_deadline_hours.get(category)
    if hours is None:
        hours = rules.deadline_hours(TaskType.HELP)
    return at + dt.timedelta(hours=float(hours))


def _open_help_task(request: HelpRequest, by=None, since: dt.datetime | None = None, rules=None) -> None:
    """The help task; its deadline runs from ``since`` (when it was asked; when it was verified
    for a request that had to be verified first)."""
    now = timezone.now()
    rules = rules or policy(now)
    task = do_open_task(
        TaskType.HELP,
        subject=request.resident,
        title=_("%(category)s: %(text)s")
        % {"category": HelpCategory(request.category).label, "text": request.text[:80]},
        detail=_task_detail(request),
        source=f"help_request:{request.pk}",
        dedupe_key=f"help:{request.pk}",
        opened_by=by,
        due_at=deadline_for(request.category, since or now, rules),
    )
    request.task = task
    request.stage = HelpStage.ROUTED
    request.save(update_fields=["task", "stage"])
    if rules.help_page_next_level.get(request.category):
        page_next_level(request)


def page_next_level(request: HelpRequest) -> object | None:
    """Urgent: tell the answerable person one level above the assignee at once (issue #7 item 2),
    and note it on the task. Returns whom it paged (None when nobody is above)."""
    task = request.task
    above = levels_above(task.assigned_level or CHAIN[0])
    if not above:
        return None
    owner = resolve_owner(task, above[0])
    if owner.user is None or owner.user.pk == task.assignee_id:
        return None
    notify(
        owner.user,
        _("Urgent help request (%(category)s) for your attention: %(title)s")
        % {"category": HelpCategory(request.category).label, "title": task.title},
        task,
        NotificationKind.PAGED,
    )
    do_comment(
        task,
        None,
        _("Urgent: %(user)s (%(level)s) paged at once") % {"user": owner.user.get_username(), "level": owner.level},
    )
    return owner.user


# --- staff actions ---------------------------------------------------------------------------------


def do_verify(request: HelpRequest, by, resident: Resident) -> HelpRequest:
    """The community found who asked: the request becomes theirs and goes to their building."""
    if request.stage not in (HelpStage.VERIFYING, HelpStage.UNPLACED):
        raise HelpRequestError(_("This request is not waiting for verification."), "not_waiting")
    if resident.building_id is None:
        raise HelpRequestError(
            _("This person has no address on the register. Register where they live first."), "no_address"
        )
    with transaction.atomic():
        locked = HelpRequest.objects.select_for_update().get(pk=request.pk)
        locked.resident = resident
        for column in PLACE_COLUMNS:
            setattr(locked, column, getattr(resident, column))
        locked.save()
        if locked.verify_task is not None:
            do_complete(locked.verify_task, by, _("Verified: asked by %(name)s") % {"name": resident.masked_name})
        _open_help_task(locked, by)
    return _refresh(request, locked)


def do_place(request: HelpRequest, by, compound: Compound) -> HelpRequest:
    """City staff place an unplaced request in a compound: its community verifies it next."""
    if request.stage != HelpStage.UNPLACED:
        raise HelpRequestError(_("This request is placed already."), "not_waiting")
    with transaction.atomic():
        locked = HelpRequest.objects.select_for_update().get(pk=request.pk)
        _place_from_compound(locked, compound)
        locked.save()
        _route(locked, by)
    return _refresh(request, locked)


def do_reject(request: HelpRequest, by, reason: str) -> HelpRequest:
    """Not taken up (a prank, a duplicate, someone outside the city): kept, with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise HelpRequestError(_("Say why the request is not taken up."), "reason_required")
    with transaction.atomic():
        locked = HelpRequest.objects.select_for_update().get(pk=request.pk)
        if locked.stage == HelpStage.REJECTED:
            return _refresh(request, locked)
        if locked.verify_task is not None and locked.verify_task.status in OPEN:
            do_complete(locked.verify_task, by, _("Not taken up: %(reason)s") % {"reason": reason})
        if locked.task is not None and locked.task.status in OPEN:
            do_cancel(locked.task, by, reason)
        locked.stage = HelpStage.REJECTED
        locked.save(update_fields=["stage"])
    return _refresh(request, locked)


def do_handle(request: HelpRequest, by) -> HelpRequest:
    """The assignee is on it (dispatched → handling)."""
    task = _task(request)
    if task.status == TaskStatus.DISPATCHED:
        do_start(task, by)
    return request


def do_resolve(request: HelpRequest, by, feedback: str) -> HelpRequest:
    """Done on the doorstep: the handler feeds back what was done (delivered, escorted …) and, the
    requester being there to see it, that is the verification: the task closes."""
    task = _task(request)
    if task.status in DONE:
        return request
    if not (feedback or "").strip():
        raise HelpRequestError(_("Say what was done."), "feedback_required")
    if task.status != TaskStatus.FED_BACK:
        do_feed_back(task, by, feedback)
    do_close(task, by, feedback)
    transaction.on_commit(lambda: _tell_requester_done(request, feedback))
    return request


def _tell_requester_done(request: HelpRequest, feedback: str) -> None:
    """An SMS to the phone that asked: done, what was done, and that a rating is welcome. Best
    effort: a gateway failure is logged, the request stays closed."""
    from residents.sms import SmsError, send_sms

    message = _(
        "Linli: your help request %(ref)s is done (%(feedback)s). Rate it under Help on the resident pages."
    ) % {
        "ref": request.reference,
        "feedback": feedback.strip()[:60],
    }
    try:
        send_sms(request.phone, message)
    except SmsError:
        log.warning("could not tell %s that %s is done", mask_phone(request.phone), request.reference)


def do_withdraw(request: HelpRequest, resident: Resident) -> HelpRequest:
    """The resident no longer needs help: the open task is cancelled."""
    task = _task(request)
    if request.resident_id != resident.pk:
        raise HelpRequestError(_("This is not your request."), "not_yours")
    if task.status not in OPEN:
        raise HelpRequestError(_("This request is finished already."), "finished")
    do_cancel(task, None, _("Withdrawn by the resident"))
    return request


def do_rate(request: HelpRequest, resident: Resident, stars: int, comment: str = "") -> HelpRequest:
    """The resident's rating of a closed request: the task's evaluation (closed → evaluated). An
    unsatisfied rating is put before the community's answerable person."""
    if request.resident_id != resident.pk:
        raise HelpRequestError(_("This is not your request."), "not_yours")
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise HelpRequestError(_("Give one to five stars."), "bad_rating")
    task = _task(request)
    if task.status == TaskStatus.EVALUATED or request.rating is not None:
        raise HelpRequestError(_("You have rated this request already."), "rated")
    if task.status != TaskStatus.CLOSED:
        raise HelpRequestError(_("You can rate a request once it is done."), "not_done")
    comment = (comment or "").strip()[:300]
    evaluation = TaskEvaluation.SATISFIED if stars >= SATISFIED_FROM else TaskEvaluation.UNSATISFIED
    with transaction.atomic():
        locked = HelpRequest.objects.select_for_update().get(pk=request.pk)
        locked.rating, locked.rating_comment, locked.rated_at = stars, comment, timezone.now()
        locked.save(update_fields=["rating", "rating_comment", "rated_at"])
        note = ngettext("%(n)d star", "%(n)d stars", stars) % {"n": stars}
        do_evaluate(task, None, evaluation, f"{note}. {comment}".strip())
    if evaluation == TaskEvaluation.UNSATISFIED:
        owner = resolve_owner(task, "community")
        if owner.user is not None:
            notify(
                owner.user,
                _("A resident was not satisfied (%(stars)s): %(title)s") % {"stars": note, "title": task.title},
                task,
                NotificationKind.INFO,
            )
    return _refresh(request, locked)


def _task(request: HelpRequest) -> Task:
    if request.task_id is None:
        raise HelpRequestError(_("This request has not been routed yet."), "not_routed")
    return Task.objects.get(pk=request.task_id)


def _refresh(request: HelpRequest, locked: HelpRequest) -> HelpRequest:
    """The caller's instance brought up to date (cached relations dropped) after a locked change."""
    if request is not locked:
        request.refresh_from_db()
    return request


# --- where a request stands, in the resident's words ----------------------------------------------


def progress(request: HelpRequest) -> tuple[str, str]:
    """(key, label) of where the request stands, for the resident and Open311 status notes."""
    if request.stage == HelpStage.REJECTED:
        return "rejected", _("Not taken up")
    if request.stage in (HelpStage.VERIFYING, HelpStage.UNPLACED):
        return "verifying", _("Received: your community is checking who and where you are")
    status = request.task.status if request.task_id else TaskStatus.REPORTED
    labels = {
        TaskStatus.REPORTED: ("received", _("Received")),
        TaskStatus.REGISTERED: ("received", _("Received, waiting for someone to take it")),
        TaskStatus.DISPATCHED: ("assigned", _("Assigned to the person answerable for your building")),
        TaskStatus.HANDLING: ("handling", _("On the way")),
        TaskStatus.FED_BACK: ("handling", _("Done, being checked")),
        TaskStatus.CLOSED: ("done", _("Done: please rate it")),
        TaskStatus.EVALUATED: ("rated", _("Done and rated")),
        TaskStatus.CANCELLED: ("cancelled", _("Withdrawn or cancelled")),
    }
    return labels[status]


def is_open(request: HelpRequest) -> bool:
    """Open311 ``status``: open until the work is finished or the request was not taken up."""
    if request.stage == HelpStage.REJECTED:
        return False
    if request.task_id is None:
        return True
    return request.task.status in OPEN


def visible_to(user) -> QuerySet:
    """Requests ``user`` may read: inside their jurisdiction (core.scoping), plus the ones they
    took or filed themselves (a call taken for someone elsewhere, an Open311 client's own)."""
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.everything:
        return HelpRequest.objects.all()
    if not getattr(user, "is_authenticated", False):
        return HelpRequest.objects.none()
    return HelpRequest.objects.filter(jurisdiction.q_for(HelpRequest) | Q(taken_by=user))


def open_q() -> Q:
    """:func:`is_open` as a filter over requests."""
    return ~Q(stage=HelpStage.REJECTED) & (Q(task__isnull=True) | Q(task__status__in=OPEN))


def building_of(request: HelpRequest) -> Building | None:
    return Building.objects.filter(pk=request.building_id).first() if request.building_id else None
