"""Import pages (upload, summary, rejected rows: list, export, correct and resubmit) and the audit browser."""

from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import log_reads
from core.choices import ReadAction, RejectStatus
from core.imports.errors import ImportFileError
from core.imports.kinds import all_kinds, kind_label
from core.imports.privacy import masked_row
from core.imports.reasons import reason_label, reason_sentence
from core.imports.runner import resubmit_rejection, run_import
from core.models import ChangeLog, ImportBatch, ImportRejection, ReadLog


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"))
    file = forms.FileField(label=gettext_lazy("File (CSV or XLSX)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(name, kind_label(name)) for name in all_kinds()]


def _visible_batches(user):
    """Staff see their own imports; those who see the whole city see all."""
    qs = ImportBatch.objects.select_related("user")
    if user.is_superuser or user.has_perm("core.see_whole_city"):
        return qs
    return qs.filter(user=user)


@login_required
@permission_required("core.run_imports", raise_exception=True)
def imports(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        from django.conf import settings

        if upload.size > settings.LINLI_MAX_UPLOAD_BYTES:
            messages.error(
                request,
                _("The file is %(size)s bytes; the limit is %(limit)s bytes.")
                % {"size": upload.size, "limit": settings.LINLI_MAX_UPLOAD_BYTES},
            )
        else:
            try:
                batch = run_import(
                    form.cleaned_data["kind"], upload.read(), filename=upload.name, user=request.user, source="web"
                )
            except ImportFileError as exc:
                messages.error(request, str(exc))
            else:
                return redirect("core:import", pk=batch.pk)
    batches = _visible_batches(request.user)[:30]
    return render(request, "core/imports.html", {"form": form, "batches": batches, "kinds": all_kinds()})


@login_required
@permission_required("core.run_imports", raise_exception=True)
def import_detail(request, pk: int):
    batch = get_object_or_404(_visible_batches(request.user), pk=pk)
    rejects = Paginator(batch.rejections.order_by("row_number"), 100).get_page(request.GET.get("page"))
    reasons = [(code, n, reason_label(code)) for code, n in sorted(batch.rejected.items())]
    return render(
        request,
        "core/import_detail.html",
        {
            "batch": batch,
            "rejects": rejects,
            "reasons": reasons,
            "rows": [(r, r.sentence, masked_row(r.kind, r.data)) for r in rejects.object_list],
        },
    )


@login_required
@permission_required("core.run_imports", raise_exception=True)
def import_rejects_csv(request, pk: int):
    """Rejected rows as sent, plus reason code and sentences in both languages, ready to correct."""
    batch = get_object_or_404(_visible_batches(request.user), pk=pk)
    rejects = list(batch.rejections.order_by("row_number"))
    log_reads(request.user, ReadAction.EXPORT, ImportRejection, [r.pk for r in rejects])
    headers: list[str] = []
    for r in rejects:
        headers.extend(h for h in r.data if h not in headers)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "reason", "column", "detail", "reason_zh", "reason_en", "status", *headers])
    for r in rejects:
        writer.writerow(
            [
                r.row_number,
                r.reason,
                r.column,
                r.detail,
                reason_sentence(r.reason, r.column, r.detail, "zh-hans", kind=r.kind),
                reason_sentence(r.reason, r.column, r.detail, "en", kind=r.kind),
                r.status,
                *[r.data.get(h, "") for h in headers],
            ]
        )
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejects-{batch.kind}-{batch.pk}.csv"'
    return response


@login_required
@permission_required("core.run_imports", raise_exception=True)
def reject_detail(request, pk: int):
    reject = get_object_or_404(ImportRejection.objects.filter(batch__in=_visible_batches(request.user)), pk=pk)
    if request.method == "POST" and reject.status == RejectStatus.OPEN:
        if "dismiss" in request.POST:
            ImportRejection.objects.filter(pk=reject.pk).update(
                status=RejectStatus.DISMISSED, resolved_at=timezone.now(), resolved_by=request.user
            )
            messages.success(request, _("The row was dismissed."))
            return redirect("core:import", pk=reject.batch_id)
        corrected = {h: request.POST.get(f"field_{i}", "") for i, h in enumerate(reject.data)}
        try:
            batch = resubmit_rejection(reject, corrected, request.user)
        except ImportFileError as exc:
            messages.error(request, str(exc))
        else:
            if batch.rejected:
                problem = batch.rejections.first()
                messages.error(
                    request,
                    _("Still refused: %(reason)s") % {"reason": problem.sentence},
                )
            else:
                messages.success(request, _("The corrected row was imported."))
                return redirect("core:import", pk=reject.batch_id)
        reject.data = corrected
    log_reads(request.user, ReadAction.VIEW, ImportRejection, [reject.pk])  # the row in full, to correct it
    return render(
        request,
        "core/reject_detail.html",
        {
            "reject": reject,
            "fields": list(enumerate(reject.data.items())),
            "sentence": reject.sentence,
        },
    )


@login_required
@permission_required("core.view_audit", raise_exception=True)
def audit(request):
    """Both audit layers, filterable by user, model and object id."""
    log = request.GET.get("log", "changes")
    qs = (ChangeLog if log == "changes" else ReadLog).objects.select_related("user")
    if request.GET.get("user"):
        qs = qs.filter(user__username=request.GET["user"])
    if request.GET.get("model"):
        qs = qs.filter(model=request.GET["model"])
    if request.GET.get("object_id", "").isdigit():
        qs = qs.filter(object_id=int(request.GET["object_id"]))
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "core/audit.html", {"page": page, "log": log, "query": query.urlencode()})


@login_required
def policy_page(request):
    """The policy table: current values with their sources, editable by those allowed, with history."""
    import json

    from core.models import PolicyVersion
    from core.policy import DEFAULTS, do_update_policy, policy

    can_edit = request.user.has_perm("core.edit_policy")
    current = policy()
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        changes = {}
        try:
            for key in DEFAULTS:
                raw = request.POST.get(key, "").strip()
                if raw == "":
                    continue
                value = json.loads(raw) if raw[:1] in "{[" else raw
                if value != getattr(current, key) and str(value) != str(getattr(current, key)):
                    changes[key] = value
            if changes:
                version = do_update_policy(changes, request.user, request.POST.get("note", ""))
                messages.success(request, _("Saved as version %(n)s.") % {"n": version.number})
            return redirect("core:policy")
        except (ValueError, json.JSONDecodeError) as exc:
            messages.error(request, str(exc))
    rows = [
        (
            key,
            item.label,
            json.dumps(getattr(current, key), ensure_ascii=False)
            if isinstance(getattr(current, key), dict | list)
            else getattr(current, key),
            item.source,
        )
        for key, item in DEFAULTS.items()
    ]
    return render(
        request,
        "core/policy.html",
        {
            "rows": rows,
            "current": current,
            "can_edit": can_edit,
            "history": PolicyVersion.objects.all()[:50],
        },
    )
