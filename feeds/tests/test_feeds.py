"""A day of hospital and CDC feeds through the real import: linkage, four categories, tasks."""

from __future__ import annotations

import pytest

from cases.models import CategoryConflict, CategoryEvent, PersonStatus
from core.imports.runner import run_import
from feeds.models import CaseReport, ClinicVisit
from people.models import LinkCandidate, Resident
from tasks.models import Task
from tests_support.city import to_csv, valid_id

pytestmark = pytest.mark.django_db


def person_columns(row: dict, **overrides) -> dict:
    values = {
        "id_number": row["id_number"],
        "name": row["name"],
        "sex": row["sex"],
        "birth_date": "",
        "phone": row["phone"],
        "address": "",
    }
    values.update(overrides)
    return values


@pytest.fixture
def staffed_city(city):
    for district in ("420102", "420106"):
        for n in (1, 2):
            city.staff(f"grid{district}{n}", "grid_worker", city.grid(district, n))
        city.staff(f"community{district}", "community_worker", city.divisions[f"{district}001001"])
    return city


def test_fever_visit_makes_fever_with_tasks_for_the_grid_worker(staffed_city):
    row = staffed_city.resident_rows[0]
    visit = {
        "visit_id": "V1",
        **person_columns(row),
        "hospital_code": "H01",
        "visited_at": "2020-02-05T09:00:00+08:00",
        "temperature": "38.2",
        "category": "",
        "onset_date": "2020-02-03",
    }
    batch = run_import("clinic_visits", to_csv([visit]))
    assert batch.inserted == 1 and batch.linked == {"id_number": 1}
    person = Resident.objects.get(id_number=row["id_number"])
    status = PersonStatus.objects.get(person=person)
    assert (status.category, status.state) == ("fever", "identified")
    tasks = Task.objects.filter(resident=person)
    assert set(tasks.values_list("task_type", flat=True)) == {"notify", "transfer", "test"}
    assert {t.assignee.username for t in tasks} == {"grid4201021"}
    again = run_import("clinic_visits", to_csv([visit]))
    assert again.unchanged == 1
    assert CategoryEvent.objects.filter(person=person).count() == 1
    assert Task.objects.filter(resident=person).count() == 3


def test_below_threshold_visit_changes_nothing(staffed_city):
    row = staffed_city.resident_rows[2]
    visit = {
        "visit_id": "V2",
        **person_columns(row),
        "hospital_code": "H01",
        "visited_at": "2020-02-05T09:00:00+08:00",
        "temperature": "37.2",
        "category": "other",
    }
    run_import("clinic_visits", to_csv([visit]))
    assert not PersonStatus.objects.exists()


def test_confirmed_in_hospital_is_placed_and_exclusion_conflicts(staffed_city):
    row = staffed_city.resident_rows[3]
    reports = [
        {
            "case_id": "C1",
            **person_columns(row),
            "classification": "confirmed",
            "onset_date": "2020-02-01",
            "sampled_at": "2020-02-04T10:00:00+08:00",
            "diagnosed_at": "2020-02-05T08:00:00+08:00",
            "severity": "severe",
            "hospital_code": "H-JINYINTAN",
        },
        {
            "case_id": "C2",
            **person_columns(row),
            "classification": "excluded",
            "diagnosed_at": "2020-02-05T18:00:00+08:00",
        },
    ]
    run_import("case_reports", to_csv(reports))
    person = Resident.objects.get(id_number=row["id_number"])
    status = PersonStatus.objects.get(person=person)
    assert (status.category, status.state, status.placement_kind) == ("confirmed", "placed", "designated_hospital")
    conflict = CategoryConflict.objects.get(person=person)
    assert conflict.status == "open" and conflict.event.to_state == "excluded"
    outcomes = list(CategoryEvent.objects.filter(person=person).order_by("id").values_list("to_state", "outcome"))
    assert outcomes == [("identified", "applied"), ("placed", "applied"), ("excluded", "conflict")]
    assert Task.objects.filter(resident=person, task_type="investigate").exists()
    assert Task.objects.filter(resident=person, task_type="review").exists()


