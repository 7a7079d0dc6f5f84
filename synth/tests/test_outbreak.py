"""The seeded outbreak: every transmission is one Linli's contact rules find, isolation stops scans,
case reports and truth are consistent, and the command writes and merges the files. No database.

The central test traces each diagnosed case by brute force in plain Python, from the scans file's
rows alone (stays derived per contracts.md, windows per domain.md §4), and checks that everyone the
case infected is among its close contacts.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import defaultdict
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from synth.city import SynthCity, generate_city
from synth.feeds import CONTRACT_COLUMNS, FEED_COLUMNS, TRUTH
from synth.mobility import SCAN_COLUMNS, ScanSet, generate_scans
from synth.outbreak import OUTBREAK_TRUTH_COLUMNS, Outbreak, seed_outbreak
from synth.tests.test_mobility import Contacts, derive_stays, scan_rows, true_stays
from synth.venues import KINDS as VENUE_KINDS

N = 2_500
START = dt.date(2020, 1, 22)
DAYS = 14
END = dt.datetime(2020, 2, 5)  # noqa: DTZ001 — naive local wall time, like the scans
CONTACT = dt.timedelta(minutes=15)
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")


@pytest.fixture(scope="module")
def town() -> SynthCity:
    return generate_city(N, 5)


@pytest.fixture(scope="module")
def before(town) -> ScanSet:
    return generate_scans(town, start=START, days=DAYS, seed=3)


@pytest.fixture(scope="module")
def outbreak(town, before) -> Outbreak:
    """Spread faster than the default, so that the brute force has many transmissions to check."""
    return seed_outbreak(town, before, n_index=8, seed=1, venue_hourly=0.006, household_daily=0.15)


@pytest.fixture(scope="module")
def rows(outbreak) -> list[tuple]:
    return scan_rows(outbreak.scans)


def local(text: str) -> dt.datetime:
    assert ISO.match(text), text
    return dt.datetime.fromisoformat(text).replace(tzinfo=None)


def window(case: dict) -> tuple[dt.datetime, dt.datetime]:
    """domain.md §4: from 00:00 two days before onset (symptomatic) or 48 h before the sample, to the
    earlier of isolation and the trace's as-of time, here both the diagnosis."""
    if case["classification"] == "confirmed":
        start = dt.datetime.combine(case["onset_date"] - dt.timedelta(days=2), dt.time())
    else:
        start = local(case["sampled_at"]) - dt.timedelta(hours=48)
    return start, local(case["diagnosed_at"])


# --- tracing finds every transmission ------------------------------------------------------------------


def test_tracing_each_diagnosed_case_finds_everyone_it_infected(town, outbreak, rows):
    stays = derive_stays(town, rows)  # from the file alone
    contacts = Contacts(stays)
    room = {r["id_number"]: (r["building_code"], r["unit"], r["room"]) for r in town.residents.to_pylist()}
    household = defaultdict(set)
    for person, key in room.items():
        household[key].add(person)
    infected = defaultdict(list)
    for row in outbreak.truth.to_pylist():
        if row["infector_id_number"]:
            infected[row["infector_id_number"]].append(row)

    checked = {"household": 0, "venue": 0}
    for case in outbreak.case_reports.to_pylist():
        person = case["id_number"]
        start, end = window(case)
        close = household[room[person]] - {person}
        exposure: dict[tuple[str, str], dt.timedelta] = {}
        for venue, stay_start, stay_end in contacts.by_person[person]:
            a, b = max(stay_start, start), min(stay_end, end)
            for other, overlap in contacts.overlapping(venue, a, b, CONTACT):
                if other != person:
                    close.add(other)
                    exposure[other, venue] = max(overlap, exposure.get((other, venue), overlap))
        for row in infected[person]:
            assert row["infectee_id_number"] in close, row
            assert start <= local(row["infected_at"]) < end, row
            if row["setting"] == "venue":
                assert exposure[row["infectee_id_number"], row["venue_code"]] >= CONTACT
            checked[row["setting"]] += 1
    assert checked["household"] >= 5 and checked["venue"] >= 20, checked


