"""The renovation API: the permission matrix of every endpoint (anonymous 401, no permission 403,
in scope 200/201, out of scope 404), a project taken through its steps, refusals as 400 with the
reason and nothing written, targets set by the city only."""

from __future__ import annotations

import json

from django.test import Client

from renovation.models import Consultation, Project, YearTarget
from renovation.services import do_select
from renovation.tests.conftest import DAY, OLD_A
from tests_support.clients import token_client


def post(client: Client, url: str, data: dict, method: str = "post"):
    return getattr(client, method)(url, json.dumps(data, default=str), content_type="application/json")


def test_permission_matrix(setting, district_user, community_user, cadre):
    mine = do_select(setting.programme, setting.old_a, 2021, on=DAY)
    theirs = do_select(setting.programme, setting.old_c, 2021, on=DAY)
    work = post(token_client(district_user), f"/api/renovation/projects/{mine.pk}/works", {"kind": "pipes"})
    work_id = work.json()["works"][0]["id"]
    reads = [
        "/api/renovation/progress",
        "/api/renovation/progress/monthly?year=2021",
        "/api/renovation/candidates",
        "/api/renovation/projects",
        f"/api/renovation/projects/{mine.pk}",
    ]
    for url in reads:
        assert Client().get(url).status_code == 401, url
        assert token_client(cadre).get(url).status_code == 403, url
        assert token_client(community_user).get(url).status_code == 200, url
    assert token_client(district_user).get(f"/api/renovation/projects/{theirs.pk}").status_code == 404
    district = setting.old_c.district_id
    assert (
        token_client(district_user)
        .get(f"/api/renovation/progress/monthly?year=2021&district_id={district}")
        .status_code
        == 404
    )
    writes = [
        ("/api/renovation/projects/{}/plan", {"on": DAY}),
        (
            "/api/renovation/projects/{}/consultations",
            {"held_on": DAY, "households": 9, "participating": 6, "in_favour": 5, "against": 1},
        ),
        ("/api/renovation/projects/{}/start", {"on": DAY}),
        ("/api/renovation/projects/{}/finish", {"on": DAY}),
        ("/api/renovation/projects/{}/cancel", {"reason": "x"}),
        ("/api/renovation/projects/{}/works", {"kind": "roofs"}),
        ("/api/renovation/projects/{}/spending", {"spent": 1}),
    ]
    for template, body in writes:
        assert post(Client(), template.format(mine.pk), body).status_code == 401, template
        assert post(token_client(community_user), template.format(mine.pk), body).status_code == 403, template
        assert post(token_client(district_user), template.format(theirs.pk), body).status_code == 404, template
    assert (
        post(token_client(community_user), f"/api/renovation/works/{work_id}", {"status": "dropped"}).status_code == 403
    )
    assert (
        post(
            token_client(community_user), "/api/renovation/projects", {"compound_code": OLD_A, "year": 2021}
        ).status_code
        == 403
    )
    select_other = {"compound_code": setting.old_b.code, "year": 2021}
    assert post(token_client(community_user), "/api/renovation/projects", select_other).status_code == 403
    theirs_new = {"compound_code": setting.new.code, "year": 2021}
    assert post(token_client(district_user), "/api/renovation/projects", theirs_new).status_code == 404
    assert Project.objects.get(pk=theirs.pk).status == "selected"


def test_a_project_through_the_api(setting, district_user):
    client = token_client(district_user)
    made = post(client, "/api/renovation/projects", {"compound_code": setting.old_b.code, "year": 2021, "on": DAY})
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    too_new = post(client, "/api/renovation/projects", {"compound_code": setting.old_b.code, "year": 2021})
    assert too_new.status_code == 400 and "already in an active project" in too_new.json()["detail"]
    planned = post(
        client, f"/api/renovation/projects/{pk}/plan", {"on": DAY, "budget": {"central": 200, "residents": 10}}
    )
    assert planned.json()["budget_total"] == "210.00" or float(planned.json()["budget_total"]) == 210
    assert post(client, f"/api/renovation/projects/{pk}/plan", {"budget": {"lottery": 1}}).status_code == 400
    short = {"held_on": DAY, "households": 90, "participating": 60, "in_favour": 44, "against": 10}
    assert post(client, f"/api/renovation/projects/{pk}/consultations", short).status_code == 201
    refused = post(client, f"/api/renovation/projects/{pk}/start", {"on": DAY})
    assert refused.status_code == 400 and "73% in favour" in refused.json()["detail"]
    bad_kind = short | {"kind": "rumour"}
    assert post(client, f"/api/renovation/projects/{pk}/consultations", bad_kind).status_code == 400
    enough = short | {"in_favour": 45, "kind": "vote", "held_on": "2021-03-02"}
    assert post(client, f"/api/renovation/projects/{pk}/consultations", enough).status_code == 201
    started = post(client, f"/api/renovation/projects/{pk}/start", {"on": "2021-03-05"})
    assert started.status_code == 200 and started.json()["status"] == "started"
    work = post(client, f"/api/renovation/projects/{pk}/works", {"kind": "elevator", "quantity": 2, "cost": 150})
    work_id = work.json()["works"][0]["id"]
    assert (
        post(client, f"/api/renovation/works/{work_id}", {"status": "finished", "on": "2021-08-01"}).status_code == 200
    )
    assert post(client, f"/api/renovation/projects/{pk}/spending", {"spent": 260}).json()["over_budget"] is True
    no_inspection = post(client, f"/api/renovation/projects/{pk}/finish", {"on": "2021-09-01"})
    assert no_inspection.status_code == 400
    done = post(client, f"/api/renovation/projects/{pk}/finish", {"on": "2021-09-01", "inspected_on": "2021-08-25"})
    assert done.json()["status"] == "finished"
    assert [s["status"] for s in done.json()["steps"]] == ["selected", "planned", "started", "finished"]
    body = client.get("/api/renovation/progress", {"year": 2021}).json()
    assert body["total"]["started"] == 1 and body["rows"][0]["target_start"] == 2
    assert client.get("/api/renovation/progress", {"year": 2030}).status_code == 400
    assert client.get("/api/renovation/progress", {"level": "planet"}).status_code == 400
    assert client.get("/api/renovation/projects", {"limit": -5, "offset": -1}).json()["count"] == 1
    assert Consultation.objects.count() == 2


def test_targets_are_set_by_the_city(setting, district_user, city_user):
    body = {"year": 2022, "district_code": "420102000000", "to_start": 4, "to_finish": 3, "budget": 900}
    assert post(token_client(district_user), "/api/renovation/targets", body, "put").status_code == 403
    made = post(token_client(city_user), "/api/renovation/targets", body, "put")
    assert made.status_code == 200 and made.json()["to_start"] == 4
    assert post(token_client(city_user), "/api/renovation/targets", body | {"year": 2030}, "put").status_code == 400
    assert (
        post(token_client(city_user), "/api/renovation/targets", body | {"district_code": "9"}, "put").status_code
        == 404
    )
    assert YearTarget.objects.filter(year=2022).count() == 1
