"""Agency feeds from the synthetic city: contract columns, noise at its stated rates, the truth file,
one day's rates and the hard cases. No database."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from io import StringIO

import numpy as np
import pyarrow as pa
import pytest
from django.core.management import call_command
from pypinyin import lazy_pinyin

from people.identity import id_problem_codes, normalise_id_number
from synth import tables
from synth.city import SynthCity, generate_city
from synth.feeds import (
    DAY_NOISE,
    DAY_RATES,
    FEED_KINDS,
    HARD_CASES,
    KEY_COLUMNS,
    LINKAGE_NOISE,
    NOISE_CODES,
    OUTSIDER_SHARE,
    TRUTH,
    feed_day,
    merge_feeds,
    noisy_feeds,
    write_feeds,
)

N = 5_000
ROWS = 24_000
DAY = dt.date(2020, 2, 5)

# contracts.md, English names: the kind's columns, then the optional person columns.
PERSON = ["name", "sex", "birth_date", "phone", "address"]
HEADERS = {
    "clinic_visits": ["visit_id", "id_number", "hospital_code", "visited_at", "temperature", "category", "onset_date"],
    "case_reports": [
        "case_id",
        "id_number",
        "classification",
        "onset_date",
        "sampled_at",
        "diagnosed_at",
        "severity",
        "hospital_code",
    ],
    "lab_results": [
        "sample_id",
        "pool_id",
        "id_number",
        "sampled_at",
        "reported_at",
        "lab_code",
        "method",
        "result",
        "ct_value",
    ],
    "travel": ["record_id", "id_number", "arrived_at", "origin_area_code", "origin_area_name", "mode"],
}
REQUIRED = {  # bold in contracts.md, besides id_number (see the person-columns rule)
    "clinic_visits": ["visit_id", "hospital_code", "visited_at"],
    "case_reports": ["case_id", "classification"],
    "lab_results": ["sample_id", "sampled_at", "result"],
    "travel": ["record_id", "arrived_at", "origin_area_code"],
}
CHOICES = {
    "category": {"fever", "suspected", "confirmed", "other"},
    "classification": {"confirmed", "asymptomatic", "suspected", "excluded", "recovered", "died"},
    "severity": {"mild", "moderate", "severe", "critical"},
    "method": {"pcr", "antigen"},
    "result": {"positive", "negative", "invalid"},
    "sex": {"M", "F", "男", "女"},
}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
TIME_COLUMNS = ("visited_at", "sampled_at", "diagnosed_at", "reported_at", "arrived_at")


@pytest.fixture(scope="module")
def town() -> SynthCity:
    return generate_city(N, 11)


@pytest.fixture(scope="module")
def linkage(town) -> dict[str, pa.Table]:
    return noisy_feeds(town, ROWS, 5)


@pytest.fixture(scope="module")
def big() -> SynthCity:
    return generate_city(100_000, 3)


@pytest.fixture(scope="module")
def day(big) -> dict[str, pa.Table]:
    return feed_day(big, DAY, 9)


def rows_of(feeds: dict[str, pa.Table]) -> list[tuple[str, dict, dict]]:
    """(kind, row, truth row) for every feed row; the truth lists the kinds in order, rows in file order."""
    truth = feeds[TRUTH].to_pylist()
    out = []
    at = 0
    for kind in FEED_KINDS:
        for row in feeds[kind].to_pylist():
            out.append((kind, row, truth[at]))
            at += 1
    assert at == len(truth)
    return out


def codes(truth_row: dict) -> set[str]:
    return set(truth_row["noise"].split(";")) if truth_row["noise"] else set()


def residents_by_id(city: SynthCity) -> dict[str, dict]:
    return {row["id_number"]: row for row in city.residents.to_pylist()}


def birth_dates(city: SynthCity) -> dict[str, dt.date]:
    ids = city.residents.column("id_number").to_pylist()
    return dict(zip(ids, city.people.birth_date.astype(dt.date).tolist(), strict=True))


def time_of(text: str) -> dt.datetime:
    assert TIME.match(text), text
    return dt.datetime.fromisoformat(text)


# --- determinism and files -------------------------------------------------------------------------


def test_same_seed_same_feeds_other_seed_other_feeds(town, linkage):
    again = noisy_feeds(town, ROWS, 5)
    other = noisy_feeds(town, ROWS, 6)
    for name in (*FEED_KINDS, TRUTH):
        assert linkage[name].equals(again[name]), name
    assert not linkage["clinic_visits"].equals(other["clinic_visits"])
    first, second = feed_day(town, DAY, 1), feed_day(town, DAY, 1)
    for name in (*FEED_KINDS, TRUTH):
        assert first[name].equals(second[name]), name
    assert not first["travel"].equals(feed_day(town, DAY, 2)["travel"])
    assert not first["travel"].equals(feed_day(town, DAY + dt.timedelta(days=1), 1)["travel"])


def test_files_have_contract_headers_and_plain_values(linkage, day, tmp_path):
    paths = write_feeds(merge_feeds(linkage, day), tmp_path)
    assert set(paths) == {*FEED_KINDS, TRUTH}
    for kind in FEED_KINDS:
        text = paths[kind].read_text(encoding="utf-8")
        assert not text.startswith("\ufeff") and '"' not in text
        rows = list(csv.reader(StringIO(text)))
        assert rows[0] == HEADERS[kind] + PERSON
        assert len(rows) - 1 == linkage[kind].num_rows + day[kind].num_rows
        assert all(len(row) == len(rows[0]) for row in rows)
    truth = list(csv.reader(paths[TRUTH].open(encoding="utf-8")))
    assert truth[0] == ["kind", "key", "true_id_number", "noise"]
    assert len(truth) - 1 == sum(linkage[k].num_rows + day[k].num_rows for k in FEED_KINDS)


@pytest.mark.parametrize("which", ["linkage", "day"])
def test_required_columns_values_and_the_person_rule(which, request):
    feeds = request.getfixturevalue(which)
    for kind in FEED_KINDS:
        table = feeds[kind]
        assert table.column_names == HEADERS[kind] + PERSON
        keys = table.column(KEY_COLUMNS[kind]).to_pylist()
        assert len(set(keys)) == len(keys)
        for row in table.to_pylist():
            for column in REQUIRED[kind]:
                assert row[column], (kind, column, row)
            assert row["name"], row
            if not row["id_number"]:  # contracts.md: then name + phone or name + birth date
                assert row["phone"] or row["birth_date"], row
            for column, allowed in CHOICES.items():
                if row.get(column) is not None:
                    assert row[column] in allowed, (column, row)
            for column in TIME_COLUMNS:
                if row.get(column) is not None:
                    time_of(row[column])
            for column in ("temperature", "ct_value"):
                if row.get(column) is not None:
                    assert re.fullmatch(r"\d{2}\.\d", row[column]), row
            if kind == "lab_results":
                assert row["pool_id"] is None
                assert time_of(row["reported_at"]) - time_of(row["sampled_at"]) >= dt.timedelta(hours=4)
                assert re.fullmatch(r"LAB\d{3}", row["lab_code"])
                assert (row["ct_value"] is not None) == (row["result"] == "positive" and row["method"] == "pcr")
            if kind == "travel":
                assert tables.COUNTY_NAMES[row["origin_area_code"]] == row["origin_area_name"]
                assert not row["origin_area_code"].startswith("4201")
                assert row["mode"] in {"train", "car", "bus", "plane"}
            if kind == "clinic_visits" and row["onset_date"] is not None:
                assert row["onset_date"] < time_of(row["visited_at"]).date()


# --- the linkage set: noise at its rates, the truth ------------------------------------------------


def test_noise_rates_are_near_the_constants(town, linkage):
    every = rows_of(linkage)
    n = len(every)
    assert n == ROWS
    count = Counter(code for _, _, truth in every for code in codes(truth))
    assert set(count) <= set(NOISE_CODES)

    def near(share: float, rate: float) -> None:
        assert abs(share - rate) < 4 * (rate * (1 - rate) / n) ** 0.5 + 0.003, (share, rate)

    near(count["outsider"] / n, OUTSIDER_SHARE)
    for code, rate in LINKAGE_NOISE.id_number.items():
        near(count[code] / n, rate)
    near(count["id_typo_valid"] / count["id_typo"], LINKAGE_NOISE.id_typo_valid)
    near(count["name_homophone"] / n, LINKAGE_NOISE.name_homophone)
    near((count["name_drop"] + count["name_swap"]) / n, LINKAGE_NOISE.name_drop + LINKAGE_NOISE.name_swap)

    residents = residents_by_id(town)
    with_phone = [t for _, _, t in every if t["true_id_number"] is None or residents[t["true_id_number"]]["phone"]]
    for code, rate in LINKAGE_NOISE.phone.items():
        near(sum(code in codes(t) for t in with_phone) / len(with_phone), rate)

    given = [r for _, r, _ in every if r["birth_date"] is not None]
    # Besides the 70 % drawn, rows without identity number or phone always give a birth date.
    assert LINKAGE_NOISE.birth_date_given - 0.02 < len(given) / n < LINKAGE_NOISE.birth_date_given + 0.03
    errors = count["birth_date_swap"] + count["birth_date_off"]
    near(errors / len(given), LINKAGE_NOISE.birth_date_swap + LINKAGE_NOISE.birth_date_off)
    near(sum(r["sex"] is not None for _, r, _ in every) / n, LINKAGE_NOISE.sex_given)
    near(sum(r["address"] is not None for _, r, _ in every) / n, LINKAGE_NOISE.address_given)


def test_noise_codes_describe_the_rows(town, linkage):
    residents = residents_by_id(town)
    born = birth_dates(town)
    seen = Counter()
    for _, row, truth in rows_of(linkage):
        found = codes(truth)
        true_id = truth["true_id_number"]
        raw = row["id_number"]
        if true_id is None:
            assert "outsider" in found
            continue
        person = residents[true_id]
        if not found & {"id_empty", "id_typo", "id_transposed", "id_garbage", "id_format"}:
            assert raw == true_id
            seen["exact"] += 1
        if "id_empty" in found:
            assert raw is None
        if "id_format" in found:
            assert raw != true_id and normalise_id_number(raw) == true_id
            assert " " in raw or raw.endswith("x")
        if "id_typo" in found or "id_transposed" in found:
            assert len(raw) == 18 and raw != true_id
            assert sum(a != b for a, b in zip(raw, true_id, strict=True)) <= 2
            valid = id_problem_codes(np.array([raw]))[0] == ""
            assert valid == ("id_typo_valid" in found)
        if "id_garbage" in found:
            assert raw is not None and len(raw) != 18

        name, true_name = row["name"], person["name"]
        if not found & {"name_homophone", "name_drop", "name_swap"}:
            assert name == true_name
        elif found & {"name_homophone"} and not found & {"name_drop", "name_swap"}:
            assert len(name) == len(true_name)
            differ = [(a, b) for a, b in zip(name, true_name, strict=True) if a != b]
            assert len(differ) == 1 and lazy_pinyin(differ[0][0]) == lazy_pinyin(differ[0][1])
            seen["homophone"] += 1
        if found & {"name_drop"} and not found & {"name_homophone"}:
            assert len(name) == len(true_name) - 1 and name[0] == true_name[0]
        if found & {"name_swap"} and not found & {"name_homophone"}:
            assert name == true_name[0] + true_name[2] + true_name[1]

        if row["phone"] is not None and not found & {"phone_changed", "phone_typo"}:
            assert row["phone"] == person["phone"]
        if "phone_changed" in found:
            assert row["phone"] != person["phone"] and row["phone"] not in residents
        if "phone_typo" in found:
            assert sum(a != b for a, b in zip(row["phone"], person["phone"], strict=True)) == 1
        if "phone_empty" in found:
            assert row["phone"] is None

        if row["birth_date"] is not None:
            differs = row["birth_date"] != born[true_id]
            assert differs == bool(found & {"birth_date_swap", "birth_date_off"})
            if "birth_date_off" in found:
                assert abs((row["birth_date"] - born[true_id]).days) == 1
        if row["sex"] is not None:
            assert row["sex"] in ({"M", "男"} if person["sex"] == "M" else {"F", "女"})
    assert seen["exact"] > 0.5 * ROWS and seen["homophone"] > 0.05 * ROWS


def test_truth_is_complete_and_outsiders_are_in_no_register(town, linkage):
    residents = residents_by_id(town)
    truth = linkage[TRUTH]
    assert truth.num_rows == sum(linkage[k].num_rows for k in FEED_KINDS)
    for kind in FEED_KINDS:
        mine = [t for t in truth.to_pylist() if t["kind"] == kind]
        assert [t["key"] for t in mine] == linkage[kind].column(KEY_COLUMNS[kind]).to_pylist()
    outsiders = set()
    resident_phones = {r["phone"] for r in residents.values()}
    for _, row, t in rows_of(linkage):
        if t["true_id_number"] is not None:
            assert t["true_id_number"] in residents
            continue
        assert codes(t) & {"outsider"}
        if not codes(t) & {"id_empty", "id_typo", "id_transposed", "id_garbage", "id_format"}:
            outsiders.add(row["id_number"])
        if row["phone"] and not codes(t) & {"phone_typo"}:
            assert row["phone"] not in resident_phones
    assert len(outsiders) > 0.25 * OUTSIDER_SHARE * ROWS  # about 0.6 of the rows, some people twice
    assert not outsiders & set(residents)
    assert (id_problem_codes(np.array(sorted(outsiders))) == "").all()
    counties = {code for code, _ in tables.OUTSIDER_COUNTIES}
    assert {number[:6] for number in outsiders} <= counties
    assert not counties & {code for code, _ in tables.ORIGIN_COUNTIES}
    assert not counties & {d.county_code for d in tables.DISTRICTS}


def test_linkage_rows_fall_in_the_two_weeks_before_the_feed_date(linkage):
    first = dt.datetime(2020, 1, 23, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    last = first + dt.timedelta(days=14)
    for row in linkage["clinic_visits"].to_pylist():
        assert first <= time_of(row["visited_at"]) < last
    for row in linkage["travel"].to_pylist():
        assert first <= time_of(row["arrived_at"]) < last


def test_homophone_table_is_same_pinyin_and_covers_common_names():
    seen = set()
    for syllable, chars in tables.HOMOPHONES.items():
        assert len(chars) >= 2
        for char in chars:
            assert lazy_pinyin(char) == [syllable], (syllable, char)
            assert char not in seen
            seen.add(char)
    for surname, _ in tables.SURNAMES[:20]:
        assert surname in seen, surname
    for pair in ("王汪", "李理里", "张章", "刘柳留", "陈晨辰", "杨阳洋", "林琳霖", "静婧晶", "伟玮炜", "丽莉俐"):
        assert all(c in seen for c in pair)


def test_tiny_city_and_zero_rows():
    tiny = generate_city(7, 5)
    feeds = noisy_feeds(tiny, 60, 1)
    assert sum(feeds[k].num_rows for k in FEED_KINDS) == 60 == feeds[TRUTH].num_rows
    empty = noisy_feeds(tiny, 0, 1)
    assert all(empty[k].num_rows == 0 for k in FEED_KINDS)
    one_day = feed_day(tiny, DAY, 1)
    assert one_day[TRUTH].num_rows == sum(one_day[k].num_rows for k in FEED_KINDS) > 0


# --- one day ---------------------------------------------------------------------------------------


def test_day_rates_are_plausible(big, day):
    per_10k = big.people.count / 10_000
    on_day = dt.datetime(2020, 2, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))

    def about(count: int, rate: float) -> None:
        expected = rate * per_10k
        assert abs(count - expected) < 5 * expected**0.5 + 3, (count, expected)

    def today(text: str) -> bool:
        return on_day <= time_of(text) < on_day + dt.timedelta(days=1)

    truth = {(t["kind"], t["key"]): t for t in day[TRUTH].to_pylist()}

    def ordinary(kind: str) -> list[dict]:
        """The kind's rows apart from the hard cases (tested on their own below)."""
        key = KEY_COLUMNS[kind]
        return [r for r in day[kind].to_pylist() if not codes(truth[kind, r[key]]) & set(HARD_CASES)]

    visits = ordinary("clinic_visits")
    about(len(visits), DAY_RATES["fever_visits"])
    temps = np.array([float(v["temperature"]) for v in visits])
    assert 0.65 < (temps >= 37.3).mean() < 0.95 and (temps < 37.3).any()
    assert {v["category"] for v in visits} == {"fever", "suspected", "other"}
    assert all(today(v["visited_at"]) for v in visits)
    hospitals = set(
        big.venues.filter(pa.compute.equal(big.venues["kind"], "hospital")).column("venue_code").to_pylist()
    )
    assert {v["hospital_code"] for v in visits} <= hospitals

    cases = ordinary("case_reports")
    kinds = Counter(c["classification"] for c in cases)
    about(kinds["confirmed"], DAY_RATES["confirmed"])
    about(kinds["asymptomatic"], DAY_RATES["asymptomatic"])
    about(kinds["suspected"], DAY_RATES["suspected"])
    assert kinds["excluded"] == 0
    assert all(today(c["diagnosed_at"]) for c in cases)
    confirmed = [c for c in cases if c["classification"] == "confirmed"]
    severity = Counter(c["severity"] for c in confirmed)
    assert severity["mild"] > len(confirmed) / 2 and severity["severe"] + severity["critical"] > 0
    assert all(c["onset_date"] and c["sampled_at"] and c["hospital_code"] for c in confirmed)
    assert all(c["onset_date"] is None and c["sampled_at"] for c in cases if c["classification"] == "asymptomatic")

    labs = ordinary("lab_results")
    results = Counter(r["result"] for r in labs)
    assert results["negative"] > results["invalid"] > 0
    assert results["positive"] == kinds["confirmed"] + kinds["asymptomatic"]
    assert all(today(r["reported_at"]) and r["method"] == "pcr" for r in labs)
    for r in labs:
        gap = time_of(r["reported_at"]) - time_of(r["sampled_at"])
        assert dt.timedelta(hours=4) <= gap <= dt.timedelta(hours=12)

    positive = {truth["lab_results", r["sample_id"]]["true_id_number"] for r in labs if r["result"] == "positive"}
    diagnosed = {
        truth["case_reports", c["case_id"]]["true_id_number"]
        for c in cases
        if c["classification"] in ("confirmed", "asymptomatic")
    }
    assert positive == diagnosed

    travel = ordinary("travel")
    about(len(travel), DAY_RATES["arrivals"])
    assert all(today(t["arrived_at"]) for t in travel)
    assert {t["mode"] for t in travel} == {"train", "car", "bus", "plane"}


