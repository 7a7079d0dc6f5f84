"""Import API: upload a file, push records, read summaries and rejected rows."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from ninja import File, Router, Schema
from ninja.errors import HttpError
from ninja.files import UploadedFile

from core.audit import log_reads
from core.choices import ReadAction, RejectStatus
from core.imports.errors import ImportFileError
from core.imports.privacy import masked_row
from core.imports.runner import resubmit_rejection, run_import, run_import_rows
from core.models import ImportBatch, ImportRejection
from core.paging import window

router = Router(tags=["imports"])
MAX_PUSHED_RECORDS = 10_000


class MeOut(Schema):
    username: str
    full_name: str
    permissions: list[str]


class SummaryOut(Schema):
    batch: int
    kind: str
    status: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: dict[str, int]
    linked: dict[str, int]
    error: str


class RejectOut(Schema):
    id: int
    row_number: int
    reason: str
    column: str
    detail: str
    message: str
    status: str
    data: dict


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise HttpError(403, "permission denied")


def _visible(request):
    qs = ImportBatch.objects.all()
    if request.user.is_superuser or request.user.has_perm("core.see_whole_city"):
        return qs
    return qs.filter(user=request.user)


@router.get("/me", response=MeOut, tags=["auth"])
def me(request):
    return {
        "username": request.user.username,
        "full_name": request.user.get_full_name(),
        "permissions": sorted(request.user.get_all_permissions()),
    }


# Declared before POST /imports/{kind}, with an int converter: Django tries the patterns in order,
# and "imports/<kind>" (POST only) would otherwise answer every GET of a batch with 405.
@router.get("/imports/{int:batch_id}", response=SummaryOut)
def import_summary(request, batch_id: int):
    _require(request, "core.run_imports")
    return get_object_or_404(_visible(request), pk=batch_id).summary()


@router.post("/imports/{kind}", response={200: SummaryOut, 400: dict})
def upload(request, kind: str, file: UploadedFile = File(...)):
    """Import a CSV/XLSX file of one kind; same rules and summary as ``linli import``."""
    _require(request, "core.run_imports")
    if file.size > settings.LINLI_MAX_UPLOAD_BYTES:
        return 400, {"error": f"file too large: {file.size} > {settings.LINLI_MAX_UPLOAD_BYTES} bytes"}
    try:
        batch = run_import(kind, file.read(), filename=file.name or "", user=request.user, source="api")
    except ImportFileError as exc:
        return 400, {"error": str(exc)}
    return batch.summary()


@router.post("/imports/{kind}/records", response={200: SummaryOut, 400: dict})
def push_records(request, kind: str, records: list[dict]):
    """Records pushed one at a time or in batches, as objects keyed by the contract's column names."""
    _require(request, "core.run_imports")
    if len(records) > MAX_PUSHED_RECORDS:
        return 400, {"error": f"at most {MAX_PUSHED_RECORDS} records per call"}
    try:
        batch = run_import_rows(kind, records, user=request.user, source="api", label="api push")
    except ImportFileError as exc:
        return 400, {"error": str(exc)}
    return batch.summary()


@router.get("/imports/{batch_id}/rejects", response=list[RejectOut])
def import_rejects(request, batch_id: int, offset: int = 0, limit: int = 100, unmasked: bool = False):
    """The refused rows as sent, identity numbers and phones masked (domain.md §2); ``unmasked=true``
    shows them in full to staff who may reveal identities, and that read is logged as such."""
    _require(request, "core.run_imports")
    if unmasked:
        _require(request, "people.view_full_identity")
    batch = get_object_or_404(_visible(request), pk=batch_id)
    rows = list(batch.rejections.order_by("row_number")[window(offset, limit, 1000)])
    action = ReadAction.FULL_IDENTITY if unmasked else ReadAction.API_VIEW
    log_reads(request.user, action, ImportRejection, [r.pk for r in rows])
    return [
        {
            "id": r.pk,
            "row_number": r.row_number,
            "reason": r.reason,
            "column": r.column,
            "detail": r.detail,
            "message": r.sentence,
            "status": r.status,
            "data": r.data if unmasked else masked_row(r.kind, r.data),
        }
        for r in rows
    ]


class ResubmitIn(Schema):
    data: dict[str, str]


@router.post("/imports/rejects/{reject_id}/resubmit", response={200: SummaryOut, 400: dict, 409: dict})
def resubmit(request, reject_id: int, payload: ResubmitIn):
    """Send a corrected rejected row through the same import; the reject closes when it is accepted."""
    _require(request, "core.run_imports")
    reject = get_object_or_404(ImportRejection.objects.filter(batch__in=_visible(request)), pk=reject_id)
    if reject.status != RejectStatus.OPEN:
        return 409, {"error": f"reject is {reject.status}"}
    try:
        return resubmit_rejection(reject, payload.data, request.user).summary()
    except ImportFileError as exc:
        return 400, {"error": str(exc)}
