"""Two people deciding the same plan at once on PostgreSQL: the row lock serialises them, so one
accept wins and the other is refused (no roster written twice, no accepted-and-discarded plan);
two counsellor moves on one request likewise."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from tests_support.concurrency import race
from workforce.choices import TransitionRefused
from workforce.models import PlanEvent, RosterDay, RotationPlan, SupportRequest
from workforce.services import do_accept_plan, do_accept_support, do_ask_support, do_discard_plan, do_propose_plan

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_one_decision_per_plan(city, staffing):
    plan = do_propose_plan(city.divisions["420102001000"], timezone.localdate(), 5)
    accept = lambda: do_accept_plan(RotationPlan.objects.get(pk=plan.pk))  # noqa: E731
    discard = lambda: do_discard_plan(RotationPlan.objects.get(pk=plan.pk))  # noqa: E731
    assert race(accept, accept, discard, refused=TransitionRefused) == ["ok", "refused", "refused"]
    plan.refresh_from_db()
    decided = PlanEvent.objects.filter(plan=plan).exclude(action="proposed")
    assert decided.count() == 1 and decided.get().action == plan.status
    assert RosterDay.objects.count() == (4 * 5 if plan.status == "accepted" else 0)


def test_one_accept_per_support_request(city, staffing, counsellor):
    asker = city.staff("asker", "grid_worker", city.divisions["420102001001001"])
    made = do_ask_support(asker, "talk")
    accept = lambda: do_accept_support(SupportRequest.objects.get(pk=made.pk), counsellor)  # noqa: E731
    assert race(accept, accept, refused=TransitionRefused) == ["ok", "refused"]
