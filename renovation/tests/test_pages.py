"""The pages: a project taken planned → (consultation) → started → finished through the forms,
refusals shown with their reason (400, nothing written), candidates and selection, minutes, and
the permission matrix of every page (anonymous → login, no permission → 403, out of scope → 404)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from renovation.choices import ProjectStatus
from renovation.models import Consultation, Project, Work
from renovation.services import do_plan, do_record_consultation, do_select
from renovation.tests.conftest import DAY
from tests_support.clients import staff_client

D = dt.timedelta


def iso(day: dt.date) -> str:
    return day.isoformat()


@pytest.fixture
def project(setting):
    return do_select(setting.programme, setting.old_a, 2021, on=DAY)


@pytest.fixture
def other_project(setting):
    return do_select(setting.programme, setting.old_c, 2021, on=DAY)  # in 武昌


def test_a_project_goes_planned_consulted_started_finished_through_the_pages(project, district_user):
    client = staff_client(district_user)
    url = f"/renovation/projects/{project.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and b'id="form-plan"' in page.content
    plan = {"action": "plan", "on": iso(DAY + D(days=5)), "budget_central": "300", "budget_residents": "20"}
    assert client.post(url, plan).status_code == 302
    refused = client.post(url, {"action": "start", "on": iso(DAY + D(days=30))})
    assert refused.status_code == 400 and b"No consultation of the households" in refused.content
    minutes = SimpleUploadedFile("听证会纪要.pdf", b"%PDF minutes")
    consult = {
        "action": "consult",
        "held_on": iso(DAY + D(days=20)),
        "kind": "hearing",
        "households": "120",
        "participating": "90",
        "in_favour": "80",
        "against": "6",
        "minutes": minutes,
    }
    assert client.post(url, consult).status_code == 302
    assert client.post(url, {"action": "start", "on": iso(DAY + D(days=30))}).status_code == 302
    assert client.post(url, {"action": "work", "kind": "elevator", "quantity": "2", "cost": "120"}).status_code == 302
    work = Work.objects.get()
    finish = {"action": "finish", "inspected_on": iso(DAY + D(days=90)), "on": iso(DAY + D(days=95))}
    early = client.post(url, finish)
    assert early.status_code == 400 and b"1 work items are not finished yet" in early.content
    status = {"action": "work_status", "work": work.pk, "status": "finished", "on": iso(DAY + D(days=85))}
    assert client.post(url, status).status_code == 302
    assert client.post(url, {"action": "spending", "spent": "350"}).status_code == 302
    assert client.post(url, finish).status_code == 302
    project.refresh_from_db()
    assert project.status == ProjectStatus.FINISHED and project.finished_on == DAY + D(days=95)
    assert (project.planned_on, project.started_on) == (DAY + D(days=5), DAY + D(days=30))
    shown = client.get(url)
    assert b'id="over-budget"' in shown.content  # 350 spent of a 320 budget: allowed, flagged
    for step in ("Selected", "Planned", "Works started", "Finished"):
        assert step.encode() in shown.content
    consultation = Consultation.objects.get()
    download = client.get(f"/renovation/consultations/{consultation.pk}/minutes/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF minutes"


def test_bad_form_input_is_refused_with_the_reason(project, district_user):
    client = staff_client(district_user)
    url = f"/renovation/projects/{project.pk}/"
    votes = {
        "action": "consult",
        "held_on": iso(DAY),
        "kind": "survey",
        "households": "10",
        "participating": "8",
        "in_favour": "7",
        "against": "3",
    }
    response = client.post(url, votes)
    assert response.status_code == 400 and b"exceed the households taking part" in response.content
    assert client.post(url, {"action": "plan", "on": "not a date"}).status_code == 400
    assert client.post(url, {"action": "plan", "on": iso(DAY), "budget_city": "-1"}).status_code == 400
    assert client.post(url, {"action": "nonsense"}).status_code == 400
    assert not Consultation.objects.exists() and Project.objects.get().status == ProjectStatus.SELECTED


def test_candidates_list_old_compounds_and_select_one(setting, district_user, city):
    client = staff_client(district_user)
    page = client.get("/renovation/candidates/")
    assert page.status_code == 200
    assert setting.old_a.name.encode() in page.content and setting.old_b.name.encode() in page.content
    assert setting.old_c.name.encode() not in page.content  # 武昌: out of scope
    made = client.post("/renovation/candidates/", {"compound": setting.old_b.pk, "year": "2021", "on": iso(DAY)})
    assert made.status_code == 302 and Project.objects.get().compound == setting.old_b
    again = client.post("/renovation/candidates/", {"compound": setting.old_b.pk, "year": "2021", "on": iso(DAY)})
    assert again.status_code == 302 and Project.objects.count() == 1
    listed = client.get("/renovation/candidates/").content
    assert b"already in an active project" in listed and setting.old_b.code.encode() not in listed
    out = client.post("/renovation/candidates/", {"compound": setting.old_c.pk, "year": "2021", "on": iso(DAY)})
    assert out.status_code == 404


def test_city_command_sees_the_new_compound_is_not_a_candidate(setting, city_user):
    page = staff_client(city_user).get("/renovation/candidates/")
    assert setting.old_c.name.encode() in page.content and setting.new.name.encode() not in page.content


def test_permission_matrix(project, other_project, district_user, community_user, cadre):
    consultation = do_record_consultation(
        project,
        held_on=DAY,
        kind="survey",
        households=10,
        participating=8,
        in_favour=7,
        against=1,
        minutes=SimpleUploadedFile("m.pdf", b"x"),
    )
    other = do_record_consultation(
        other_project,
        held_on=DAY,
        kind="survey",
        households=10,
        participating=8,
        in_favour=7,
        against=1,
        minutes=SimpleUploadedFile("m.pdf", b"x"),
    )
    pages = [
        "/renovation/",
        "/renovation/candidates/",
        "/renovation/projects/",
        f"/renovation/projects/{project.pk}/",
        f"/renovation/consultations/{consultation.pk}/minutes/",
    ]
    for url in pages:
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and "/login/" in anonymous["Location"], url
        assert staff_client(cadre).get(url).status_code == 403, url
        assert staff_client(community_user).get(url).status_code == 200, url
        assert staff_client(district_user).get(url).status_code == 200, url
    for url in (f"/renovation/projects/{other_project.pk}/", f"/renovation/consultations/{other.pk}/minutes/"):
        assert staff_client(district_user).get(url).status_code == 404, url
    plan = {"action": "plan", "on": iso(DAY)}
    assert staff_client(community_user).post(f"/renovation/projects/{project.pk}/", plan).status_code == 403
    assert staff_client(community_user).post("/renovation/candidates/", {"compound": 1}).status_code == 403
    assert staff_client(district_user).post(f"/renovation/projects/{other_project.pk}/", plan).status_code == 404
    do_plan(project, on=DAY)
    assert Project.objects.get(pk=other_project.pk).status == ProjectStatus.SELECTED
