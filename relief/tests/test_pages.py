"""The relief pages: anonymous sent to log in, no permission 403, in scope 200, out of scope 404;
the decision and flag forms; the XLSX of totals."""

from __future__ import annotations

import io

from django.test import Client
from openpyxl import load_workbook

from core.models import ReadLog
from relief.choices import ApplicationStatus as S
from relief.models import Application, Flag, Match
from relief.tests.conftest import app_id
from tests_support.clients import staff_client


def test_pages_matrix(world):
    r1, r2 = app_id("R1"), app_id("R2")
    anonymous = Client()
    for url in (
        "/relief/",
        f"/relief/applications/{r1}/",
        "/relief/totals/",
        "/relief/totals.xlsx",
        "/relief/products/",
    ):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    jiangan = staff_client(world["jiangan"])
    home = jiangan.get("/relief/")
    assert home.status_code == 200 and "R1" in home.text and "R2" not in home.text
    assert "Screen submitted applications" in home.text
    assert jiangan.get(f"/relief/applications/{r1}/").status_code == 200
    assert jiangan.get(f"/relief/applications/{r2}/").status_code == 404
    assert ReadLog.objects.filter(model="relief.applicant", action="view").count() == 1
    street = staff_client(world["street"])
    assert street.get(f"/relief/applications/{r1}/").status_code == 200
    assert "Screen submitted applications" not in street.get("/relief/").text
    assert street.post("/relief/", {"action": "screen"}).status_code == 403
    assert street.post(f"/relief/applications/{r1}/", {"action": "withdraw", "note": "x"}).status_code == 403
    assert staff_client(world["hkb"]).post(f"/relief/applications/{r1}/", {"action": "screen"}).status_code == 403
    assert jiangan.post(f"/relief/applications/{r1}/", {"action": "decide"}).status_code == 403
    assert staff_client(world["ccb"]).get(f"/relief/applications/{r1}/").status_code == 404
    assert jiangan.get("/relief/products/").status_code == 200 and "汉口银行" in jiangan.get("/relief/products/").text


def test_bank_officer_decides_on_the_page(world):
    r1 = app_id("R1")
    hkb = staff_client(world["hkb"])
    page = hkb.get(f"/relief/applications/{r1}/")
    assert "Your bank&#x27;s decision" in page.text or "Your bank's decision" in page.text
    match = Match.objects.get(application_id=r1, bank__code="HKB")
    bad = hkb.post(
        f"/relief/applications/{r1}/",
        {"action": "decide", "match": match.pk, "decision": "approve", "amount_yuan": "20000"},
    )
    assert bad.status_code == 400 and "outside the product" in bad.text
    declined = hkb.post(f"/relief/applications/{r1}/", {"action": "decide", "match": match.pk, "decision": "decline"})
    assert declined.status_code == 400 and "needs a reason" in declined.text
    done = hkb.post(
        f"/relief/applications/{r1}/",
        {
            "action": "decide",
            "match": match.pk,
            "decision": "approve",
            "amount_yuan": "250000",
            "decided_on": "2020-05-06",
        },
    )
    assert done.status_code == 302
    assert Application.objects.get(pk=r1).status == S.APPROVED
    paid = hkb.post(
        f"/relief/applications/{r1}/", {"action": "disburse", "match": match.pk, "disbursed_on": "2020-05-09"}
    )
    assert paid.status_code == 302 and Application.objects.get(pk=r1).status == S.DISBURSED
    totals = staff_client(world["city"]).get("/relief/totals/")
    assert "¥250,000" in totals.text
    workbook = load_workbook(io.BytesIO(staff_client(world["city"]).get("/relief/totals.xlsx").content))
    assert list(workbook.worksheets[0].iter_rows(min_row=3, values_only=True)) == [("HKB", "汉口银行", 1, 250000)]


def test_reviewer_clears_a_flag_and_matches(world):
    r4 = app_id("R4")
    jiangan = staff_client(world["jiangan"])
    flag = Flag.objects.get(application_id=r4)
    assert (
        jiangan.post(f"/relief/applications/{r4}/", {"action": "clear_flag", "flag": flag.pk, "note": ""}).status_code
        == 400
    )
    assert (
        jiangan.post(f"/relief/applications/{r4}/", {"action": "clear_flag", "flag": flag.pk, "note": "ok"}).status_code
        == 302
    )
    assert Flag.objects.get(pk=flag.pk).status == "cleared"
    refused = jiangan.post(f"/relief/applications/{r4}/", {"action": "match"}, follow=True)
    assert "Only an eligible application" in refused.text  # still ineligible: registered outside the city
    response = jiangan.post("/relief/", {"action": "screen"})
    assert response.status_code == 302


def test_new_application_with_documents(city, relief, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.roles import grant_role
    from relief.tests.conftest import credit_code

    settings.MEDIA_ROOT = tmp_path
    assert Client().get("/relief/applications/new/").status_code == 302
    grid = city.staff("gw", "grid_worker", city.grid("420102"))
    grant_role(grid, "grid_worker")
    assert staff_client(grid).get("/relief/applications/new/").status_code == 403
    worker = city.staff("cw", "community_worker", city.divisions["420102001001"])
    grant_role(worker, "community_worker")
    client = staff_client(worker)
    assert client.get("/relief/applications/new/").status_code == 200
    form = {
        "fund": relief.fund.pk,
        "kind": "firm",
        "code": credit_code("420102", 5),
        "name": "江岸餐饮有限公司",
        "sector": "catering",
        "employees": "15",
        "annual_revenue_yuan": "1200000",
        "area": city.divisions["420102001001"].pk,
        "phone": "13800000009",
        "need": "rent",
        "amount_yuan": "300000",
        "purpose": "房租",
    }

    def pdf():
        return SimpleUploadedFile("licence.pdf", b"%PDF-1.4", content_type="application/pdf")

    missing = client.post("/relief/applications/new/", form | {"doc_business_licence": pdf()})
    assert missing.status_code == 400 and "required documents missing: financial_statement" in missing.text
    elsewhere = client.post("/relief/applications/new/", form | {"area": city.divisions["420106001001"].pk})
    assert elsewhere.status_code == 400  # not a choice: outside the worker's jurisdiction
    made = client.post(
        "/relief/applications/new/", form | {"doc_business_licence": pdf(), "doc_financial_statement": pdf()}
    )
    assert made.status_code == 302
    application = Application.objects.get()
    assert application.documents.count() == 2 and application.amount_fen == 300_000_00


def test_api_list_query_budget(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests_support.clients import token_client

    client = token_client(world["city"])
    client.get("/api/relief/applications")
    with CaptureQueriesContext(connection) as queries:
        assert len(client.get("/api/relief/applications").json()["results"]) == 4
    assert len(queries) <= 8