def test_day_noise_is_mild(day):
    every = rows_of(day)
    n = len(every)
    count = Counter(code for _, _, t in every for code in codes(t))
    assert abs(count["id_empty"] / n - DAY_NOISE.id_number["id_empty"]) < 0.02
    assert count["name_homophone"] / n < 0.03
    assert not count.keys() & {"id_typo", "id_transposed", "id_garbage", "id_format", "name_drop", "phone_typo"}
    for _, row, t in every:
        if t["true_id_number"] is not None and not codes(t) & {"id_empty"}:
            assert row["id_number"] == t["true_id_number"]
        if row["id_number"] is None:
            assert row["phone"] or row["birth_date"]


def test_day_hard_cases_are_present(big, day):
    residents = residents_by_id(big)
    rows = defaultdict(list)
    for kind, row, t in rows_of(day):
        for code in codes(t) & set(HARD_CASES):
            rows[code].append((kind, row, t))
    assert set(rows) == set(HARD_CASES)

    # (a) confirmed by a hospital, excluded by the CDC later the same day: two case ids, one person.
    cases = [(r, t) for k, r, t in rows["hard_confirmed_excluded"] if k == "case_reports"]
    assert len(cases) == 2 and len({t["true_id_number"] for _, t in cases}) == 1
    by_class = {r["classification"]: r for r, _ in cases}
    assert set(by_class) == {"confirmed", "excluded"}
    assert by_class["confirmed"]["hospital_code"] and by_class["excluded"]["case_id"].startswith("CDC")
    assert time_of(by_class["excluded"]["diagnosed_at"]) > time_of(by_class["confirmed"]["diagnosed_at"])

    # (b) one visit sent twice: different visit ids, same person, hospital and time.
    visits = [r for k, r, t in rows["hard_duplicate_visit"] if k == "clinic_visits"]
    assert len(visits) == 2 and visits[0]["visit_id"] != visits[1]["visit_id"]
    for column in ("id_number", "hospital_code", "visited_at", "temperature", "name"):
        assert visits[0][column] == visits[1][column]
    assert len({t["true_id_number"] for _, _, t in rows["hard_duplicate_visit"]}) == 1

    # (c) people in no register: valid out-of-town numbers, no true id.
    outsiders = rows["hard_outsider"]
    assert {k for k, _, _ in outsiders} >= {"clinic_visits", "travel"}
    for _, row, t in outsiders:
        assert t["true_id_number"] is None and "outsider" in codes(t)
        assert row["id_number"] not in residents and id_problem_codes(np.array([row["id_number"]]))[0] == ""
        assert not row["id_number"].startswith("4201")

    # (d) the positive lab result is reported before the case report is made.
    found = {k: r for k, r, _ in rows["hard_lab_before_case"]}
    assert found["lab_results"]["result"] == "positive" and found["case_reports"]["classification"] == "confirmed"
    assert time_of(found["lab_results"]["reported_at"]) < time_of(found["case_reports"]["diagnosed_at"])


