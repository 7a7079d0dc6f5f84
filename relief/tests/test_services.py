"""The actions one application at a time: submission with documents, screening, flags blocking
matching, bank decisions, disbursement, withdrawal, the transition table, and the totals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from relief.choices import TRANSITIONS, MatchStatus
from relief.choices import ApplicationStatus as S
from relief.models import Application, ApplicationEvent, Flag
from relief.services import (
    ApplicantData,
    ReliefError,
    do_clear_flag,
    do_decide,
    do_disburse,
    do_match,
    do_screen,
    do_submit,
    do_withdraw,
    totals,
)
from relief.tests.conftest import SELF_ID, credit_code


def upload(name="a.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4 demo", content_type="application/pdf")


def submit(relief, city, code=None, kind="firm", docs=("business_licence", "financial_statement"), **over):
    data = ApplicantData(
        kind=kind,
        code=code or credit_code("420102", 1),
        name="汉味餐饮",
        sector="catering",
        area=city.divisions["420102001001"],
        employees=12,
        annual_revenue_fen=2_000_000_00,
        phone=over.pop("phone", ""),
    )
    values = {"need": "payroll", "amount_fen": 500_000_00, "purpose": "工资", "documents": {d: upload() for d in docs}}
    return do_submit(relief.fund, data, **(values | over))


def test_submission_refusals_name_what_is_wrong(relief, city, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(ReliefError) as missing:
        submit(relief, city, docs=("business_licence",))
    assert missing.value.code == "missing_documents" and "financial_statement" in str(missing.value)
    with pytest.raises(ReliefError) as bad:
        submit(relief, city, code="91350100M000100Y44")
    assert bad.value.code == "applicant_code_check"
    with pytest.raises(ReliefError) as wrong_id:
        submit(relief, city, code="110105194912310021", kind="self_employed", docs=("business_licence", "id_card"))
    assert wrong_id.value.code == "applicant_code_check"
    with pytest.raises(ReliefError) as closed:
        submit(relief, city, submitted_at=dt.datetime(2020, 1, 5, tzinfo=dt.UTC))
    assert closed.value.code == "fund_not_open"
    assert not Application.objects.exists()
    application = submit(relief, city)
    assert application.documents.get(kind="financial_statement").file.name.startswith("relief/")
    assert (application.status, application.district.code) == (S.SUBMITTED, "420102000000")
    owner = submit(relief, city, code=SELF_ID, kind="self_employed", docs=("business_licence", "id_card"))
    assert owner.applicant.masked_code == "4201**********" + SELF_ID[-4:]


def test_screen_flags_block_matching_until_cleared(relief, city, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    first = submit(relief, city)
    second = submit(relief, city, amount_fen=200_000_00)
    assert list(second.flags.values_list("kind", "detail")) == [("duplicate_applicant", first.reference)]
    do_screen(second)
    with pytest.raises(ReliefError) as blocked:
        do_match(second)
    assert blocked.value.code == "open_flags"
    flag = second.flags.get()
    with pytest.raises(ReliefError):
        do_clear_flag(flag, None, "  ")
    do_clear_flag(flag, None, "the first was withdrawn by phone")
    assert do_match(second) == 3
    second.refresh_from_db()
    assert second.status == S.MATCHED
    assert list(second.matches.values_list("bank__code", "product__code", "rank")) == [
        ("CCB", "A", 1),
        ("HKB", "A", 2),
        ("ICBC", "A", 3),
    ]
    with pytest.raises(ReliefError):
        do_clear_flag(Flag.objects.get(pk=flag.pk), None, "again")
    kinds = list(ApplicationEvent.objects.filter(application=second).values_list("kind", flat=True))
    assert kinds == ["submitted", "flagged", "screened", "flag_cleared", "matched"]


def test_screening_again_after_a_document_is_added(relief, city, settings, tmp_path):
    from core.policy import DEFAULTS, do_update_policy
    from relief.services import do_add_document

    settings.MEDIA_ROOT = tmp_path
    application = submit(relief, city)
    do_update_policy(
        {
            "relief_required_documents": DEFAULTS["relief_required_documents"].default
            | {"firm": ["business_licence", "financial_statement", "tax_record"]}
        },
        None,
        "the fund now asks for tax records",
    )
    assert do_screen(application).reasons == [{"code": "missing_documents", "detail": "tax_record"}]
    do_add_document(application, "tax_record", upload())
    assert do_screen(application).status == S.ELIGIBLE


def _matched(relief, city, settings, tmp_path, amount_fen=500_000_00):
    settings.MEDIA_ROOT = tmp_path
    application = submit(relief, city, amount_fen=amount_fen)
    do_screen(application)
    do_match(application)
    return application, {m.bank.code: m for m in application.matches.select_related("bank", "product")}


def test_approval_rules_and_the_first_approval_wins(relief, city, settings, tmp_path):
    application, matches = _matched(relief, city, settings, tmp_path, amount_fen=200_000_00)
    with pytest.raises(ReliefError) as above:
        do_decide(matches["HKB"], "approve", amount_fen=200_000_01)
    assert above.value.code == "amount_above_request"
    with pytest.raises(ReliefError) as outside:
        do_decide(matches["ICBC"], "approve", amount_fen=50_000_00)
    assert outside.value.code == "amount_outside_range"
    with pytest.raises(ReliefError) as no_reason:
        do_decide(matches["CCB"], "decline")
    assert no_reason.value.code == "reason_required"
    with pytest.raises(ReliefError):
        do_decide(matches["CCB"], "approve", decided_on=dt.date.today() + dt.timedelta(days=2))  # noqa: DTZ011
    do_decide(matches["CCB"], "decline", reason="行业风险")
    approved = do_decide(matches["HKB"], "approve", amount_fen=150_000_00)
    assert (approved.rate, approved.term_months) == (relief.products["HKB-A"].rate, 12)
    application.refresh_from_db()
    assert application.status == S.APPROVED and application.approved_match_id == approved.pk
    matches["ICBC"].refresh_from_db()
    assert matches["ICBC"].status == MatchStatus.TAKEN
    with pytest.raises(ReliefError) as taken:
        do_decide(matches["ICBC"], "approve")
    assert taken.value.code == "decision_conflict"
    with pytest.raises(ReliefError):
        do_disburse(approved, dt.date.today() + dt.timedelta(days=1))  # noqa: DTZ011
    do_disburse(approved, dt.date.today())  # noqa: DTZ011
    application.refresh_from_db()
    assert application.status == S.DISBURSED
    found = totals(city.staff("boss", "city_command", city.divisions["420100000000"]))
    assert found["overall"] == {"count": 1, "fen": 150_000_00}
    assert found["by_bank"][0]["bank__code"] == "HKB"
    assert found["by_district"][0]["application__district__code"] == "420102000000"
    assert found["by_sector"][0]["application__applicant__sector"] == "catering"
    other_district = city.staff("wc", "district", city.divisions["420106000000"])
    assert totals(other_district)["overall"]["count"] == 0


def test_every_bank_declining_declines_and_withdrawal_closes(relief, city, settings, tmp_path):
    application, matches = _matched(relief, city, settings, tmp_path, amount_fen=200_000_00)
    for code in ("CCB", "HKB"):
        do_decide(matches[code], "decline", reason="no")
    application.refresh_from_db()
    assert application.status == S.MATCHED
    do_decide(matches["ICBC"], "decline", reason="no")
    application.refresh_from_db()
    assert application.status == S.DECLINED
    do_withdraw(application, None, "closing")
    other = submit(relief, city, code=credit_code("420102", 77))
    do_screen(other)
    do_match(other)
    do_withdraw(other, None, "firm reopened without a loan")
    assert set(other.matches.values_list("status", flat=True)) == {MatchStatus.CLOSED}
    with pytest.raises(ReliefError) as refused:
        do_screen(other)
    assert refused.value.code == "transition_refused"


def test_transition_table_is_closed_at_the_end():
    assert TRANSITIONS[S.DISBURSED] == frozenset() and TRANSITIONS[S.WITHDRAWN] == frozenset()
    assert S.APPROVED in TRANSITIONS[S.MATCHED] and S.MATCHED not in TRANSITIONS[S.SUBMITTED]
