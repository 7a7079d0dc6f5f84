"""Recording gate checks: the 四必, fever referral, red codes, closed management, idempotent sync."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from cases.choices import Category
from cases.services import do_identify
from gates.models import GateCheck, GateCheckReject
from gates.services import do_close, do_decide_exit, do_request_exit, ensure_gate, record_checks
from healthcode.choices import Colour, Rule
from healthcode.services import code_for, mint
from tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate_setup(city):
    compound = next(iter(city.compounds.values()))
    gate = ensure_gate(compound, code="G-EAST", name="东门")
    person = next(r for r in city.residents.values() if r.compound_id == compound.pk)
    volunteer = city.staff("volunteer", "grid_worker", person.grid)
    return gate, person, volunteer


def check(gate, person=None, **fields) -> dict:
    data = {
        "client_id": str(uuid.uuid4()),
        "gate": gate.code,
        "direction": "in",
        "identity_checked": True,
        "temperature": 36.5,
        "mask": True,
    }
    if person is not None:
        data["token"] = mint(code_for(person))[0]
    return data | fields


def test_a_normal_check_is_recorded_and_lets_the_person_through(gate_setup):
    gate, person, volunteer = gate_setup
    [outcome] = record_checks([check(gate, person)], volunteer)
    assert outcome.status == "recorded"
    data = outcome.as_dict()
    assert data["decision"] == "allow" and data["colour"] == "green"
    assert data["person"] == person.masked_name and person.name not in str(data)
    saved = GateCheck.objects.get()
    assert (saved.person_id, saved.method, saved.token_verdict) == (person.pk, "code", "valid")


def test_fever_opens_a_referral_task_and_turns_the_code_yellow(gate_setup):
    gate, person, volunteer = gate_setup
    [outcome] = record_checks([check(gate, person, temperature=37.6)], volunteer)
    data = outcome.as_dict()
    assert data["decision"] == "refuse" and data["refusal"] == "fever" and data["fever"] is True
    task = Task.objects.get(pk=data["task"])
    assert task.task_type == "refer" and task.resident_id == person.pk
    assert task.due_at - task.opened_at == dt.timedelta(hours=2)
    code = code_for(person)
    assert code.colour == Colour.YELLOW and code.reasons[0]["rule"] == Rule.GATE_FEVER
    # a normal reading afterwards clears the checkpoint reason
    record_checks(
        [check(gate, person, temperature=36.6, at=(timezone.now() + dt.timedelta(minutes=1)).isoformat())], volunteer
    )
    assert code_for(person).colour == Colour.GREEN


def test_a_red_code_is_refused(gate_setup):
    gate, person, volunteer = gate_setup
    do_identify(person, Category.CONFIRMED, None)
    [outcome] = record_checks([check(gate, person)], volunteer)
    assert outcome.as_dict()["refusal"] == "red_code"


def test_the_four_musts(gate_setup):
    gate, person, volunteer = gate_setup
    results = record_checks([check(gate, person, identity_checked=False), check(gate, person, mask=False)], volunteer)
    assert [r.as_dict()["refusal"] for r in results] == ["identity", "no_mask"]


def test_an_id_number_works_like_a_code(gate_setup):
    gate, person, volunteer = gate_setup
    [outcome] = record_checks([check(gate, id_number=person.id_number)], volunteer)
    assert outcome.status == "recorded" and GateCheck.objects.get().method == "id_number"


def test_resending_changes_nothing_and_bad_records_are_kept_with_their_reason(gate_setup):
    gate, person, volunteer = gate_setup
    good = check(gate, person)
    forged = check(gate, person)
    forged["token"] = forged["token"][:-3] + ("AAA" if not forged["token"].endswith("AAA") else "BBB")
    batch = [
        good,
        good,
        forged,
        check(gate, id_number="420102198001011234"),
        check(gate, person, temperature=55),
        {"nonsense": 1},
    ]
    first = [o.status for o in record_checks(batch, volunteer)]
    assert first == ["recorded", "recorded", "rejected", "rejected", "rejected", "rejected"]
    again = [o.status for o in record_checks([good], volunteer)]
    assert again == ["duplicate"]
    assert GateCheck.objects.count() == 1
    reasons = sorted(GateCheckReject.objects.values_list("reason", flat=True))
    assert reasons == ["bad_code", "bad_id_number", "bad_value", "bad_value"]
    assert all("LL1:" not in str(r.payload.get("token", ""))[16:] for r in GateCheckReject.objects.all())


def test_a_gate_out_of_the_volunteers_jurisdiction_is_refused(city, gate_setup):
    gate, person, _ = gate_setup
    other_grid = next(d for code, d in city.divisions.items() if d.level == "grid" and d.pk != person.grid_id)
    outsider = city.staff("outsider", "grid_worker", other_grid)
    [outcome] = record_checks([check(gate, person)], outsider)
    assert (outcome.status, outcome.reason) == ("rejected", "out_of_scope")


def test_closed_management_refuses_unapproved_exits_and_lets_approved_ones_out(gate_setup):
    gate, person, volunteer = gate_setup
    now = timezone.now()
    closure = do_close(
        gate.compound,
        rule="in_only",
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=14),
        reason="三民小区 14 天封闭",
        user=volunteer,
    )
    out, back_in = record_checks([check(gate, person, direction="out"), check(gate, person, direction="in")], volunteer)
    assert out.as_dict()["refusal"] == "exit_not_approved" and back_in.as_dict()["decision"] == "allow"
    approval = do_request_exit(
        closure,
        person,
        purpose="dialysis",
        note="透析",
        valid_from=now - dt.timedelta(minutes=5),
        valid_until=now + dt.timedelta(hours=4),
        user=volunteer,
    )
    do_decide_exit(approval, volunteer, approve=True, note="ok")
    [allowed] = record_checks([check(gate, person, direction="out")], volunteer)
    assert allowed.as_dict()["decision"] == "allow" and allowed.check.approval_id == approval.pk
    approval.task.refresh_from_db()
    assert approval.task.status == "closed"


def test_lookup_shows_only_the_minimum_and_is_read_logged(gate_setup, client):
    from core.models import ReadLog

    gate, person, volunteer = gate_setup
    client.force_login(volunteer)
    token = mint(code_for(person))[0]
    answer = client.post(
        "/api/gates/lookup", {"gate": gate.code, "token": token, "direction": "out"}, content_type="application/json"
    ).json()
    assert answer == {
        "verdict": "valid",
        "person": person.masked_name,
        "lives_here": True,
        "colour": "green",
        "closure": None,
        "exit_approved": None,
    }
    assert ReadLog.objects.filter(object_id=person.pk, action="gate").exists()
    typed = client.post(
        "/api/gates/lookup", {"gate": gate.code, "id_number": person.id_number}, content_type="application/json"
    ).json()
    assert typed["verdict"] == "id_number" and typed["person"] == person.masked_name


def test_the_gate_bundle_carries_keys_revocations_closures_and_approved_exits(gate_setup, client):
    gate, person, volunteer = gate_setup
    now = timezone.now()
    closure = do_close(
        gate.compound,
        rule="in_only",
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=14),
        reason="closed",
        user=volunteer,
    )
    approval = do_request_exit(
        closure,
        person,
        purpose="medical",
        note="",
        valid_from=now,
        valid_until=now + dt.timedelta(hours=3),
        user=volunteer,
    )
    do_decide_exit(approval, volunteer, approve=True)
    client.force_login(volunteer)
    bundle = client.get(f"/api/gates/{gate.code}/config").json()
    assert bundle["keys"] and "serials" in bundle["revocations"] and bundle["fever_threshold_c"] == 37.3
    assert [c["rule"] for c in bundle["closures"]] == ["in_only"]
    assert list(bundle["approved_exit_subjects"]) == [code_for(person).subject]
    assert person.id_number not in str(bundle) and person.name not in str(bundle)
