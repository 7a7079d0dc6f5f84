"""The relief API: the permission matrix of every endpoint (anonymous 401, no permission 403, in
scope 200, out of scope 404), bank officers seeing only their bank's shortlist, masking and read logs."""

from __future__ import annotations

import json

from django.test import Client

from core.models import ReadLog
from relief.choices import ApplicationStatus as S
from relief.models import Application, Flag
from relief.tests.conftest import SELF_ID, app_id
from tests_support.clients import token_client


def post(client: Client, url: str, data: dict | None = None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def test_anonymous_is_401_everywhere(world):
    anonymous = Client()
    r1 = app_id("R1")
    for method, url in (
        ("get", "/api/relief/applications"),
        ("get", f"/api/relief/applications/{r1}"),
        ("post", f"/api/relief/applications/{r1}/decisions"),
        ("post", "/api/relief/screen"),
        ("post", "/api/relief/match"),
        ("post", "/api/relief/flags/1/clear"),
        ("get", "/api/relief/totals"),
    ):
        response = getattr(anonymous, method)(url)
        assert response.status_code == 401, url


def test_scoping_of_area_staff_and_bank_officers(world):
    def references(user) -> list[str]:
        return sorted(r["reference"] for r in token_client(user).get("/api/relief/applications").json()["results"])

    assert references(world["jiangan"]) == ["R1", "R3", "R4"]
    assert references(world["wuchang"]) == ["R2"]
    assert references(world["city"]) == ["R1", "R2", "R3", "R4"]
    assert references(world["hkb"]) == ["R1", "R2", "R3"]  # catering firms in range: HKB's shortlist
    ccb = token_client(world["ccb"])
    assert sorted(r["reference"] for r in ccb.get("/api/relief/applications").json()["results"]) == ["R3"]
    assert ccb.get(f"/api/relief/applications/{app_id('R1')}").status_code == 404
    detail = ccb.get(f"/api/relief/applications/{app_id('R3')}").json()
    assert [m["bank_code"] for m in detail["matches"]] == ["CCB"]  # not the other banks' offers
    assert detail["applicant_code"] == "4201**********" + SELF_ID[-4:] and detail["phone"] == "139****5678"
    full = token_client(world["jiangan"]).get(f"/api/relief/applications/{app_id('R3')}").json()
    assert [m["bank_code"] for m in full["matches"]] == ["CCB", "HKB", "ICBC"]
    assert token_client(world["wuchang"]).get(f"/api/relief/applications/{app_id('R1')}").status_code == 404
    assert ReadLog.objects.filter(model="relief.applicant", action="api_view").count() == 2
    flagged = token_client(world["jiangan"]).get("/api/relief/applications", {"flagged": "true"}).json()
    assert [r["reference"] for r in flagged["results"]] == ["R4"]
    paged = token_client(world["city"]).get("/api/relief/applications", {"limit": -5, "offset": -3}).json()
    assert paged["count"] == 4 and len(paged["results"]) == 1


def test_decision_matrix(world):
    r1 = app_id("R1")
    url = f"/api/relief/applications/{r1}/decisions"
    approve = {"product_code": "A", "decision": "approve", "amount_yuan": "300000", "decided_on": "2020-05-06"}
    assert post(token_client(world["jiangan"]), url, approve).status_code == 403  # no decide_loan
    assert post(token_client(world["ccb"]), url, approve).status_code == 404  # not shortlisted to CCB
    assert post(token_client(world["hkb"]), "/api/relief/applications/999999/decisions", approve).status_code == 404
    assert post(token_client(world["hkb"]), url, approve | {"product_code": "Z"}).status_code == 404
    refused = post(token_client(world["hkb"]), url, approve | {"amount_yuan": "900000"})
    assert refused.status_code == 400 and refused.json()["detail"].startswith("amount_above_request")
    made = post(token_client(world["hkb"]), url, approve)
    assert made.status_code == 200, made.content
    assert made.json()["status"] == "approved" and made.json()["amount_yuan"] == 300000
    assert Application.objects.get(pk=r1).status == S.APPROVED
    again = post(token_client(world["hkb"]), url, approve)
    assert again.status_code == 400 and again.json()["detail"].startswith("decision_conflict")


def test_review_endpoints_matrix(world):
    flag = Flag.objects.get(application__reference="R4")
    assert post(token_client(world["street"]), "/api/relief/screen").status_code == 403
    assert post(token_client(world["street"]), "/api/relief/match").status_code == 403
    assert post(token_client(world["street"]), f"/api/relief/flags/{flag.pk}/clear", {"note": "x"}).status_code == 403
    assert post(token_client(world["hkb"]), "/api/relief/screen").status_code == 403
    assert post(token_client(world["wuchang"]), f"/api/relief/flags/{flag.pk}/clear", {"note": "x"}).status_code == 404
    empty = post(token_client(world["jiangan"]), f"/api/relief/flags/{flag.pk}/clear", {"note": " "})
    assert empty.status_code == 400
    cleared = post(token_client(world["jiangan"]), f"/api/relief/flags/{flag.pk}/clear", {"note": "branch office"})
    assert cleared.status_code == 200 and cleared.json()["status"] == "cleared"
    assert post(token_client(world["jiangan"]), "/api/relief/screen").json() == {
        "counts": {"eligible": 0, "ineligible": 0}
    }
    assert post(token_client(world["jiangan"]), "/api/relief/match").json() == {"counts": {"matched": 0}}


def test_totals_matrix(world):
    client = token_client(world["hkb"])
    post(
        client,
        f"/api/relief/applications/{app_id('R1')}/decisions",
        {"product_code": "A", "decision": "approve", "amount_yuan": "300000", "disbursed_on": None},
    )
    import datetime as dt

    from relief.models import Match
    from relief.services import do_disburse

    do_disburse(Match.objects.get(status="approved"), dt.date.today())  # noqa: DTZ011
    body = token_client(world["city"]).get("/api/relief/totals").json()
    assert (body["count"], body["yuan"]) == (1, 300000)
    assert body["by_bank"][0] == {"key": "HKB", "name": "汉口银行", "count": 1, "yuan": 300000}
    assert body["by_district"][0]["key"] == "420102000000"
    assert body["by_sector"][0]["key"] == "catering"
    assert token_client(world["wuchang"]).get("/api/relief/totals").json()["count"] == 0
    assert token_client(world["hkb"]).get("/api/relief/totals").json()["count"] == 1
    assert token_client(world["ccb"]).get("/api/relief/totals").json()["count"] == 0
