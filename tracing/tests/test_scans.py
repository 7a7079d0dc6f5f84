"""The scans import kind: presence exactly per contracts.md, rejects kept, re-imports idempotent."""

from __future__ import annotations

import datetime as dt

import pytest

from core.imports.runner import run_import
from core.models import ImportRejection
from tests_support.city import to_csv
from tracing import index, store

SH = dt.timezone(dt.timedelta(hours=8))


def at(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=SH).timestamp())


def import_venues(city) -> None:
    grid = city.grid("420102").code
    rows = [
        {"venue_code": "V1", "name": "菜市场", "kind": "market", "grid_code": grid, "dwell_minutes": ""},
        {"venue_code": "V2", "name": "餐馆", "kind": "restaurant", "grid_code": grid, "dwell_minutes": "45"},
        {"venue_code": "V3", "name": "小区门", "kind": "gate", "grid_code": grid, "dwell_minutes": ""},
    ]
    batch = run_import("venues", to_csv(rows), filename="venues.csv")
    assert not batch.rejected


def scan(scan_id, person, venue, when, direction="in", name="", phone=""):
    return {
        "scan_id": scan_id,
        "id_number": person,
        "venue_code": venue,
        "scanned_at": when,
        "direction": direction,
        "name": name,
        "phone": phone,
    }


def stays_of(id_number: str) -> list[tuple[str, int, int]]:
    with store.connect(read_only=True) as con:
        return con.execute(
            "SELECT v.code, s.t0, s.t1 FROM stays s JOIN persons p USING (pkey) JOIN venues v USING (vkey) "
            "WHERE p.id_number = ? ORDER BY s.t0",
            [id_number],
        ).fetchall()


@pytest.fixture
def people(city):
    ids = sorted(city.residents)
    import_venues(city)
    return ids


def test_presence_follows_the_contract_rule(people):
    a, b, c, d, e = people[:5]
    rows = [
        scan("S1", a, "V1", "2020-01-25 10:00:00"),
        scan("S2", a, "V1", "2020-01-25 10:30:00", "out"),  # closes A's stay
        scan("S3", b, "V1", "2020-01-25 10:10:00"),  # no out: the market's 60 minutes
        scan("S4", c, "V1", "2020-01-25 08:00:00"),
        scan("S5", c, "V1", "2020-01-25 21:00:00", "out"),  # 13 h later: closes nothing
        scan("S6", d, "V3", "2020-01-25 09:00:00", "pass"),  # a gate passage: no stay
        scan("S7", d, "V2", "2020-01-25 12:00:00"),  # the venue's own 45 minutes
        scan("S8", e, "V1", "2020-01-25 09:00:00"),
        scan("S9", e, "V1", "2020-01-25 09:20:00"),  # a second in: the first lasts its dwell
        scan("S10", e, "V3", "2020-01-25 07:00:00", "out"),  # an out with no stay: kept, no presence
    ]
    batch = run_import("scans", to_csv(rows), filename="scans.csv")
    assert (batch.inserted, batch.rejected) == (10, {})
    assert stays_of(a) == [("V1", at("2020-01-25T10:00:00"), at("2020-01-25T10:30:00"))]
    assert stays_of(b) == [("V1", at("2020-01-25T10:10:00"), at("2020-01-25T11:10:00"))]
    assert stays_of(c) == [("V1", at("2020-01-25T08:00:00"), at("2020-01-25T09:00:00"))]
    assert stays_of(d) == [("V2", at("2020-01-25T12:00:00"), at("2020-01-25T12:45:00"))]
    assert stays_of(e) == [
        ("V1", at("2020-01-25T09:00:00"), at("2020-01-25T10:00:00")),
        ("V1", at("2020-01-25T09:20:00"), at("2020-01-25T10:20:00")),
    ]
    assert store.counts()["scans"] == 10
    assert index.current().stays == 6


def test_bad_rows_are_kept_with_their_reason_and_names_stand_in_for_a_bad_id(people, city):
    a = people[0]
    resident = city.residents[people[1]]
    broken = people[1][:-1] + ("0" if people[1][-1] != "0" else "1")
    rows = [
        scan("S1", a, "V9", "2020-01-25 10:00:00"),  # unknown venue
        scan("S2", a, "V1", "2020-01-32 10:00:00"),  # no such day
        scan("S3", broken, "V1", "2020-01-25 10:00:00"),  # wrong check digit, nothing else
        scan("S4", broken, "V1", "2020-01-25 10:00:00", name=resident.name, phone=resident.phone),
        scan("S5", a, "V1", "2020-01-25 10:00:00", direction="sideways"),
    ]
    batch = run_import("scans", to_csv(rows), filename="scans.csv")
    assert batch.rejected == {
        "id_number_checksum": 1,
        "invalid_date": 1,
        "invalid_value": 1,
        "unknown_venue": 1,
    }
    assert batch.inserted == 1
    assert batch.linked == {"name_phone": 1}
    assert stays_of(people[1])[0][0] == "V1"
    kept = ImportRejection.objects.get(kind="scans", reason="unknown_venue")
    assert kept.data["venue_code"] == "V9" and kept.key_value == "S1"