def test_out_of_order_exclusion_is_stale_and_suspected_then_excluded(staffed_city):
    first, second = staffed_city.resident_rows[4], staffed_city.resident_rows[5]
    run_import(
        "case_reports",
        to_csv(
            [
                {
                    "case_id": "S1",
                    **person_columns(first),
                    "classification": "suspected",
                    "diagnosed_at": "2020-02-05T10:00:00+08:00",
                },
                {
                    "case_id": "S2",
                    **person_columns(second),
                    "classification": "suspected",
                    "diagnosed_at": "2020-02-05T10:00:00+08:00",
                },
            ]
        ),
    )
    run_import(
        "case_reports",
        to_csv(
            [
                {
                    "case_id": "E1",
                    **person_columns(first),
                    "classification": "excluded",
                    "diagnosed_at": "2020-02-05T20:00:00+08:00",
                },
                {
                    "case_id": "E2",
                    **person_columns(second),
                    "classification": "excluded",
                    "diagnosed_at": "2020-02-04T20:00:00+08:00",
                },  # older than the suspicion: stale
            ]
        ),
    )
    assert PersonStatus.objects.get(person__id_number=first["id_number"]).state == "excluded"
    assert PersonStatus.objects.get(person__id_number=second["id_number"]).state == "identified"
    assert CategoryEvent.objects.get(source_ref="case_reports:E2").outcome == "stale"


def test_stronger_report_upgrades_and_weaker_is_noted(staffed_city):
    row = staffed_city.resident_rows[6]
    run_import(
        "clinic_visits",
        to_csv(
            [
                {
                    "visit_id": "F1",
                    **person_columns(row),
                    "hospital_code": "H",
                    "visited_at": "2020-02-05T09:00:00+08:00",
                    "temperature": "38.5",
                }
            ]
        ),
    )
    run_import(
        "case_reports",
        to_csv(
            [
                {
                    "case_id": "U1",
                    **person_columns(row),
                    "classification": "confirmed",
                    "diagnosed_at": "2020-02-05T07:00:00+08:00",
                }
            ]
        ),
    )  # earlier, but stronger
    run_import(
        "clinic_visits",
        to_csv(
            [
                {
                    "visit_id": "F2",
                    **person_columns(row),
                    "hospital_code": "H",
                    "visited_at": "2020-02-05T19:00:00+08:00",
                    "temperature": "38.9",
                }
            ]
        ),
    )
    status = PersonStatus.objects.get(person__id_number=row["id_number"])
    assert status.category == "confirmed"
    assert CategoryEvent.objects.get(source_ref="clinic_visits:F2").outcome == "noted"


def test_rows_without_a_usable_identity_are_linked_or_rejected(staffed_city):
    row = staffed_city.resident_rows[7]
    typo = row["id_number"][:5] + str((int(row["id_number"][5]) + 1) % 10) + row["id_number"][6:]
    visits = [
        # mistyped identity number, name + phone right: linked by the model
        {
            "visit_id": "P1",
            **person_columns(row, id_number=typo),
            "hospital_code": "H",
            "visited_at": "2020-02-05T09:00:00+08:00",
            "temperature": "38.0",
        },
        # nobody we know: a new unregistered person, outside every jurisdiction
        {
            "visit_id": "P2",
            **person_columns(row, id_number=valid_id("110105", "19900101", 11), name="外地人", phone="13911112222"),
            "hospital_code": "H",
            "visited_at": "2020-02-05T09:00:00+08:00",
            "temperature": "38.0",
        },
        # no identity number and only a name: cannot be linked, rejected with the reason
        {
            "visit_id": "P3",
            **person_columns(row, id_number="", phone=""),
            "hospital_code": "H",
            "visited_at": "2020-02-05T09:00:00+08:00",
            "temperature": "38.0",
        },
    ]
    batch = run_import("clinic_visits", to_csv(visits))
    assert batch.rejected == {"missing_required": 1}
    assert batch.linked == {"probabilistic": 1, "new_person": 1}
    linked = ClinicVisit.objects.get(visit_id="P1")
    assert linked.person.id_number == row["id_number"] and linked.link_probability > 0.99
    stranger = ClinicVisit.objects.get(visit_id="P2").person
    assert stranger.registered is False and stranger.grid_id is None
    assert stranger.name_pinyin == "waidiren"
    from core.models import ChangeLog

    assert ChangeLog.objects.filter(model="people.resident", action="bulk_create", batch=batch).exists()
    assert PersonStatus.objects.get(person=stranger).category == "fever"


