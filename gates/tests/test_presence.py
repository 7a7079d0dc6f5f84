"""Gate checks feed contact tracing: each check becomes a scan at the gate's venue, once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from gates.models import GateCheck
from gates.presence import WATERMARK_KEY, push_new_checks
from gates.services import ensure_gate, record_checks
from tracing import engine as eng
from tracing import index, store

GRID = "420102001001001"


def check(id_number: str, direction: str, at: dt.datetime, **extra) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "gate": "G1",
        "id_number": id_number,
        "direction": direction,
        "identity_checked": True,
        "temperature": 36.5,
        "mask": True,
        "at": at.isoformat(),
    } | extra


def scans() -> list[tuple]:
    with store.connect(read_only=True) as con:
        return con.execute(
            "SELECT s.scan_id, p.id_number, v.code, s.ts, s.direction, s.link_method, s.batch_id FROM scans s "
            "JOIN persons p USING (pkey) JOIN venues v USING (vkey) ORDER BY s.ts, s.scan_id"
        ).fetchall()


def stays_of(id_number: str) -> list[tuple[str, int, int]]:
    with store.connect(read_only=True) as con:
        return con.execute(
            "SELECT v.code, s.t0, s.t1 FROM stays s JOIN persons p USING (pkey) JOIN venues v USING (vkey) "
            "WHERE p.id_number = ? ORDER BY s.t0",
            [id_number],
        ).fetchall()


@pytest.fixture
def gate_scene(city):
    compound = city.compounds[f"{GRID}-01"]
    gate = ensure_gate(compound, code="G1", name="东门")
    worker = city.staff("gw", "grid_worker", city.grid("420102"))
    # two residents of different households of the compound (the household rule would link any two)
    people = [r for r in city.residents.values() if r.compound_id == compound.pk]
    a = people[0]
    b = next(r for r in people if r.household_id != a.household_id)
    return gate, worker, a, b


def test_checks_become_scans_once(gate_scene):
    gate, worker, a, b = gate_scene
    now = timezone.now().replace(microsecond=0)
    records = [
        check(a.id_number, "in", now - dt.timedelta(hours=3)),
        check(b.id_number, "in", now - dt.timedelta(hours=2), mask=False),  # refused: a passage, not an entry
    ]
    outcomes = record_checks(records, worker)
    assert [o.status for o in outcomes] == ["recorded", "recorded"]
    assert [o.check.decision for o in outcomes] == ["allow", "refuse"]

    assert push_new_checks() == {"read": 2, "pushed": 2, "without_identity": 0, "watermark": outcomes[1].check.pk}
    rows = scans()
    assert rows == [
        (
            f"gate:{records[0]['client_id']}",
            a.id_number,
            "G1",
            int((now - dt.timedelta(hours=3)).timestamp()),
            "in",
            "gate",
            None,
        ),
        (
            f"gate:{records[1]['client_id']}",
            b.id_number,
            "G1",
            int((now - dt.timedelta(hours=2)).timestamp()),
            "pass",
            "gate",
            None,
        ),
    ]
    with store.connect(read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = ?", [WATERMARK_KEY]).fetchall() == [
            (str(outcomes[1].check.pk),)
        ]
        assert con.execute("SELECT kind FROM venues WHERE vkey = ?", [gate.venue_id]).fetchall() == [("gate",)]

    version = index.current().version
    assert push_new_checks()["pushed"] == 0  # nothing new
    assert scans() == rows
    assert index.current().version == version  # no new index for nothing

    # a lost watermark (or a late commit below it) is caught by the scan ids: still nothing twice
    with store.writing() as con:
        con.execute("DELETE FROM meta WHERE key = ?", [WATERMARK_KEY])
    assert push_new_checks()["pushed"] == 0
    assert len(scans()) == 2

    later = record_checks([check(a.id_number, "out", now - dt.timedelta(hours=1))], worker)
    assert push_new_checks() == {"read": 1, "pushed": 1, "without_identity": 0, "watermark": later[0].check.pk}
    assert len(scans()) == 3 == GateCheck.objects.count()


def test_tracing_sees_gate_presence(gate_scene):
    gate, worker, a, b = gate_scene
    now = timezone.now().replace(microsecond=0)
    t_in_a, t_in_b, t_out = (now - dt.timedelta(hours=h) for h in (3, 2.5, 1))
    record_checks(
        [
            check(a.id_number, "in", t_in_a),
            check(b.id_number, "in", t_in_b),
            check(a.id_number, "out", t_out),
            check(b.id_number, "out", t_out + dt.timedelta(minutes=5)),
        ],
        worker,
    )
    push_new_checks()
    # an ``in`` closed by the ``out`` within 12 hours is a stay (contracts.md, "Presence at a venue")
    assert stays_of(a.id_number) == [("G1", int(t_in_a.timestamp()), int(t_out.timestamp()))]

    published = index.current()
    assert published.stays == 2
    case = eng.CaseWindow(
        a.id_number,
        int(published.pkeys([a.id_number])[0]),
        int(t_in_a.timestamp()) - 3600,
        int(now.timestamp()),
        int(now.timestamp()),
    )
    (trace,) = eng.trace(eng.IndexEngine(published), published, [case], eng.Rules(15 * 60))
    contacts = {c.id_number: c for c in trace.close}
    assert b.id_number in contacts  # (a's household is there too, by the household rule)
    assert {(r["kind"], r["venue"]) for r in contacts[b.id_number].reasons} == {("venue", gate.venue_id)}


def test_nothing_to_push_leaves_no_store(db):
    assert push_new_checks() == {"read": 0, "pushed": 0, "without_identity": 0, "watermark": 0}
    assert not store.exists()