def test_isolated_cases_stop_scanning_and_stays_still_derive_exactly(town, outbreak, before, rows):
    assert outbreak.scans.rows < before.rows
    assert sorted(derive_stays(town, rows)) == sorted(true_stays(town, outbreak.scans))
    isolated = {case["id_number"]: local(case["diagnosed_at"]) for case in outbreak.case_reports.to_pylist()}
    opened: dict[tuple[str, str], dt.datetime] = {}
    late_outs = 0
    for person, venue, at, direction, _ in rows:
        if direction == "in":
            opened[person, venue] = at
        if person in isolated and at >= isolated[person]:
            assert direction == "out" and opened[person, venue] < isolated[person]
            late_outs += 1
    assert late_outs < 3 * len(isolated)


def test_symptomatic_cases_show_fevers_after_onset_and_nobody_else_does(outbreak, rows):
    onset = {
        row["infectee_id_number"]: row["onset_date"]
        for row in outbreak.truth.to_pylist()
        if row["classification"] == "confirmed"
    }
    fevers = 0
    for person, _, at, _, temperature in rows:
        if temperature is not None and float(temperature) >= 37.3:
            assert person in onset and at.date() >= onset[person]
            fevers += 1
    assert fevers > 0


# --- the tables --------------------------------------------------------------------------------------------


def test_case_reports_and_truth_agree(town, outbreak):
    reports = outbreak.case_reports.to_pylist()
    truth = {row["infectee_id_number"]: row for row in outbreak.truth.to_pylist()}
    assert outbreak.case_reports.column_names == list(CONTRACT_COLUMNS["case_reports"])
    assert outbreak.truth.column_names == list(OUTBREAK_TRUTH_COLUMNS)
    assert len(truth) == outbreak.truth.num_rows == outbreak.person.size  # nobody is infected twice
    assert [r["case_id"] for r in reports] == [f"OB-{i:06d}" for i in range(1, len(reports) + 1)]
    hospitals = {
        code
        for code, kind in zip(town.venues.column("venue_code").to_pylist(), town.venue_index.kind, strict=True)
        if kind == VENUE_KINDS.index("hospital")
    }
    diagnosed = [local(r["diagnosed_at"]) for r in reports]
    assert diagnosed == sorted(diagnosed) and diagnosed[-1] < END
    for report in reports:
        row = truth[report["id_number"]]
        assert report["classification"] == row["classification"] in {"confirmed", "asymptomatic"}
        assert local(row["isolated_at"]) == local(report["diagnosed_at"])
        assert local(row["infected_at"]) < local(report["sampled_at"]) <= local(report["diagnosed_at"])
        assert report["hospital_code"] in hospitals
        if report["classification"] == "confirmed":
            assert report["onset_date"] == row["onset_date"] and report["severity"] in {
                "mild",
                "moderate",
                "severe",
                "critical",
            }
            assert local(report["sampled_at"]).date() >= report["onset_date"]
            assert (report["onset_date"] - local(row["infected_at"]).date()).days >= 3
            assert 1 <= (local(report["diagnosed_at"]).date() - report["onset_date"]).days <= 3
        else:
            assert report["onset_date"] is None and report["severity"] is None and row["onset_date"] is None
            assert local(report["diagnosed_at"]).date() == local(report["sampled_at"]).date() + dt.timedelta(days=1)
    reported = {r["id_number"] for r in reports}
    for person, row in truth.items():
        assert (row["isolated_at"] is not None) == (person in reported)
        assert (row["setting"] == "index") == (row["infector_id_number"] is None)
        assert (row["setting"] == "venue") == (row["venue_code"] is not None)
        if row["infector_id_number"]:
            assert local(truth[row["infector_id_number"]]["infected_at"]) < local(row["infected_at"])
    index = [row for row in truth.values() if row["setting"] == "index"]
    assert len(index) == 8 and all(local(row["infected_at"]) < dt.datetime(2020, 1, 25) for row in index)  # noqa: DTZ001


