"""Purpose-bound category decisions (issue #11, the Zhengzhou abuse): nobody's code turns red or
yellow through the four-category register without a legal basis. A member of staff names one from
the policy's list with a note (and, for a contact, a recorded case) on the web page, through the
API and in a bulk decision; without one the decision is refused and nothing changes. Feeds and
tracing carry their source reference. The log is append-only and shown to auditors; the resident
sees the basis, never the member of staff; the admin cannot change categories or colours."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone, translation

from beds.models import BedReport, Stay
from beds.tests.support import api, facility, post_json
from beds.tests.support import staff as beds_staff
from cases.choices import Category
from cases.models import CategoryEvent, PersonStatus
from cases.services import BasisRefused, do_identify, do_identify_many, do_transition
from core.imports.runner import run_import
from core.models import ReadLog
from core.policy import do_update_policy, policy
from healthcode.choices import Colour
from healthcode.models import ColourChange, HealthCode
from healthcode.services import code_for, recompute
from people.models import Resident
from tasks.models import Task
from tests_support.city import to_csv
from tests_support.clients import staff_client

pytestmark = pytest.mark.django_db

GRID = ("420102", 1)


@pytest.fixture
def people(city):
    """Four residents of 江岸 grid 1, all green, each with a code."""
    chosen = list(Resident.objects.filter(grid=city.grid(*GRID)).order_by("id")[:4])
    recompute([p.pk for p in chosen])
    return chosen


@pytest.fixture
def worker(city):
    """A grid worker: may decide categories in grid 1 (cases.change_personstatus)."""
    return city.staff("gw_basis", "grid_worker", city.grid(*GRID))


def untouched(person: Resident) -> bool:
    """Nothing about the person's category or code changed."""
    return (
        not PersonStatus.objects.filter(person=person).exists()
        and not CategoryEvent.objects.filter(person=person).exists()
        and code_for(person).colour == Colour.GREEN
        and not ColourChange.objects.filter(person=person).exclude(cause="first").exists()
    )


