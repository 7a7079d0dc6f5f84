"""The resident's side of help requests (mobile first, under /me/help/): ask, follow, withdraw,
rate; and my household. Residents see only their own requests, so no read log is written here."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from assistance.choices import HelpCategory, HelpChannel
from assistance.forms import AskForm, RateForm
from assistance.models import HelpRequest
from assistance.services import Ask, HelpRequestError, do_ask, do_rate, do_withdraw, progress
from core.middleware import client_ip
from geo.services import answerable_chain
from healthcode.choices import HEX, Colour
from healthcode.services import code_for
from people.models import Resident
from residents import auth
from tasks.choices import TaskStatus
from tasks.flow import OPEN

# what the resident sees of the answerable chain: the people nearest to them
CONTACT_LEVELS = ("building", "compound", "grid", "community")


def _mine(request: HttpRequest, pk: int) -> HelpRequest:
    item = HelpRequest.objects.select_related("task").filter(pk=pk, resident=request.resident).first()
    if item is None:
        raise Http404
    return item


@never_cache
@auth.resident_required
def my_requests(request: HttpRequest) -> HttpResponse:
    items = list(HelpRequest.objects.filter(resident=request.resident).select_related("task")[:50])
    for item in items:
        item.progress_key, item.progress_label = progress(item)
    return render(request, "assistance/me_list.html", {"items": items})


@never_cache
@auth.resident_required
@require_http_methods(["GET", "POST"])
def ask(request: HttpRequest) -> HttpResponse:
    form = AskForm(request.POST or None, request.FILES or None, initial={"category": request.GET.get("category")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = do_ask(
                Ask(
                    category=data["category"],
                    text=data["text"],
                    phone=request.resident.phone,
                    channel=HelpChannel.PORTAL,
                    resident=request.resident,
                    phone_verified=True,
                    photo=data.get("photo"),
                    ip=client_ip(request),
                )
            )
        except HelpRequestError as exc:
            field = {"empty_text": "text", "text_too_long": "text", "bad_category": "category"}.get(exc.code)
            if exc.code.startswith(("photo", "bad_photo")):
                field = "photo"
            form.add_error(field, str(exc))
        else:
            messages.success(
                request, _("Your request %(ref)s was sent. You can follow it here.") % {"ref": item.reference}
            )
            return redirect("help_me:detail", pk=item.pk)
    return render(request, "assistance/me_ask.html", {"form": form, "categories": HelpCategory})


@never_cache
@auth.resident_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = _mine(request, pk)
    item.progress_key, item.progress_label = progress(item)
    task = item.task
    steps = []
    if task is not None:
        for event in task.events.exclude(to_status="").order_by("at", "id"):
            if event.to_status in (TaskStatus.REGISTERED,):
                continue  # bookkeeping the resident need not see
            steps.append({"at": event.at, "status": event.to_status, "label": event.get_to_status_display()})
    return render(
        request,
        "assistance/me_detail.html",
        {
            "item": item,
            "task": task,
            "steps": steps,
            "can_withdraw": task is not None and task.status in OPEN,
            "rate_form": RateForm() if task is not None and task.status == TaskStatus.CLOSED else None,
        },
    )


@auth.resident_required
@require_POST
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    item = _mine(request, pk)
    form = RateForm(request.POST)
    if form.is_valid():
        try:
            do_rate(item, request.resident, form.cleaned_data["stars"], form.cleaned_data["comment"])
        except HelpRequestError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Thank you for rating."))
    else:
        messages.error(request, _("Give one to five stars."))
    return redirect("help_me:detail", pk=item.pk)


@auth.resident_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    item = _mine(request, pk)
    try:
        do_withdraw(item, request.resident)
    except HelpRequestError as exc:
        messages.error(request, str(exc))
    return redirect("help_me:detail", pk=item.pk)


@never_cache
@auth.resident_required
def household(request: HttpRequest) -> HttpResponse:
    """My household: who lives here (masked, with their code colour) and whom to call."""
    resident = request.resident
    members = (
        list(Resident.objects.filter(household_id=resident.household_id, merged_into__isnull=True).order_by("id"))
        if resident.household_id
        else [resident]
    )
    for member in members:
        code = code_for(member)
        member.colour_label, member.colour_hex = Colour(code.colour).label, HEX[Colour(code.colour)]
    contacts = []
    if resident.building_id:
        for link in answerable_chain(resident.building):
            if link.level in CONTACT_LEVELS:
                for assignment in link.assignments:
                    contacts.append({"level": link.level, "node": link.node, "user": assignment.user})
    return render(
        request,
        "assistance/me_household.html",
        {"resident": resident, "household": resident.household, "members": members, "contacts": contacts},
    )
