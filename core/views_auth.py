"""Sign-in pages: the password step (throttled), the code step for staff with an authenticator app,
and the page where a staff member turns the second factor on or off (issue #11)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import two_factor
from core.login import StaffLoginForm, client_address, lockout, record_attempt


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
    )


class StaffLoginView(LoginView):
    """The password step; with a confirmed authenticator the user is only pending until the code."""

    authentication_form = StaffLoginForm

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor.is_enabled(user):
            return super().form_valid(form)
        self.request.session[two_factor.PENDING_KEY] = {
            "user": user.pk,
            "backend": user.backend,
            "at": timezone.now().isoformat(),
            "next": self.get_redirect_url(),
        }
        return redirect("login-code")


def _pending_user(request: HttpRequest):
    pending = request.session.get(two_factor.PENDING_KEY)
    if not pending:
        return None, None
    started = dt.datetime.fromisoformat(pending["at"])
    if timezone.now() - started > dt.timedelta(minutes=two_factor.PENDING_MINUTES):
        del request.session[two_factor.PENDING_KEY]
        return None, None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return user, pending


def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: a fresh code signs the pending user in; wrong codes count as failed sign-ins."""
    user, pending = _pending_user(request)
    if user is None:
        messages.info(request, _("Please sign in again."))
        return redirect("login")
    form = CodeForm(request.POST or None)
    ip = client_address(request)
    locked = lockout(user.get_username(), ip)
    if request.method == "POST" and locked is None and form.is_valid():
        if two_factor.do_check_code(user, form.cleaned_data["code"], ip=ip):
            del request.session[two_factor.PENDING_KEY]
            record_attempt(user.get_username(), ip, succeeded=True)
            login(request, user, backend=pending["backend"])
            target = pending.get("next") or ""
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = resolve_url("home")
            return redirect(target or "home")
        form.add_error("code", _("That code is not right or was already used."))
        locked = lockout(user.get_username(), ip)
    if locked is not None:
        form.add_error(
            None, _("Too many failed sign-ins. Try again in %(minutes)s minutes.") % {"minutes": locked.minutes_left}
        )
    return render(request, "registration/login_code.html", {"form": form})


@login_required
def two_factor_settings(request: HttpRequest) -> HttpResponse:
    """Turn the authenticator on (scan, then confirm with a first code) or off (with a current code)."""
    user = request.user
    form = CodeForm(request.POST or None)
    action = request.POST.get("action", "")
    ip = client_address(request)
    if request.method == "POST":
        if action == "start":
            try:
                two_factor.do_start_enrolment(user)
            except ValueError:
                messages.info(request, _("Two-factor sign-in is already on."))
            return redirect("two-factor")
        if form.is_valid():
            code = form.cleaned_data["code"]
            if action == "confirm" and two_factor.do_check_code(user, code, ip=ip, confirm=True):
                messages.success(request, _("Two-factor sign-in is on: you will be asked for a code at every sign-in."))
                return redirect("two-factor")
            if action == "off" and two_factor.do_turn_off(user, code, ip=ip):
                messages.success(request, _("Two-factor sign-in is off."))
                return redirect("two-factor")
            form.add_error("code", _("That code is not right or was already used."))
    device = two_factor.device_of(user)
    pending = device is not None and device.confirmed_at is None
    return render(
        request,
        "core/two_factor.html",
        {
            "device": device,
            "form": form,
            "qr": two_factor.qr_svg_data_uri(device) if pending else "",
            "secret": device.secret if pending else "",
            "login_url": reverse("login"),
        },
    )