# --- the command -----------------------------------------------------------------------------------


def test_command_writes_feeds_beside_the_city(tmp_path):
    out = StringIO()
    call_command(
        "synth",
        "--out",
        str(tmp_path),
        "--residents",
        "3000",
        "--seed",
        "4",
        "--feed-rows",
        "800",
        "--feeds",
        "--feed-date",
        "2020-02-07",
        "--json",
        stdout=out,
    )
    summary = json.loads(out.getvalue())
    assert summary["feed_date"] == "2020-02-07" and summary["files"]["residents"]["rows"] == 3000
    files = summary["feed_files"]
    assert set(files) == {*FEED_KINDS, TRUTH}
    assert files[TRUTH]["rows"] == sum(files[k]["rows"] for k in FEED_KINDS) > 800
    keys = [row["key"] for row in csv.DictReader((tmp_path / "feed_truth.csv").open(encoding="utf-8"))]
    assert sum(key.startswith("LK-") for key in keys) == 800
    assert any(key.startswith("MZ20200207-") for key in keys)

    plain = StringIO()
    call_command("synth", "--out", str(tmp_path / "plain"), "--residents", "500", stdout=plain)
    assert not (tmp_path / "plain" / "feed_truth.csv").exists()
    assert "feed_truth.csv" not in plain.getvalue() and "clinic_visits.csv" not in plain.getvalue()
