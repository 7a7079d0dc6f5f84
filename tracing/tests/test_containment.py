"""The 24-hour workflow on the small city: a confirmed case is traced, its contacts put into their
categories with tasks for the answerable grid workers, its venues listed for disinfection, the
board shows every step, investigators' decisions survive re-tracing, and ``linli trace`` prints
the contract's JSON (audit-logged)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from cases.models import PersonStatus
from cases.services import do_identify
from core.imports.runner import run_import
from core.models import ReadLog
from tasks.models import Task
from tests_support.city import to_csv
from tracing.board import board, seal_finished_containments
from tracing.models import Containment
from tracing.services import do_contain, do_decide_contact
from tracing.tests.test_scans import import_venues, scan

SH = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def outbreak(city, django_capture_on_commit_callbacks):
    """Case A (room 101 with one other person) meets B at the market for 20 minutes; B later
    spends an hour at the restaurant with C; D overlaps A for only 10 minutes."""
    import_venues(city)
    rooms: dict[tuple, list[str]] = {}
    for row in city.resident_rows:
        rooms.setdefault((row["building_code"], row["room"]), []).append(row["id_number"])
    a, a_home = next((m[0], m[1]) for m in rooms.values() if len(m) == 2)
    others = [i for i in sorted(city.residents) if i not in (a, a_home)]
    b, c, d = others[0], others[5], others[9]
    rows = [
        scan("S1", a, "V1", "2020-01-25 10:00:00"),
        scan("S2", a, "V1", "2020-01-25 10:30:00", "out"),
        scan("S3", b, "V1", "2020-01-25 10:10:00"),  # 10:10-11:10: 20 minutes with A
        scan("S4", d, "V1", "2020-01-25 09:20:00"),
        scan("S5", d, "V1", "2020-01-25 10:10:00", "out"),  # 10 minutes with A: not a contact
        scan("S6", b, "V2", "2020-01-26 12:00:00"),
        scan("S7", c, "V2", "2020-01-26 12:15:00"),  # 30 minutes with B
    ]
    assert not run_import("scans", to_csv(rows), filename="scans.csv").rejected
    grid_worker = city.staff("grid1", "grid_worker", city.grid("420102", 1))
    city.staff("grid2", "grid_worker", city.grid("420102", 2))
    city.staff("grid3", "grid_worker", city.grid("420106", 1))
    city.staff("grid4", "grid_worker", city.grid("420106", 2))
    community = city.staff("comm", "community_worker", city.divisions["420102001001"])
    person = city.residents[a]
    with django_capture_on_commit_callbacks(execute=True):
        do_identify(
            person,
            "confirmed",
            None,
            at=dt.datetime(2020, 1, 27, 9, 0, tzinfo=SH),
            onset_date=dt.date(2020, 1, 26),
        )
    return {"a": a, "home": a_home, "b": b, "c": c, "d": d, "grid": grid_worker, "community": community}


def test_a_confirmed_case_starts_its_containment(outbreak, city):
    containment = Containment.objects.get(case__id_number=outbreak["a"])
    close = {t.id_number: t for t in containment.contacts.filter(degree=1)}
    secondary = {t.id_number: t for t in containment.contacts.filter(degree=2)}
    assert set(close) == {outbreak["home"], outbreak["b"]}
    assert outbreak["d"] not in close and outbreak["d"] not in secondary
    assert outbreak["c"] in secondary and secondary[outbreak["c"]].via_id_number == outbreak["b"]
    market = close[outbreak["b"]].reasons[0]
    assert (market["kind"], market["venue_code"], market["overlap_minutes"]) == ("venue", "V1", 20.0)
    assert close[outbreak["home"]].reasons[0]["kind"] == "household"
    # window: 00:00 two days before onset (26 Jan) until now
    assert containment.window_start == dt.datetime(2020, 1, 24, 0, 0, tzinfo=SH)
    assert containment.due_at == dt.datetime(2020, 1, 28, 9, 0, tzinfo=SH)
    # contacts are in their categories, with tasks for the answerable grid workers
    b = city.residents[outbreak["b"]]
    assert PersonStatus.objects.get(person=b).category == "close_contact"
    assert PersonStatus.objects.get(person__id_number=outbreak["c"]).category == "secondary_contact"
    # issue #11: each carries its source (the containment) and its basis, naming the recorded case
    for contact in (b, city.residents[outbreak["c"]]):
        event = contact.category_events.get(to_state="identified")
        assert event.source_kind == "tracing" and event.source_ref.startswith(f"containment:{containment.pk}:")
        assert (event.basis, event.basis_case_id) == ("contact_of_case", containment.case_id)
        assert PersonStatus.objects.get(person=contact).basis == "contact_of_case"
    b_lists = [
        t
        for t in Task.objects.filter(source=f"containment:{containment.pk}", subject_compound=b.compound)
        if "close contacts" in t.title
    ]
    assert sorted(t.task_type for t in b_lists) == ["notify", "test", "transfer"]
    grid_worker = b.grid.assignments.get(is_answerable=True).user
    assert {t.assignee_id for t in b_lists} == {grid_worker.pk}
    assert all(b.masked_id_number in t.detail for t in b_lists)
    c = city.residents[outbreak["c"]]
    c_lists = Task.objects.filter(
        source=f"containment:{containment.pk}", subject_compound=c.compound, task_type="notify"
    )
    assert any("secondary" in t.title and c.masked_id_number in t.detail for t in c_lists)
    disinfect = Task.objects.get(task_type="disinfect", venue__code="V1")
    assert disinfect.due_at == containment.due_at
    assert containment.venue_count == 1  # only the market: the case's stay is the one in the window


def test_the_board_shows_every_step_with_owners_and_time(outbreak):
    containment = Containment.objects.get(case__id_number=outbreak["a"])
    early = board(containment, now=dt.datetime(2020, 1, 27, 12, 0, tzinfo=SH))
    steps = {s.label: s for s in early.steps}
    assert steps["Contacts traced"].complete
    contacts = containment.contacts.select_related("person")
    close_compounds = {t.person.compound_id for t in contacts if t.degree == 1}
    all_lists = {(t.degree, t.person.compound_id) for t in contacts}
    assert steps["Investigation of the case"].total == 1
    assert steps["Contact lists notified"].total == len(all_lists)  # one list per compound and degree
    assert steps["Close contacts tested"].total == len(close_compounds)
    assert steps["Contact lists notified"].owners  # a named grid worker owns each list
    assert steps["Venues disinfected"].total == 1
    assert early.seconds_left == 21 * 3600 and not early.at_risk
    late = board(containment, now=dt.datetime(2020, 1, 28, 4, 0, tzinfo=SH))
    assert late.at_risk
    assert seal_finished_containments() == 0
    from tracing.board import containment_tasks

    containment_tasks(containment).update(status="closed")  # every step done
    assert seal_finished_containments() == 1
    containment.refresh_from_db()
    assert containment.state == "sealed" and containment.sealed_at is not None
    assert not board(containment).at_risk


def test_investigators_decisions_survive_re_tracing(outbreak, city):
    case = city.residents[outbreak["a"]]
    do_decide_contact(case, outbreak["b"], add=False, reason="met through glass", user=None)
    do_decide_contact(case, outbreak["d"], add=True, reason="shared a taxi", user=None)
    containment = do_contain(case)
    close = set(containment.contacts.filter(degree=1).values_list("id_number", flat=True))
    assert close == {outbreak["home"], outbreak["d"]}
    again = do_contain(case)
    assert set(again.contacts.filter(degree=1).values_list("id_number", flat=True)) == close
    manual = again.contacts.get(id_number=outbreak["d"])
    assert manual.manual and manual.reasons[0]["note"] == "shared a taxi"


def test_linli_trace_prints_the_contract_json_and_is_audit_logged(outbreak):
    out = io.StringIO()
    before = ReadLog.objects.filter(action="full_identity").count()
    call_command("trace", outbreak["a"], "--as-of", "2020-01-27T09:00:00+08:00", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["case"] == outbreak["a"]
    assert document["window"]["start"] == "2020-01-24T00:00:00+08:00"
    assert document["window"]["end"] == "2020-01-27T09:00:00+08:00"
    assert {c["id_number"] for c in document["close_contacts"]} == {outbreak["home"], outbreak["b"]}
    assert [(c["id_number"], c["via"]) for c in document["secondary_contacts"]] == [(outbreak["c"], outbreak["b"])]
    assert ReadLog.objects.filter(action="full_identity").count() - before == 4


def test_board_pages_are_scoped(outbreak, client, city):
    containment = Containment.objects.get(case__id_number=outbreak["a"])
    client.force_login(outbreak["community"])
    assert client.get(reverse("tracing:list")).status_code == 200
    page = client.get(reverse("tracing:detail", args=[containment.pk]))
    assert page.status_code == 200 and "V1" in page.content.decode()
    assert client.get(reverse("tracing:chain", args=[containment.pk])).status_code == 200
    graph = client.get(reverse("tracing:chain", args=[containment.pk]) + "?format=json&secondary=1").json()
    assert len(graph["nodes"]) == 4 and len(graph["edges"]) == 3
    city_wide = client.get(reverse("tracing:chains") + "?format=json").json()  # close contacts by default
    assert len(city_wide["nodes"]) == 3 and {e["degree"] for e in city_wide["edges"]} == {1}
    graphml = client.get(
        reverse("tracing:chain", args=[containment.pk]) + "?format=graphml&secondary=1"
    ).content.decode()
    assert graphml.count("<edge ") == 3 and outbreak["a"] not in graphml  # masked identity numbers
    outsider = city.staff("far", "community_worker", city.divisions["420106001001"])
    client.force_login(outsider)
    assert client.get(reverse("tracing:detail", args=[containment.pk])).status_code == 404


def test_api_lists_containments_with_masked_ids(outbreak, client, city):
    containment = Containment.objects.get(case__id_number=outbreak["a"])
    client.force_login(outbreak["community"])
    listed = client.get("/api/tracing/containments").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == containment.pk
    assert outbreak["a"] not in str(listed)
    detail = client.get(f"/api/tracing/containments/{containment.pk}").json()
    assert {c["degree"] for c in detail["contacts"]} == {1, 2}
    assert outbreak["b"] not in str(detail)
    outsider = city.staff("far2", "community_worker", city.divisions["420106001001"])
    client.force_login(outsider)
    assert client.get(f"/api/tracing/containments/{containment.pk}").status_code == 404


def test_acting_on_a_containment_needs_the_permission(outbreak, client):
    containment = Containment.objects.get(case__id_number=outbreak["a"])
    decide = reverse("tracing:decide", args=[containment.pk])
    form = {"id_number": outbreak["d"], "action": "add", "degree": "1", "reason": "shared a taxi"}
    client.force_login(outbreak["grid"])  # a grid worker sees the case but may not change the trace
    assert client.post(decide, form).status_code == 403
    assert client.post(reverse("tracing:retrace", args=[containment.pk])).status_code == 403
    client.force_login(outbreak["community"])
    assert client.post(decide, form).status_code == 302
    assert containment.contacts.filter(id_number=outbreak["d"], manual=True).exists()
