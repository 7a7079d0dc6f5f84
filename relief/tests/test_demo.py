"""The demo on the small city, and issue #12 item 2's done-when through HTTP: a firm's application
matched to several banks; the demo bank officer approves; the application is approved and the
totals move."""

from __future__ import annotations

from django.utils import timezone

from relief import demo
from relief.choices import ApplicationStatus as S
from relief.choices import MatchStatus
from relief.models import Application, Bank, Flag, LoanProduct
from tests_support.clients import staff_client


def test_demo_leaves_a_firm_for_the_bank_officer_who_approves_it(city):
    lines: list[str] = []
    made = demo.set_up(log=lines.append)
    assert Bank.objects.count() == 22 and 22 <= LoanProduct.objects.count() <= 66
    assert made["applications"] >= 290 and made["decisions"] > 0
    assert set(Flag.objects.values_list("kind", flat=True)) >= {"duplicate_in_file", "outside_city", "code_check"}
    application = Application.objects.get(reference=made["demo_application"])
    assert application.applicant.kind == "firm" and application.status == S.MATCHED
    assert application.district.code == "420102000000"  # the busiest of the two (both equal: the first)
    open_matches = application.matches.filter(status=MatchStatus.OPEN).order_by("rank")
    assert open_matches.count() >= 2
    top = open_matches.first()
    from django.contrib.auth import get_user_model

    bank_user = get_user_model().objects.get(username="bank")
    assert bank_user.has_perm("relief.decide_loan")
    assert list(bank_user.bank_memberships.values_list("bank_id", flat=True)) == [top.bank_id]
    assert demo.set_up(log=lines.append) == {"applications": 0}

    boss = city.staff("boss", "city_command", city.divisions["420100000000"])
    from core.roles import grant_role

    grant_role(boss, "city_command")
    command = staff_client(boss)
    before = command.get("/api/relief/totals").json()

    officer = staff_client(bank_user)
    page = officer.get(f"/relief/applications/{application.pk}/")
    assert page.status_code == 200 and application.reference in page.text
    amount = min(application.amount_fen, top.product.max_fen) // 100
    approved = officer.post(
        f"/relief/applications/{application.pk}/",
        {
            "action": "decide",
            "match": top.pk,
            "decision": "approve",
            "amount_yuan": str(amount),
            "decided_on": timezone.localdate().isoformat(),
            "disbursed_on": timezone.localdate().isoformat(),
        },
    )
    assert approved.status_code == 302, approved.content[:2000]
    application.refresh_from_db()
    assert application.status == S.DISBURSED and application.approved_match_id == top.pk
    assert not application.matches.filter(status=MatchStatus.OPEN).exists()
    after = command.get("/api/relief/totals").json()
    assert after["count"] == before["count"] + 1
    assert after["yuan"] == before["yuan"] + amount

    def bank_count(body: dict) -> int:
        return next((r["count"] for r in body["by_bank"] if r["key"] == top.bank.code), 0)

    assert bank_count(after) == bank_count(before) + 1