def test_default_spread_gives_tens_of_cases_from_ten_index_cases():
    city = generate_city(20_000, 7)
    scans = generate_scans(city, start=START, days=DAYS, seed=7)
    counts = seed_outbreak(city, scans, n_index=10, seed=7).counts()
    assert 20 <= counts["infections"] <= 150, counts
    assert counts["household"] > 0 and counts["venue"] > 0 and counts["case_reports"] >= 8
    assert 0.05 <= counts["asymptomatic"] / counts["infections"] <= 0.45


def test_same_seed_same_outbreak_other_seed_other(town, before):
    first = seed_outbreak(town, before, n_index=5, seed=11)
    again = seed_outbreak(town, before, n_index=5, seed=11)
    other = seed_outbreak(town, before, n_index=5, seed=12)
    assert first.truth.equals(again.truth) and first.case_reports.equals(again.case_reports)
    assert np.array_equal(first.scans.scan_time, again.scans.scan_time)
    assert not first.truth.equals(other.truth)
    empty = seed_outbreak(town, before, n_index=0, seed=1)
    assert empty.truth.num_rows == 0 and empty.case_reports.num_rows == 0 and empty.scans.rows == before.rows


# --- the command -------------------------------------------------------------------------------------------


def read(path) -> list[list[str]]:
    return list(csv.reader(StringIO(path.read_text(encoding="utf-8"))))


def test_command_writes_scans_and_merges_outbreak_reports_into_the_feeds(tmp_path):
    out = StringIO()
    args = ["--out", str(tmp_path), "--residents", "1500", "--seed", "3", "--scan-days", "10", "--outbreak", "6"]
    call_command("synth", *args, "--feeds", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    scans = read(tmp_path / "scans.csv")
    assert scans[0] == list(SCAN_COLUMNS) and len(scans) - 1 == summary["scans"]["rows"]
    assert summary["scans"]["days"] == 10 and summary["scans"]["start"] == "2020-01-22"
    assert scans[-1][3] < "2020-02-01 03:00:00"
    reports = read(tmp_path / "case_reports.csv")
    assert reports[0] == list(FEED_COLUMNS["case_reports"])
    keys = [row[0] for row in reports[1:]]
    assert len(set(keys)) == len(keys)
    ours = [k for k in keys if k.startswith("OB-")]
    assert len(ours) == summary["outbreak"]["case_reports"] > 0 and len(ours) < len(keys)
    truth_keys = {row[1] for row in read(tmp_path / f"{TRUTH}.csv")[1:]}
    assert set(keys) <= truth_keys
    outbreak_truth = read(tmp_path / "outbreak_truth.csv")
    assert outbreak_truth[0] == list(OUTBREAK_TRUTH_COLUMNS)
    assert len(outbreak_truth) - 1 == summary["outbreak"]["infections"] >= 6
    assert summary["outbreak"]["settings"]["index"] == 6
    assert summary["feed_files"]["case_reports"]["rows"] == len(keys)


def test_command_outbreak_alone_implies_scans_and_writes_contract_case_reports(tmp_path):
    out = StringIO()
    call_command(
        "synth", "--out", str(tmp_path), "--residents", "800", "--scan-days", "5", "--outbreak", "3", stdout=out
    )
    text = out.getvalue()
    assert "scans.csv" in text and "outbreak_truth.csv" in text and "case_reports.csv" in text
    assert (tmp_path / "scans.csv").is_file() and not (tmp_path / f"{TRUTH}.csv").exists()
    assert read(tmp_path / "case_reports.csv")[0] == list(CONTRACT_COLUMNS["case_reports"])

    plain = StringIO()
    call_command(
        "synth", "--out", str(tmp_path / "s"), "--residents", "300", "--scans", "--scan-days", "2", stdout=plain
    )
    assert (tmp_path / "s" / "scans.csv").is_file() and not (tmp_path / "s" / "outbreak_truth.csv").exists()
    assert "outbreak_truth.csv" not in plain.getvalue()
