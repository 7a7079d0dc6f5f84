"""Staff pages of gates and closed management: they render, they are scoped (404 outside the
jurisdiction), changes need gates.manage_closure (403), and closed management works end to end at
the gate: an exit is refused until a request for it is approved on the closure's page."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from core.models import ReadLog
from gates.choices import ApprovalStatus, ClosureRule, RefusalReason
from gates.models import Closure, ExitApproval, GateCheckReject, SupplyDelivery, SupplyRound
from gates.services import ensure_gate, record_checks
from geo.models import Household, Venue

DISTRICT = "420102"
COMPOUND = "420102001001001-01"
OTHER_COMPOUND = "420102001001002-01"


def client_for(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    return client


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def gate_check(person, direction: str = "out", at: dt.datetime | None = None) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "gate": "G1",
        "id_number": person.id_number,
        "direction": direction,
        "identity_checked": True,
        "temperature": 36.4,
        "mask": True,
        "at": (at or timezone.now()).isoformat(),
    }


@pytest.fixture
def scene(city):
    compound = city.compounds[COMPOUND]
    grid = city.grid(DISTRICT)
    community = grid.parent
    gate = ensure_gate(compound, code="G1", name="东门")
    resident = next(r for r in city.residents.values() if r.compound_id == compound.pk)
    return {
        "city": city,
        "compound": compound,
        "gate": gate,
        "resident": resident,
        "cw": city.staff("cw", "community_worker", community),
        "gw": city.staff("gw", "grid_worker", grid),
        "other_gw": city.staff("other-gw", "grid_worker", city.grid(DISTRICT, 2)),
        "cadre": city.staff("cadre", "cadre", grid),
    }


def make_closure(scene, **extra) -> Closure:
    now = timezone.now()
    data = {
        "compound": scene["compound"].pk,
        "rule": ClosureRule.IN_ONLY,
        "starts_at": local(now - dt.timedelta(hours=1)),
        "ends_at": local(now + dt.timedelta(days=14)),
        "reason": "确诊病例居住小区",
        "building": "",
    } | extra
    response = client_for(scene["cw"]).post(f"/gates/closures/new/?compound={scene['compound'].pk}", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Closure.objects.latest("pk")


def test_pages_render_for_a_community_worker(scene, django_assert_max_num_queries):
    client = client_for(scene["cw"])
    record_checks([gate_check(scene["resident"], "in")], scene["gw"])
    ensure_gate(scene["compound"], code="G2", name="西门")
    with django_assert_max_num_queries(12):  # one aggregate for the gates of the page, not one per gate
        response = client.get("/gates/")
    body = response.content.decode()
    assert "东门" in body and "西门" in body and "Checks today" in body
    assert {g.code: g.today["checks"] for g in response.context["page"]} == {"G1": 1, "G2": 0}
    assert response.context["totals"] == {"checks": 1, "refused": 0, "fevers": 0}

    body = client.get(f"/gates/{scene['gate'].pk}/").content.decode()
    resident = scene["resident"]
    assert resident.masked_name in body and resident.masked_id_number in body
    assert resident.name not in body and resident.id_number not in body
    assert ReadLog.objects.filter(user=scene["cw"], model="people.resident", object_id=resident.pk).exists()
    assert client.get(f"/gates/{scene['gate'].pk}/", {"show": "refused"}).status_code == 200

    assert "420102001001001-01" in client.get("/gates/closures/new/", {"q": "江岸"}).content.decode()
    form = client.get(f"/gates/closures/new/?compound={scene['compound'].pk}").content.decode()
    assert 'type="datetime-local"' in form and "Building (empty: the whole compound)" in form
    closure = make_closure(scene)
    body = client.get(f"/gates/closures/{closure.pk}/").content.decode()
    assert "Exit approvals" in body and "Open a supply round" in body and "Vegetable package" in body
    listing = client.get("/gates/closures/").content.decode()
    assert scene["compound"].name in listing and "In force" in listing
    assert client.get("/gates/closures/", {"state": "ended"}).status_code == 200
    assert client.get("/gates/refused-records/").status_code == 200
    assert client.get(f"/gates/new/?compound={scene['compound'].pk}").status_code == 200


def test_closure_defaults_follow_the_domain(scene):
    """domain.md §7: in only, at least 14 days."""
    client = client_for(scene["cw"])
    response = client.get(f"/gates/closures/new/?compound={scene['compound'].pk}")
    form = response.context["form"]
    assert form.initial["ends_at"] - form.initial["starts_at"] == dt.timedelta(days=14)
    assert form.fields["rule"].initial == ClosureRule.IN_ONLY


def test_another_grid_sees_nothing_of_this_one(scene):
    closure = make_closure(scene)
    client = client_for(scene["cw"])
    client.post(
        f"/gates/closures/{closure.pk}/exit-approvals/",
        {
            "id_number": scene["resident"].id_number,
            "purpose": "medical",
            "valid_from": local(timezone.now()),
            "valid_until": local(timezone.now() + dt.timedelta(hours=3)),
        },
    )
    approval = ExitApproval.objects.get()
    building = scene["city"].buildings[f"{COMPOUND}-01"]
    client.post(
        f"/gates/closures/{closure.pk}/supply-rounds/",
        {"building": building.pk, "day": timezone.localdate().isoformat(), "item": "蔬菜包", "unit_price": "10"},
    )
    supply_round = SupplyRound.objects.get()

    other = client_for(scene["other_gw"])
    for url in (
        f"/gates/{scene['gate'].pk}/",
        f"/gates/closures/{closure.pk}/",
        f"/gates/supply-rounds/{supply_round.pk}/",
    ):
        assert other.get(url).status_code == 404, url
    assert other.post(f"/gates/supply-rounds/{supply_round.pk}/", {"household": [1]}).status_code == 404
    assert other.post(f"/gates/exit-approvals/{approval.pk}/decide/", {"decision": "approve"}).status_code == 404
    assert other.post(f"/gates/closures/{closure.pk}/lift/").status_code == 404
    assert "东门" not in other.get("/gates/").content.decode()
    assert scene["compound"].name not in other.get("/gates/closures/").content.decode()
    assert other.get(f"/gates/closures/new/?compound={scene['compound'].pk}").status_code == 403  # no permission
    # the same grid's worker sees it all
    own = client_for(scene["gw"])
    assert own.get(f"/gates/closures/{closure.pk}/").status_code == 200
    assert own.get(f"/gates/supply-rounds/{supply_round.pk}/").status_code == 200


def test_changes_need_the_permission(scene):
    now = timezone.now()
    data = {
        "compound": scene["compound"].pk,
        "rule": ClosureRule.IN_ONLY,
        "starts_at": local(now),
        "ends_at": local(now + dt.timedelta(days=14)),
        "reason": "x",
    }
    cadre = client_for(scene["cadre"])
    assert cadre.post(f"/gates/closures/new/?compound={scene['compound'].pk}", data).status_code == 403
    assert cadre.get("/gates/closures/new/").status_code == 403
    assert cadre.post("/gates/new/", {"compound": scene["compound"].pk, "code": "G9", "name": "x"}).status_code == 403
    assert cadre.get("/gates/refused-records/").status_code == 403
    assert not Closure.objects.exists()

    closure = make_closure(scene)
    grid_worker = client_for(scene["gw"])
    assert grid_worker.get(f"/gates/closures/{closure.pk}/").status_code == 200  # may see
    assert grid_worker.post(f"/gates/closures/{closure.pk}/lift/").status_code == 403  # may not lift
    building = scene["city"].buildings[f"{COMPOUND}-01"]
    supply = {"building": building.pk, "day": timezone.localdate().isoformat(), "item": "x", "unit_price": "10"}
    assert grid_worker.post(f"/gates/closures/{closure.pk}/supply-rounds/", supply).status_code == 403
    # asking leave for a resident is open to the worker on the spot; deciding is not
    response = grid_worker.post(
        f"/gates/closures/{closure.pk}/exit-approvals/",
        {
            "person": scene["resident"].pk,
            "purpose": "dialysis",
            "valid_from": local(now),
            "valid_until": local(now + dt.timedelta(hours=4)),
        },
    )
    assert response.status_code == 302
    approval = ExitApproval.objects.get()
    assert grid_worker.post(f"/gates/exit-approvals/{approval.pk}/decide/", {"decision": "approve"}).status_code == 403
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.REQUESTED

    cw = client_for(scene["cw"])
    assert cw.post(f"/gates/closures/{closure.pk}/lift/").status_code == 302
    closure.refresh_from_db()
    assert closure.lifted_at is not None


def test_a_gate_is_created_for_a_compound_with_its_tracing_venue(scene):
    client = client_for(scene["cw"])
    compound = scene["compound"]
    response = client.post(
        f"/gates/new/?compound={compound.pk}", {"compound": compound.pk, "code": "G7", "name": "南门"}
    )
    assert response.status_code == 302
    assert Venue.objects.get(code="G7").kind == "gate"
    again = client.post(
        f"/gates/new/?compound={compound.pk}", {"compound": compound.pk, "code": "G7", "name": "又一个"}
    )
    assert again.status_code == 200 and "already used" in again.content.decode()
    other = scene["city"].compounds["420106001001001-01"]  # another district: out of scope
    assert client.get(f"/gates/new/?compound={other.pk}").status_code == 404


def test_exit_refused_under_closure_until_approved(scene):
    resident, gw = scene["resident"], scene["gw"]
    assert record_checks([gate_check(resident)], gw)[0].check.decision == "allow"  # no closure yet

    closure = make_closure(scene)
    at = timezone.now()
    refused = record_checks([gate_check(resident, at=at)], gw)[0].check
    assert (refused.decision, refused.refusal) == ("refuse", RefusalReason.EXIT_NOT_APPROVED)
    assert record_checks([gate_check(resident, "in", at=at)], gw)[0].check.decision == "allow"  # in only

    cw = client_for(scene["cw"])
    response = cw.post(
        f"/gates/closures/{closure.pk}/exit-approvals/",
        {
            "id_number": resident.id_number.lower(),  # typed with a small x is fine
            "purpose": "medical",
            "note": "协和医院复诊",
            "valid_from": local(at - dt.timedelta(minutes=10)),
            "valid_until": local(at + dt.timedelta(hours=4)),
        },
    )
    assert response.status_code == 302
    approval = ExitApproval.objects.get(person=resident)
    assert approval.status == ApprovalStatus.REQUESTED and approval.task_id
    # still refused while waiting
    assert record_checks([gate_check(resident, at=at)], gw)[0].check.refusal == RefusalReason.EXIT_NOT_APPROVED

    body = cw.get(f"/gates/closures/{closure.pk}/").content.decode()
    assert "Approve" in body and resident.masked_name in body
    assert (
        cw.post(f"/gates/exit-approvals/{approval.pk}/decide/", {"decision": "approve", "note": "同意"}).status_code
        == 302
    )
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED and approval.decided_by == scene["cw"]

    allowed = record_checks([gate_check(resident, at=at)], gw)[0].check
    assert (allowed.decision, allowed.refusal, allowed.approval_id) == ("allow", "", approval.pk)
    # decided once: a second decision is refused with a message, not an error
    response = cw.post(f"/gates/exit-approvals/{approval.pk}/decide/", {"decision": "refuse"}, follow=True)
    assert "already been decided" in response.content.decode()


def test_exit_request_checks_the_resident(scene):
    closure = make_closure(scene)
    outsider = next(r for r in scene["city"].residents.values() if r.compound_id != scene["compound"].pk)
    now = timezone.now()
    response = client_for(scene["cw"]).post(
        f"/gates/closures/{closure.pk}/exit-approvals/",
        {
            "id_number": outsider.id_number,
            "purpose": "medical",
            "valid_from": local(now),
            "valid_until": local(now + dt.timedelta(hours=2)),
        },
    )
    assert response.status_code == 200
    assert "Nobody with this identity number lives in the closed area." in response.content.decode()
    assert not ExitApproval.objects.exists()


def test_supply_round_deliveries_are_idempotent(scene):
    closure = make_closure(scene)
    client = client_for(scene["cw"])
    building = scene["city"].buildings[f"{COMPOUND}-01"]
    supply = {"building": building.pk, "day": timezone.localdate().isoformat(), "item": "蔬菜包", "unit_price": "10"}
    response = client.post(f"/gates/closures/{closure.pk}/supply-rounds/", supply)
    supply_round = SupplyRound.objects.get()
    assert response.url == f"/gates/supply-rounds/{supply_round.pk}/"
    assert client.post(f"/gates/closures/{closure.pk}/supply-rounds/", supply).status_code == 302
    assert SupplyRound.objects.count() == 1  # one round a day per building and item

    households = list(Household.objects.filter(building=building).order_by("pk").values_list("pk", flat=True))
    assert len(households) == 3
    body = client.get(f"/gates/supply-rounds/{supply_round.pk}/").content.decode()
    assert body.count('name="household"') == 3

    worker = client_for(scene["gw"])  # the worker on the spot ticks deliveries off
    worker.post(f"/gates/supply-rounds/{supply_round.pk}/", {"household": households[:2]})
    assert SupplyDelivery.objects.filter(supply_round=supply_round).count() == 2
    worker.post(f"/gates/supply-rounds/{supply_round.pk}/", {"household": households})  # again, plus one
    worker.post(f"/gates/supply-rounds/{supply_round.pk}/", {"household": households})
    assert SupplyDelivery.objects.filter(supply_round=supply_round).count() == 3
    other_building = Household.objects.exclude(building=building).first()
    worker.post(f"/gates/supply-rounds/{supply_round.pk}/", {"household": [other_building.pk]})
    assert SupplyDelivery.objects.filter(supply_round=supply_round).count() == 3  # not of this building

    page = client.get(f"/gates/supply-rounds/{supply_round.pk}/")
    assert (page.context["delivered"], page.context["waiting"], page.context["total"]) == (3, 0, 3)
    body = client.get(f"/gates/closures/{closure.pk}/").content.decode()
    assert "3/3" in body


def test_refused_records_are_listed_for_the_gate_s_community(scene, city):
    gw = scene["gw"]
    number = scene["resident"].id_number
    bad = gate_check(scene["resident"]) | {"id_number": number[:-1] + ("1" if number[-1] != "1" else "2")}
    outcome = record_checks([bad, gate_check(scene["resident"]) | {"gate": "NOPE"}], gw)
    assert [o.status for o in outcome] == ["rejected", "rejected"]
    assert GateCheckReject.objects.count() == 2

    def listed(user) -> list[str]:
        # from the page's own list, not the HTML: a random CSRF token can contain "G1"
        return [r.gate_code for r in client_for(user).get("/gates/refused-records/").context["page"].object_list]

    response = client_for(scene["cw"]).get("/gates/refused-records/")
    assert listed(scene["cw"]) == ["G1"]  # another gate's record belongs to that gate's community
    assert scene["resident"].id_number[:-1] not in response.content.decode()  # identity numbers masked
    far = city.staff("far-cw", "community_worker", city.grid("420106").parent)
    assert listed(far) == []
