"""The two import kinds: every reject reason kept with the row, re-imports that change nothing,
fraud flags raised set-based, decisions applied set-based."""

from __future__ import annotations

import datetime as dt

from core.models import ImportRejection
from relief.choices import ApplicationStatus as S
from relief.choices import MatchStatus
from relief.models import Applicant, Application, ApplicationEvent, Document, Flag, Match
from relief.services import do_clear_flag, do_match_all, do_screen_all
from relief.tests.conftest import SELF_ID, app_row, credit_code, decision_row, import_apps, import_decisions
from tests_support.city import valid_id


def test_bad_application_rows_are_kept_with_their_reasons(relief):
    good = app_row("R1", credit_code("420102", 1))
    rows = [
        good,
        app_row("R2", credit_code("420102", 2), fund_code="NOFUND"),
        app_row("R3", credit_code("420102", 3), submitted_at="2020-02-01 10:00:00"),
        app_row("R4", credit_code("420102", 4), area_code="420199001001"),
        app_row("R5", "91420102ABC"),
        app_row("R6", credit_code("420102", 6), documents="business_licence"),
        app_row("R7", SELF_ID, applicant_kind="个体工商户", documents="business_licence;id_card"),
        app_row("R8", SELF_ID, applicant_kind="firm"),  # the same code as another kind of applicant
        app_row("R9", credit_code("420102", 9), amount="-5"),
        app_row(
            "R10", valid_id("420106", "19900101", 21), applicant_kind="self_employed", documents="business_licence"
        ),
    ]
    batch = import_apps(rows)
    assert batch.inserted == 2
    assert batch.rejected == {
        "unknown_fund": 1,
        "fund_not_open": 1,
        "unknown_area": 1,
        "applicant_code_format": 1,
        "missing_documents": 2,
        "applicant_kind_conflict": 1,
        "invalid_number": 1,
    }
    missing = ImportRejection.objects.filter(reason="missing_documents").order_by("row_number")
    assert [r.detail for r in missing] == ["financial_statement", "id_card"]
    assert missing[0].data["reference"] == "R6"
    assert "Required documents missing: financial_statement" in missing[0].sentence
    again = import_apps(rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert ImportRejection.objects.filter(kind="relief_applications").count() == 8  # counted, not stored twice


def test_applicants_documents_and_updates(relief):
    rows = [
        app_row("R1", credit_code("420102", 1), documents="business_licence;financial_statement;lease"),
        app_row("R2", credit_code("420102", 1), amount="80000"),  # same firm, second application
        app_row(
            "R3",
            SELF_ID,
            applicant_kind="个体工商户",
            sector="餐饮",
            need="房租",
            documents="business_licence;id_card",
            area_code="420102001000",
        ),
    ]
    assert import_apps(rows).inserted == 3
    assert Applicant.objects.count() == 2
    owner = Applicant.objects.get(code=SELF_ID)
    assert (owner.kind, owner.sector, owner.street.code, owner.district.code) == (
        "self_employed",
        "catering",
        "420102001000",
        "420102000000",
    )
    assert owner.community_id is None
    r1 = Application.objects.get(reference="R1")
    assert sorted(r1.documents.values_list("kind", flat=True)) == ["business_licence", "financial_statement", "lease"]
    assert r1.amount_fen == 500_000_00 and r1.status == S.SUBMITTED
    assert ApplicationEvent.objects.filter(kind="imported").count() == 3
    changed = import_apps([rows[0] | {"amount": "450000"}])
    assert (changed.updated, changed.inserted) == (1, 0)
    assert Application.objects.get(reference="R1").amount_fen == 450_000_00
    do_screen_all()
    locked = import_apps([rows[0] | {"amount": "300000"}])
    assert locked.rejected == {"application_locked": 1}
    assert Document.objects.count() == 7


def test_fraud_flags(relief):
    rows = [
        app_row("R1", credit_code("420102", 1), phone="13800000001", bank_account="6222000011112222"),
        app_row("R2", credit_code("420102", 1)),  # same firm again in the file
        app_row("R3", credit_code("110105", 3)),  # registered in Beijing
        app_row("R4", credit_code("420100", 4)),  # registered with the city's own regulator: in the city
        app_row(
            "R5",
            SELF_ID[:17] + ("0" if SELF_ID[17] != "0" else "1"),
            applicant_kind="self_employed",
            documents="business_licence;id_card",
        ),
        app_row("R6", credit_code("420106", 6), phone="13800000001", area_code="420106001001"),
        app_row("R7", credit_code("420106", 7), bank_account="6222000011112222", area_code="420106001001"),
    ]
    import_apps(rows)
    flags = set(Flag.objects.values_list("application__reference", "kind", "detail"))
    assert flags == {
        ("R2", "duplicate_in_file", "R1"),
        ("R3", "outside_city", "110105"),
        ("R5", "code_check", rows[4]["applicant_code"]),
        ("R1", "shared_phone", "企业R6"),
        ("R6", "shared_phone", "企业R1"),
        ("R1", "shared_account", "企业R7"),
        ("R7", "shared_account", "企业R1"),
        ("R2", "shared_phone", "企业R6"),  # R2 is R1's firm again: same phone and account
        ("R2", "shared_account", "企业R7"),
    }
    import_apps([app_row("R8", credit_code("420102", 1))])  # a later file: another open application
    assert Flag.objects.get(application__reference="R8").kind == "duplicate_applicant"
    assert import_apps(rows).unchanged == 7
    assert Flag.objects.count() == 10  # nothing raised twice
    do_screen_all()
    assert do_match_all() == 1  # only R4 has no open flag; R3 is also ineligible (outside the city)
    for flag in Flag.objects.filter(application__reference="R2"):
        do_clear_flag(flag, None, "second branch of the same firm, its own phone line: checked")
    assert do_match_all() == 1
    assert Application.objects.get(reference="R2").status == S.MATCHED


def _matched(relief):
    import_apps(
        [
            app_row("R1", credit_code("420102", 1)),
            app_row("R2", credit_code("420106", 2), sector="manufacturing", amount="2000000", area_code="420106001001"),
        ]
    )
    do_screen_all()
    do_match_all()


def test_bad_decision_rows_are_kept_with_their_reasons(relief):
    _matched(relief)
    future = (dt.date.today() + dt.timedelta(days=5)).isoformat()  # noqa: DTZ011
    rows = [
        decision_row("NOPE", "HKB", "A"),  # issue #12's bad input: an unknown application
        decision_row("R1", "XXB", "A"),
        decision_row("R1", "CCB", "A"),
        decision_row("R1", "HKB", "Z"),
        decision_row("R1", "HKB", "A", amount="600000"),
        decision_row("R2", "ICBC", "A", amount="50000"),
        decision_row("R2", "CCB", "B", decided_on=future),
        decision_row("R2", "CCB", "B", decided_on="2020-13-01"),
        decision_row("R2", "ICBC", "A", disbursed_on="2020-05-01"),
        decision_row("R2", "ICBC", "A", amount=""),
        decision_row("R1", "ICBC", "A", "decline", reason=""),
    ]
    batch = import_decisions(rows)
    assert (
        batch.rejected
        == {
            "unknown_application": 1,
            "unknown_bank": 1,
            "bank_not_shortlisted": 1,
            "product_not_shortlisted": 1,
            "amount_above_request": 1,
            "amount_outside_range": 1,
            "invalid_date": 3,
            "missing_required": 2,
        }
        or batch.rejected
    )
    assert batch.inserted == 0
    first = ImportRejection.objects.get(reason="unknown_application")
    assert first.detail == "NOPE" and "No application has the reference NOPE" in first.sentence
    assert not Match.objects.exclude(status=MatchStatus.OPEN).exists()


def test_decisions_apply_and_reimport_changes_nothing(relief):
    _matched(relief)
    rows = [
        decision_row("R1", "HKB", "A", rate="3.6", term_months="24"),
        decision_row("R1", "ICBC", "A"),  # a second bank approving in the same file
        decision_row("R2", "ICBC", "A", "decline"),
        decision_row("R2", "CCB", "B", "decline"),
    ]
    batch = import_decisions(rows)
    assert (batch.inserted, batch.rejected) == (3, {"taken_by_another_bank": 1})
    r1, r2 = Application.objects.get(reference="R1"), Application.objects.get(reference="R2")
    assert (r1.status, r2.status) == (S.APPROVED, S.DECLINED)
    approved = r1.approved_match
    assert (approved.bank.code, approved.amount_fen, str(approved.rate), approved.term_months) == (
        "HKB",
        400_000_00,
        "3.60",
        24,
    )
    assert Match.objects.get(application=r1, bank__code="ICBC").status == MatchStatus.TAKEN
    again = import_decisions(rows[:1] + rows[2:])
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, {})
    paid = import_decisions([rows[0] | {"disbursed_on": "2020-05-09"}])
    assert (paid.updated, paid.rejected) == (1, {})
    assert Application.objects.get(reference="R1").status == S.DISBURSED
    conflict = import_decisions(
        [
            rows[0] | {"amount": "300000"},
            decision_row("R2", "CCB", "B", amount="1500000"),
            decision_row("R1", "ICBC", "A"),
        ]
    )
    assert conflict.rejected == {"decision_conflict": 2, "taken_by_another_bank": 1}
    assert ApplicationEvent.objects.filter(kind="disbursed").count() == 1
