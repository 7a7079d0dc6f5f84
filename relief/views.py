"""Staff pages of relief finance: the applications I may see (with bulk screening and matching for
reviewers), one application (documents, reasons, flags to clear, the shortlist and, for a bank
officer, the decision form), the totals disbursed (with XLSX) and the banks' products.

Applications are read through relief.services.visible_applications (area staff: their area; bank
officers: their bank's shortlist); anything else answers 404. Applicant reads are read-logged.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.audit import log_reads
from core.choices import ReadAction
from relief.choices import ApplicationStatus, FlagStatus, MatchStatus, Sector
from relief.exports import totals_workbook
from relief.forms import ApplicationForm, DecisionForm, DisburseForm, NoteForm
from relief.models import Applicant, Bank, Flag, LoanProduct
from relief.rules import reason_text
from relief.services import (
    ApplicantData,
    ReliefError,
    bank_ids_of,
    do_clear_flag,
    do_decide,
    do_disburse,
    do_match,
    do_match_all,
    do_screen,
    do_screen_all,
    do_submit,
    do_withdraw,
    get_application_or_404,
    matches_seen_by,
    totals,
    visible_applications,
)

REVIEW, DECIDE, SUBMIT = "relief.review_application", "relief.decide_loan", "relief.submit_application"
PAGE_SIZE = 100


@login_required
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """The list; a reviewer's POST (``action`` = screen or match) runs the bulk step."""
    if request.method == "POST":
        if not request.user.has_perm(REVIEW):
            raise PermissionDenied
        if request.POST.get("action") == "screen":
            counts = do_screen_all(request.user)
            messages.success(request, _("Screened: %(eligible)d eligible, %(ineligible)d ineligible.") % counts)
        elif request.POST.get("action") == "match":
            messages.success(request, _("%(n)d applications matched to banks.") % {"n": do_match_all(request.user)})
        else:
            return HttpResponse(status=400)
        return redirect("relief:home")
    visible = visible_applications(request.user)
    by_status = dict(visible.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    rows = visible.select_related("applicant", "district").annotate(
        open_flags=Count("flags", filter=Q(flags__status=FlagStatus.OPEN))
    )
    status = request.GET.get("status", "")
    if status in ApplicationStatus.values:
        rows = rows.filter(status=status)
    if request.GET.get("flagged"):
        rows = rows.filter(open_flags__gt=0)
    page = Paginator(rows.order_by("-submitted_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    log_reads(request.user, ReadAction.LIST, Applicant, [a.applicant_id for a in page])
    cards = [(s, by_status.get(s.value, 0)) for s in ApplicationStatus]
    context = {
        "page": page,
        "cards": cards,
        "status": status,
        "flagged": bool(request.GET.get("flagged")),
        "can_review": request.user.has_perm(REVIEW),
        "is_bank": bool(bank_ids_of(request.user)),
        "can_submit": request.user.has_perm(SUBMIT),
    }
    return render(request, "relief/home.html", context)


def _render_application(request, application, forms: dict | None = None, status: int = 200) -> HttpResponse:
    forms = forms or {}
    matches = list(matches_seen_by(request.user, application))
    mine = [m for m in matches if m.bank_id in bank_ids_of(request.user)]
    can_decide = request.user.has_perm(DECIDE) and any(m.status == MatchStatus.OPEN for m in mine)
    open_mine = application.matches.filter(pk__in=[m.pk for m in mine], status=MatchStatus.OPEN)
    unpaid = [m for m in mine if m.status == MatchStatus.APPROVED and m.disbursed_on is None]
    disburse_form = forms.get("disburse")
    if disburse_form is None and unpaid and request.user.has_perm(DECIDE):
        disburse_form = DisburseForm(
            matches=application.matches.filter(pk=unpaid[0].pk),
            initial={"match": unpaid[0].pk, "disbursed_on": timezone.localdate()},
        )
    context = {
        "a": application,
        "applicant": application.applicant,
        "reasons": [reason_text(r) for r in application.reasons],
        "documents": application.documents.order_by("kind"),
        "flags": application.flags.select_related("cleared_by"),
        "matches": matches,
        "events": application.events.select_related("user").order_by("-at", "-id")[:50],
        "can_review": request.user.has_perm(REVIEW),
        "decision_form": forms.get("decide") or (DecisionForm(matches=open_mine) if can_decide else None),
        "disburse_form": disburse_form,
        "note_form": forms.get("note") or NoteForm(),
        "S": ApplicationStatus,
    }
    return render(request, "relief/application.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_application_or_404(request.user, pk=pk)
    if request.method == "GET":
        log_reads(request.user, ReadAction.VIEW, Applicant, [application.applicant_id])
        return _render_application(request, application)
    action = request.POST.get("action")
    needs = {"decide": DECIDE, "disburse": DECIDE}.get(action, REVIEW)
    if not request.user.has_perm(needs):
        raise PermissionDenied
    mine = application.matches.filter(bank_id__in=bank_ids_of(request.user))
    forms: dict = {}
    try:
        if action == "decide":
            form = forms["decide"] = DecisionForm(request.POST, matches=mine.filter(status=MatchStatus.OPEN))
            if form.is_valid():
                data = form.cleaned_data
                amount = data["amount_yuan"]
                do_decide(
                    data["match"],
                    data["decision"],
                    request.user,
                    amount_fen=None if amount is None else int((amount * 100).to_integral_value()),
                    rate=data["rate"],
                    term_months=data["term_months"],
                    decided_on=data["decided_on"],
                    disbursed_on=data["disbursed_on"],
                    reason=data["reason"],
                )
        elif action == "disburse":
            form = forms["disburse"] = DisburseForm(request.POST, matches=mine)
            if form.is_valid():
                do_disburse(form.cleaned_data["match"], form.cleaned_data["disbursed_on"], request.user)
        elif action in ("clear_flag", "withdraw"):
            form = forms["note"] = NoteForm(request.POST)
            if form.is_valid():
                if action == "withdraw":
                    do_withdraw(application, request.user, form.cleaned_data["note"])
                else:
                    flag = get_object_or_404(Flag, pk=form.cleaned_data["flag"] or 0, application=application)
                    do_clear_flag(flag, request.user, form.cleaned_data["note"])
        elif action == "screen":
            form = None
            do_screen(application, request.user)
        elif action == "match":
            form = None
            do_match(application, request.user)
        else:
            return HttpResponse(status=400)
    except ReliefError as exc:
        if form is None:
            messages.error(request, str(exc))
            return redirect("relief:application", pk=application.pk)
        form.add_error(None, str(exc))
    if form is not None and not form.is_valid():
        application.refresh_from_db()
        return _render_application(request, application, forms, status=400)
    messages.success(request, _("Recorded."))
    return redirect("relief:application", pk=application.pk)


@login_required
@require_http_methods(["GET", "POST"])
def new_application(request: HttpRequest) -> HttpResponse:
    """File an application for an applicant in the user's jurisdiction (relief.submit_application);
    refused with the names of missing documents, an invalid code or a closed fund."""
    if not request.user.has_perm(SUBMIT):
        raise PermissionDenied
    form = ApplicationForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        applicant = ApplicantData(
            kind=data["kind"],
            code=data["code"],
            name=data["name"],
            sector=data["sector"],
            area=data["area"],
            employees=data["employees"],
            annual_revenue_fen=data["annual_revenue_yuan"] * 100,
            phone=data["phone"],
        )
        try:
            application = do_submit(
                data["fund"],
                applicant,
                need=data["need"],
                amount_fen=data["amount_yuan"] * 100,
                purpose=data["purpose"],
                documents=form.documents(),
                by=request.user,
            )
        except ReliefError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Application %(ref)s submitted.") % {"ref": application.reference})
            return redirect("relief:application", pk=application.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "relief/new.html", {"form": form}, status=status)


def _labelled(found: dict) -> dict:
    labels = dict(Sector.choices)
    for row in found["by_sector"]:
        row["label"] = labels.get(row["application__applicant__sector"], row["application__applicant__sector"])
    return found


@login_required
def totals_page(request: HttpRequest) -> HttpResponse:
    return render(request, "relief/totals.html", {"t": _labelled(totals(request.user))})


@login_required
def totals_xlsx(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        totals_workbook(totals(request.user)),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="relief-totals-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


@login_required
def products(request: HttpRequest) -> HttpResponse:
    """The partner banks and their loan products (no personal data: every signed-in user)."""
    banks = Bank.objects.prefetch_related("products").annotate(n=Count("products")).order_by("code")
    labels = dict(Sector.choices)
    rows = [
        (p, ", ".join(str(labels.get(s, s)) for s in p.sector_list))
        for p in LoanProduct.objects.select_related("bank").order_by("bank__code", "code")
    ]
    return render(request, "relief/products.html", {"banks": banks, "rows": rows})