def test_ambiguous_rows_go_to_review_and_merge_is_reversible(staffed_city):
    from django.test import Client

    from people.models import PersonMerge

    building = staffed_city.resident_rows[0]["building_code"]
    twins = [
        {
            "id_number": valid_id("420102", "19950505", 31),
            "name": "张伟",
            "sex": "M",
            "phone": "13700000001",
            "building_code": building,
            "unit": "1",
            "room": "301",
            "residence_type": "registered",
            "tags": "",
        },
        {
            "id_number": valid_id("420102", "19950505", 33),
            "name": "张伟",
            "sex": "M",
            "phone": "13700000002",
            "building_code": building,
            "unit": "1",
            "room": "302",
            "residence_type": "registered",
            "tags": "",
        },
    ]
    run_import("residents", to_csv(twins))
    # same name and birth date as both, no identity number, an unknown phone: two equally good candidates
    visit = {
        "visit_id": "A1",
        "id_number": "",
        "name": "张伟",
        "sex": "M",
        "birth_date": "1995-05-05",
        "phone": "13899998888",
        "address": "",
        "hospital_code": "H",
        "visited_at": "2020-02-05T09:00:00+08:00",
        "temperature": "38.6",
    }
    batch = run_import("clinic_visits", to_csv([visit]))
    assert batch.linked == {"review": 1}
    record = ClinicVisit.objects.get(visit_id="A1")
    assert record.link_method == "review" and record.person.registered is False
    candidates = LinkCandidate.objects.filter(new_person=record.person)
    assert set(candidates.values_list("resident__id_number", flat=True)) == {t["id_number"] for t in twins}

    reviewer = staffed_city.staff("reviewer", "community_worker", staffed_city.divisions["420102001001"])
    client = Client()
    client.force_login(reviewer)
    page = client.get("/people/review/").content.decode()
    assert "张伟" in page and "same pronunciation" not in page
    chosen = candidates.get(resident__id_number=twins[1]["id_number"])
    assert client.post(f"/people/review/{chosen.pk}/decide/", {"decision": "same"}).status_code == 302
    record.refresh_from_db()
    assert record.person.id_number == twins[1]["id_number"]
    assert PersonStatus.objects.get(person=record.person).category == "fever"
    merge = PersonMerge.objects.get()
    client.post(f"/people/merges/{merge.pk}/undo/")
    record.refresh_from_db()
    assert record.person_id == merge.source_id and PersonStatus.objects.filter(person_id=merge.source_id).exists()


def test_case_reports_are_scoped_to_the_person(staffed_city):
    row = staffed_city.resident_rows[0]
    run_import("case_reports", to_csv([{"case_id": "Z1", **person_columns(row), "classification": "suspected"}]))
    report = CaseReport.objects.get(case_id="Z1")
    assert report.grid_id == Resident.objects.get(id_number=row["id_number"]).grid_id


def test_systems_push_records_through_the_api(staffed_city):
    import json

    from django.test import Client

    from core.models import ApiToken

    liaison = staffed_city.staff("his", "hospital_liaison", staffed_city.divisions["420100000000"])
    _, key = ApiToken.issue(liaison, "hospital HIS")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    row = staffed_city.resident_rows[9]
    one = {
        "visit_id": "API-1",
        **person_columns(row),
        "hospital_code": "H01",
        "visited_at": "2020-02-05T10:00:00+08:00",
        "temperature": "39.0",
    }
    response = client.post("/api/imports/clinic_visits/records", json.dumps([one]), content_type="application/json")
    assert response.status_code == 200 and response.json()["inserted"] == 1
    assert PersonStatus.objects.get(person__id_number=row["id_number"]).category == "fever"