def identify(client: Client, person: Resident, **data) -> str:
    response = client.post(f"/cases/people/{person.pk}/identify/", data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


# --- the web form ------------------------------------------------------------------------------------


def test_the_web_form_refuses_a_decision_without_a_basis(people, worker):
    person = people[0]
    client = staff_client(worker)
    page = identify(client, person, category="confirmed", note="the bank asked us to")
    assert "Choose the legal basis" in page
    page = identify(client, person, category="confirmed", basis="bank_request", note="the bank asked us to")
    assert "is not a legal basis the policy lists" in page
    page = identify(client, person, category="confirmed", basis="fever_measured", note="37.5 at the gate")
    assert "cannot justify the category Confirmed" in page
    page = identify(client, person, category="fever", basis="fever_measured", note="  ")
    assert "Say why" in page
    assert untouched(person)


def test_with_a_basis_the_decision_is_made_and_logged(people, worker):
    person = people[0]
    client = staff_client(worker)
    before = timezone.now()
    page = identify(client, person, category="suspected", basis="clinical_diagnosis", note="CT: ground glass, clinic 3")
    assert "Recorded: Suspected." in page
    event = CategoryEvent.objects.get(person=person)
    assert (event.user, event.basis, event.note, event.source_kind, event.outcome) == (
        worker,
        "clinical_diagnosis",
        "CT: ground glass, clinic 3",
        "staff",
        "applied",
    )
    assert before <= event.recorded_at <= timezone.now() and before <= event.at <= timezone.now()
    assert PersonStatus.objects.get(person=person).basis == "clinical_diagnosis"
    code = HealthCode.objects.get(person=person)
    assert code.colour == Colour.RED
    assert {r["rule"]: r.get("basis") for r in code.reasons} == {"suspected": "clinical_diagnosis"}
    record = client.get(f"/cases/people/{person.pk}/").content.decode()
    assert "Clinical diagnosis" in record and "CT: ground glass, clinic 3" in record


def test_a_contact_of_a_case_must_name_a_recorded_case(people, worker, city):
    person, case, bystander, ruled_out = people
    do_identify(case, Category.CONFIRMED, None)
    do_identify(ruled_out, Category.SUSPECTED, None)
    do_transition(ruled_out, "excluded", None)
    client = staff_client(worker)
    contact = {"category": "close_contact", "basis": "contact_of_case", "note": "shared an office, 3 days"}
    assert "Name the recorded case" in identify(client, person, **contact)
    nobody = "11010519491231002X"  # a valid number no resident has
    assert "is not a recorded case" in identify(client, person, **contact, case_id_number=nobody)
    assert "is not a recorded case" in identify(client, person, **contact, case_id_number=bystander.id_number)
    assert "is not a recorded case" in identify(client, person, **contact, case_id_number=ruled_out.id_number)
    assert "own case" in identify(client, case, **contact, case_id_number=case.id_number)
    assert untouched(person)

    identify(client, person, **contact, case_id_number=case.id_number.lower())
    event = CategoryEvent.objects.get(person=person)
    assert (event.basis, event.basis_case, event.user) == ("contact_of_case", case, worker)
    assert code_for(person).colour == Colour.RED
    # the case named was looked up (in the whole city) and read-logged
    assert ReadLog.objects.filter(user=worker, model="people.resident", object_id=case.pk).exists()


def test_the_policy_lists_the_bases_and_is_versioned(people, worker):
    person = people[0]
    bases = dict(policy().category_change_bases)
    assert set(bases) >= {"lab_report", "clinical_diagnosis", "contact_of_case", "cdc_notice"}
    del bases["clinical_diagnosis"]
    version = do_update_policy({"category_change_bases": bases}, None, "no clinical-only suspects")
    page = identify(staff_client(worker), person, category="suspected", basis="clinical_diagnosis", note="CT")
    assert "is not a legal basis the policy lists" in page and untouched(person)
    assert version.number >= 1
    with pytest.raises(ValueError, match="unknown bases"):
        do_update_policy({"category_change_bases": {"bank_request": ["confirmed"]}}, None, "no")
    with pytest.raises(ValueError, match="unknown categories"):
        do_update_policy({"category_change_bases": {"cdc_notice": ["depositor"]}}, None, "no")


def test_the_service_refuses_every_path_without_a_basis(people, worker):
    """Whatever the caller: a signed-in user's decision is a staff decision; a feed's report
    without its source reference is refused too."""
    person = people[0]
    with pytest.raises(BasisRefused):
        do_identify(person, Category.CLOSE_CONTACT, worker, "told by phone")
    with pytest.raises(BasisRefused):
        do_identify(person, Category.CLOSE_CONTACT, worker, "told by phone", source_kind="system")
    with pytest.raises(BasisRefused):
        do_identify(person, Category.CONFIRMED, None, source_kind="staff")
    with pytest.raises(BasisRefused, match="source reference"):
        do_identify(person, Category.CONFIRMED, None, source_kind="feed")
    assert untouched(person)


# --- the API (beds: a walk-in admission puts a person new to the register into a category) -------


def test_the_api_refuses_a_walk_in_category_without_a_basis(people, city):
    person, case = people[0], people[1]
    do_identify(case, Category.CONFIRMED, None)
    clinic = facility("FV1", "fever_clinic")
    nurse = beds_staff(city, "nurse_basis", "420102000000", "hospital_liaison", "admit_patients")
    client = api(nurse)
    url = "/api/beds/facilities/FV1/admissions"
    refused = post_json(client, url, {"id_number": person.id_number, "category": "fever"})
    assert refused.status_code == 400 and "legal basis" in refused.json()["detail"]
    refused = post_json(
        client,
        url,
        {"person_id": person.pk, "category": "fever", "basis": "contact_of_case", "note": "x", "case_person_id": 10**9},
    )
    assert refused.status_code == 400 and "not a recorded case" in refused.json()["detail"]
    assert untouched(person) and not Stay.objects.exists() and not BedReport.objects.exists()
    clinic.refresh_from_db()
    assert (clinic.beds_occupied, clinic.beds_reserved) == (0, 0)

    admitted = post_json(
        client,
        url,
        {"person_id": person.pk, "category": "fever", "basis": "fever_measured", "note": "38.6 °C at triage"},
    )
    assert admitted.status_code == 201, admitted.content
    event = CategoryEvent.objects.get(person=person, to_state="identified")
    assert (event.user, event.basis, event.source_kind) == (nurse, "fever_measured", "staff")
    assert event.note.startswith("38.6 °C at triage")
    assert PersonStatus.objects.get(person=person).state == "placed"


def test_the_api_schema_documents_the_basis(city):
    admin = city.staff("schema_basis", "administrator", city.divisions["420100000000"])
    schema = api(admin).get("/api/openapi.json").json()
    walk_in = schema["components"]["schemas"]["WalkInIn"]["properties"]
    assert {"basis", "note", "case_person_id", "case_id_number"} <= set(walk_in)
    assert "category_change_bases" in walk_in["basis"]["description"]


def test_the_walk_in_page_asks_for_the_basis(people, city):
    person = people[0]
    facility("FV1", "fever_clinic")
    nurse = beds_staff(city, "nurse_page", "420102000000", "hospital_liaison", "admit_patients")
    client = staff_client(nurse)
    page = client.get("/beds/facilities/FV1/").content.decode()
    assert 'name="basis"' in page and 'name="case_id_number"' in page
    response = client.post("/beds/facilities/FV1/walk-in/", {"id_number": person.id_number, "category": "fever"})
    assert response.status_code == 302 and untouched(person) and not Stay.objects.exists()
    client.post(
        "/beds/facilities/FV1/walk-in/",
        {"id_number": person.id_number, "category": "fever", "basis": "fever_measured", "note": "38.1"},
    )
    assert Stay.objects.get(person=person).status == "admitted"
    assert CategoryEvent.objects.get(person=person, to_state="identified").basis == "fever_measured"


# --- a bulk decision -----------------------------------------------------------------------------------


def test_a_bulk_decision_needs_a_basis_and_changes_nobody_without_one(people, worker):
    case, *contacts = people
    do_identify(case, Category.CONFIRMED, None)
    ids = [p.pk for p in contacts]
    at = timezone.now()
    for kwargs in (
        {},
        {"basis": "contact_of_case", "note": "same office"},  # no case named
        {"basis": "lab_report", "note": "list from the bank"},  # cannot justify a contact
    ):
        with pytest.raises(BasisRefused):
            do_identify_many(
                ids,
                Category.CLOSE_CONTACT,
                at=at,
                source_kind="staff",
                source_ref_prefix="office",
                user=worker,
                **kwargs,
            )
    assert all(untouched(p) for p in contacts)

    outcome = do_identify_many(
        ids,
        Category.CLOSE_CONTACT,
        at=at,
        source_kind="staff",
        source_ref_prefix="office",
        user=worker,
        note="same office, 27 Jan",
        basis="contact_of_case",
        basis_case=case,
    )
    assert sorted(outcome.applied) == sorted(ids)
    events = CategoryEvent.objects.filter(person__in=contacts)
    assert {(e.user_id, e.basis, e.basis_case_id, e.note) for e in events} == {
        (worker.pk, "contact_of_case", case.pk, "same office, 27 Jan")
    }
    assert set(PersonStatus.objects.filter(person__in=contacts).values_list("basis", flat=True)) == {"contact_of_case"}
    assert {code_for(p).colour for p in contacts} == {Colour.RED}


# --- feeds keep working, with their source ------------------------------------------------------------


def test_feed_reports_carry_their_source_and_imply_their_basis(people):
    person, other = people[0], people[1]
    rows = [{"case_id": "WH-0001", "id_number": person.id_number, "classification": "confirmed"}]
    batch = run_import("case_reports", to_csv(rows), filename="cases.csv")
    assert batch.inserted == 1
    event = CategoryEvent.objects.get(person=person, to_state="identified")
    assert (event.source_kind, event.source_ref, event.basis) == ("feed", "case_reports:WH-0001", "case_report")
    assert code_for(person).colour == Colour.RED
    sampled = (timezone.now() - dt.timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S")
    rows = [{"sample_id": "HS-1", "id_number": other.id_number, "sampled_at": sampled, "result": "positive"}]
    run_import("lab_results", to_csv(rows), filename="lab.csv")
    event = CategoryEvent.objects.get(person=other, to_state="identified")
    assert (event.source_ref, event.basis) == ("lab_results:HS-1", "lab_report")


# --- what the resident sees ---------------------------------------------------------------------------


def test_the_resident_sees_the_basis_not_the_member_of_staff(people, worker, settings):
    from residents.sms import MemorySender
    from residents.tests.support import sign_in

    settings.LINLI_SMS_SENDER = "residents.sms.MemorySender"
    MemorySender.clear()
    person, case = people[0], people[1]
    person.phone = "13900009911"
    person.save()
    do_identify(case, Category.CONFIRMED, None)
    do_identify(person, Category.CLOSE_CONTACT, worker, "same lift, 25 Jan", basis="contact_of_case", basis_case=case)
    browser = Client()
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    sign_in(browser, person.phone)
    page = browser.get("/me/").content.decode()
    MemorySender.clear()
    assert "Close contact under observation" in page
    assert "basis: Epidemiological investigation: contact of a recorded case" in page
    assert worker.username not in page and "same lift" not in page and case.name not in page


# --- auditors ---------------------------------------------------------------------------------------


def test_auditors_see_every_decision_with_its_basis(people, worker, city):
    person = people[0]
    do_identify(person, Category.FEVER, worker, "37.9 at the follow-up", basis="fever_measured")
    auditor = city.staff("auditor_basis", "administrator", city.divisions["420100000000"])
    page = staff_client(auditor).get("/cases/decisions/").content.decode()
    assert worker.username in page and "37.9 at the follow-up" in page
    assert "Temperature measured at or above the fever threshold" in page
    assert person.masked_name in page and person.name not in page
    assert ReadLog.objects.filter(user=auditor, action="list", object_id=person.pk).exists()
    assert staff_client(worker).get("/cases/decisions/").status_code == 403


def test_the_log_is_append_only(people, worker):
    event = do_identify(people[0], Category.FEVER, worker, "37.9", basis="fever_measured")
    event.note = "nothing happened"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert CategoryEvent.objects.get(pk=event.pk).note == "37.9"


# --- the admin -----------------------------------------------------------------------------------------


def test_the_admin_cannot_change_categories_colours_or_what_colours_them(people, city):
    person = people[0]
    do_identify(person, Category.CONFIRMED, None)
    root = get_user_model().objects.create_superuser("root_basis", password="pw-root")
    admin = staff_client(root)
    code = HealthCode.objects.get(person=person)
    status = PersonStatus.objects.get(person=person)
    event = CategoryEvent.objects.get(person=person)
    for url in (
        "/admin/cases/personstatus/add/",
        f"/admin/cases/personstatus/{status.pk}/change/",
        f"/admin/cases/categoryevent/{event.pk}/change/",
        f"/admin/healthcode/healthcode/{code.pk}/change/",
        "/admin/healthcode/colourchange/add/",
        "/admin/healthcode/reasonwithdrawal/add/",
    ):
        assert admin.get(url).status_code == 404, url
        assert admin.post(url, {"colour": "green", "category": "fever", "reasons": "[]"}).status_code == 404, url
    code.refresh_from_db()
    assert code.colour == Colour.RED and PersonStatus.objects.get(person=person).category == "confirmed"
    # an overdue test task turns a code yellow: the admin neither opens one nor moves its deadline
    assert admin.get("/admin/tasks/task/add/").status_code == 403
    task = Task.objects.filter(resident=person, task_type="investigate").first()
    form = admin.get(f"/admin/tasks/task/{task.pk}/change/").content.decode()
    assert 'name="due_at' not in form and 'name="task_type"' not in form and 'name="status"' not in form


# --- risk areas elsewhere: an area colours every arrival, so it names its notice ------------------


def test_a_travel_area_needs_the_notice_it_comes_from(city):
    from healthcode.models import TravelRiskArea

    cdc = city.staff("cdc_basis", "cdc_epidemiologist", city.divisions["420100000000"])
    start = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = staff_client(cdc).post(
        "/healthcode/travel-areas/", {"area_code": "4101", "name": "郑州市", "level": "high", "valid_from": start}
    )
    assert response.status_code == 200
    with translation.override("en"):  # the error is lazy: read it in the language the page used
        assert "Name the published notice" in " ".join(response.context["form"].errors["source"])
    assert not TravelRiskArea.objects.exists()