def test_reimport_changes_nothing_and_a_changed_scan_is_an_update_with_history(people):
    a = people[0]
    rows = [scan("S1", a, "V1", "2020-01-25 10:00:00"), scan("S2", a, "V1", "2020-01-25 10:30:00", "out")]
    first = run_import("scans", to_csv(rows), filename="scans.csv")
    version = index.current().version
    again = run_import("scans", to_csv(rows), filename="scans.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert index.current().version == version  # nothing changed: no new index
    rows[1]["scanned_at"] = "2020-01-25 10:45:00"
    changed = run_import("scans", to_csv(rows), filename="scans.csv")
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 1)
    assert stays_of(a) == [("V1", at("2020-01-25T10:00:00"), at("2020-01-25T10:45:00"))]
    with store.connect(read_only=True) as con:
        history = con.execute("SELECT scan_id, ts, batch_id, replaced_by_batch FROM scan_history").fetchall()
    assert history == [("S2", at("2020-01-25T10:30:00"), first.pk, changed.pk)]


def test_scans_arriving_in_any_order_give_the_same_stays(people):
    a = people[0]
    out_first = [scan("S2", a, "V1", "2020-01-25 10:30:00", "out")]
    run_import("scans", to_csv(out_first), filename="part1.csv")
    assert stays_of(a) == []
    run_import("scans", to_csv([scan("S1", a, "V1", "2020-01-25 10:00:00")]), filename="part2.csv")
    assert stays_of(a) == [("V1", at("2020-01-25T10:00:00"), at("2020-01-25T10:30:00"))]


def test_a_venue_dwell_change_derives_its_stays_again(people, city):
    a = people[0]
    run_import("scans", to_csv([scan("S1", a, "V1", "2020-01-25 10:00:00")]), filename="scans.csv")
    grid = city.grid("420102").code
    rows = [{"venue_code": "V1", "name": "菜市场", "kind": "market", "grid_code": grid, "dwell_minutes": "20"}]
    run_import("venues", to_csv(rows), filename="venues.csv")
    assert stays_of(a) == [("V1", at("2020-01-25T10:00:00"), at("2020-01-25T10:20:00"))]
    assert index.current().stays == 1


def test_a_failed_scans_import_leaves_the_store_as_it_was(people, monkeypatch):
    a = people[0]
    run_import("scans", to_csv([scan("S1", a, "V1", "2020-01-25 10:00:00")]), filename="scans.csv")

    def crash(con):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "rederive_stays", crash)
    with pytest.raises(RuntimeError):
        run_import("scans", to_csv([scan("S2", a, "V2", "2020-01-25 12:00:00")]), filename="more.csv")
    assert store.counts()["scans"] == 1
    assert [s[0] for s in stays_of(a)] == ["V1"]


def test_a_big_file_is_read_in_pieces_with_the_same_result(people, monkeypatch):
    """Pieces of a few lines each: rejects keep their file line, repeats across pieces are caught."""
    from core.imports import reader

    a, b = people[:2]
    rows = [scan(f"S{i}", a if i % 2 else b, "V1", f"2020-01-25 {8 + i % 10:02d}:{i % 60:02d}:00") for i in range(40)]
    rows[25]["venue_code"] = "V9"  # unknown, in a later piece
    rows[33]["scan_id"] = "S3"  # repeats a scan id of the first piece
    data = to_csv(rows)
    monkeypatch.setattr(reader, "CHUNK_BYTES", 300)
    assert len(list(reader.read_chunks(data))) > 5
    batch = run_import("scans", data, filename="scans.csv")
    assert batch.rows == 40 and batch.inserted == 38
    assert batch.rejected == {"duplicate_key_in_file": 1, "unknown_venue": 1}
    rejected = {r.reason: r for r in ImportRejection.objects.filter(batch=batch)}
    assert rejected["unknown_venue"].row_number == 27 and rejected["unknown_venue"].data["venue_code"] == "V9"
    assert rejected["duplicate_key_in_file"].row_number == 35 and rejected["duplicate_key_in_file"].detail == "5"
    whole = {tuple(s) for s in stays_of(a) + stays_of(b)}
    monkeypatch.setattr(reader, "CHUNK_BYTES", 1 << 30)
    store.database_path().unlink()
    assert run_import("scans", data, filename="again.csv").inserted == 38
    assert {tuple(s) for s in stays_of(a) + stays_of(b)} == whole
