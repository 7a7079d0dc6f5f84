"""The staff visit pages: due and overdue visits in the jurisdiction (filtered, masked, read-logged),
the visit form (permission, out of scope = 404), recording a visit closing the task."""

from __future__ import annotations

from care.models import CareVisit
from care.tests.support import browser, care_staff, members_since
from care.visits import do_open_overdue_visits
from core.models import ReadLog
from people.models import Resident
from tasks.choices import TaskStatus, TaskType
from tasks.models import Task


def test_the_visits_page_lists_the_jurisdiction_masked_and_logged(city, django_assert_max_num_queries):
    members_since(12)
    grid = city.grid("420102", 1)
    worker = care_staff(city, "gw", "grid_worker", grid)
    client = browser(worker)
    with django_assert_max_num_queries(14):
        page = client.get("/care/visits/")
    html = page.content.decode()
    mine = list(Resident.objects.filter(grid=grid, key_groups__group="chronic").distinct())
    assert page.status_code == 200 and "6 residents" in html
    for person in mine:
        assert person.name in html and person.masked_phone in html and person.phone not in html
        assert person.id_number not in html
    assert set(ReadLog.objects.filter(user=worker, action="list").values_list("object_id", flat=True)) == {
        p.pk for p in mine
    }
    elsewhere = Resident.objects.exclude(grid=grid).filter(key_groups__group="chronic").first()
    assert elsewhere.name not in html
    overdue = client.get("/care/visits/", {"show": "overdue"}).content.decode()
    assert "2 residents" in overdue  # the two elderly living alone; the others are due in 2 days
    assert "2 residents" in client.get("/care/visits/", {"group": "elderly_alone"}).content.decode()


def test_recording_a_visit_through_the_form(city):
    members_since(30)
    grid = city.grid("420102", 1)
    worker = care_staff(city, "gw", "grid_worker", grid)
    do_open_overdue_visits()
    person = Resident.objects.filter(grid=grid, key_groups__group="elderly_alone").first()
    client = browser(worker)
    form = client.get(f"/care/visits/new/{person.pk}/")
    assert form.status_code == 200 and "Not visited yet" in form.content.decode()
    assert ReadLog.objects.filter(user=worker, action="view", object_id=person.pk).exists()
    response = client.post(
        f"/care/visits/new/{person.pk}/",
        {
            "visited_at": "2020-02-01T10:00",
            "kind": "home",
            "wellbeing": "needs_help",
            "needs": ["medicine", "repairs"],
            "note": "水管漏水",
        },
    )
    assert response.status_code == 302 and response.url == "/care/visits/"
    visit = CareVisit.objects.get()
    assert visit.needs == "medicine;repairs" and visit.visited_by == worker
    assert Task.objects.get(resident=person, task_type=TaskType.CARE_VISIT).status == TaskStatus.CLOSED
    future = client.post(
        f"/care/visits/new/{person.pk}/", {"visited_at": "2999-01-01T10:00", "kind": "home", "wellbeing": "well"}
    )
    assert future.status_code == 200 and "cannot be in the future" in future.content.decode()


def test_the_form_needs_the_permission_and_the_jurisdiction(city):
    grid = city.grid("420102", 1)
    person = Resident.objects.filter(grid=grid).first()
    elsewhere = Resident.objects.exclude(grid=grid).first()
    worker = care_staff(city, "gw", "grid_worker", grid)
    assert browser(worker).get(f"/care/visits/new/{elsewhere.pk}/").status_code == 404
    plain = care_staff(city, "plain", "cadre", grid, manage=False)
    assert browser(plain).get(f"/care/visits/new/{person.pk}/").status_code == 403
    assert "Record visit" not in browser(plain).get("/care/visits/").content.decode()
