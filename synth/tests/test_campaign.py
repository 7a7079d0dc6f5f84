"""The synthetic testing campaign: tubes, results, re-swabs and bad rows agree with the truth, read back
from the written files as an importer would. No database."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from synth.campaign import Campaign, generate_campaign, write_campaign
from synth.city import SynthCity, generate_city

N = 4_000
SEED = 3
DAY = dt.date(2020, 5, 22)
POOL_SIZE = 10
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
HOUR = dt.timedelta(hours=1)

# contracts.md, English names: `pool_members` and `lab_results`; then the campaign's own files.
POOL_MEMBERS = ["pool_id", "id_number", "position", "sampled_at", "site_code"]
LAB_RESULTS = [
    "sample_id",
    "pool_id",
    "id_number",
    "sampled_at",
    "reported_at",
    "lab_code",
    "method",
    "result",
    "ct_value",
]
HEADERS = {
    "pool_members": POOL_MEMBERS,
    "pool_members_bad": POOL_MEMBERS,
    "pool_members_late": POOL_MEMBERS,
    "lab_results_pools": LAB_RESULTS,
    "lab_results_recall": LAB_RESULTS,
    "lab_results_bad": LAB_RESULTS,
    "campaign_sites": ["site_code", "name", "lat", "lon", "grid_code", "capacity_per_hour", "opens", "closes"],
    "campaign_assignments": ["compound_code", "site_code"],
    "campaign_truth": ["id_number", "pool_id", "position", "infected"],
}
CLEAN_FILES = (
    "campaign_sites",
    "campaign_assignments",
    "pool_members",
    "lab_results_pools",
    "lab_results_recall",
    "campaign_truth",
)


@pytest.fixture(scope="module")
def town() -> SynthCity:
    return generate_city(N, 8)


@pytest.fixture(scope="module")
def campaign(town) -> Campaign:
    return generate_campaign(town, seed=SEED, day=DAY, pool_size=POOL_SIZE)


@pytest.fixture(scope="module")
def files(campaign, tmp_path_factory) -> dict[str, Path]:
    return write_campaign(campaign, tmp_path_factory.mktemp("campaign"))


@pytest.fixture(scope="module")
def bad_files(town, tmp_path_factory) -> dict[str, Path]:
    bad = generate_campaign(town, seed=SEED, day=DAY, pool_size=POOL_SIZE, bad_rows=True)
    return write_campaign(bad, tmp_path_factory.mktemp("bad"))


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def local(text: str) -> dt.datetime:
    assert TIME.match(text), text
    return dt.datetime.fromisoformat(text).replace(tzinfo=None)


def compound_of(town: SynthCity) -> dict[str, str]:
    """Each resident's compound, from the city's own files' columns (a building code is its compound's + 3)."""
    return {row["id_number"]: row["building_code"].rsplit("-", 1)[0] for row in town.residents.to_pylist()}


# --- files --------------------------------------------------------------------------------------------


def test_files_have_contract_headers_and_plain_values(files, bad_files):
    for name, path in {**files, **bad_files}.items():
        if path.suffix == ".json":
            continue
        text = path.read_text(encoding="utf-8")
        assert not text.startswith("\ufeff")
        assert '"' not in text, name
        assert next(csv.reader(StringIO(text))) == HEADERS[name], name
    assert set(bad_files) == set(files) | {
        "pool_members_bad",
        "pool_members_late",
        "lab_results_bad",
        "campaign_bad_truth",
    }


def test_same_seed_same_files_other_seed_other_files(town, files, tmp_path):
    again = write_campaign(generate_campaign(town, seed=SEED, day=DAY, pool_size=POOL_SIZE), tmp_path / "again")
    other = write_campaign(generate_campaign(town, seed=SEED + 1, day=DAY, pool_size=POOL_SIZE), tmp_path / "other")
    for name, path in files.items():
        assert path.read_bytes() == again[name].read_bytes(), name
    for name in ("pool_members", "lab_results_pools", "campaign_truth"):
        assert files[name].read_bytes() != other[name].read_bytes(), name
    # Sites are the city's: the same whatever the campaign's seed.
    assert files["campaign_sites"].read_bytes() == other["campaign_sites"].read_bytes()


# --- sites and tubes ------------------------------------------------------------------------------------


def test_every_compound_has_one_site_and_people_go_to_their_compounds_site(town, files):
    sites = {row["site_code"]: row for row in read(files["campaign_sites"])}
    assignments = read(files["campaign_assignments"])
    assert [row["compound_code"] for row in assignments] == town.compounds.column("compound_code").to_pylist()
    site_of = {row["compound_code"]: row["site_code"] for row in assignments}
    assert set(site_of.values()) == set(sites)
    grids = set(town.compounds.column("grid_code").to_pylist())
    for code, site in sites.items():
        assert re.fullmatch(r"S\d{12}-\d{2}", code), code
        assert site["grid_code"] in grids
        assert site["grid_code"][:12] == code[1:13]  # the site is in its community
        assert (site["opens"], site["closes"]) == ("08:00", "20:00")
        assert 29 < float(site["lat"]) < 32 and 113 < float(site["lon"]) < 116
    compound = compound_of(town)
    served = Counter(site_of[compound[resident]] for resident in compound)
    for row in read(files["pool_members"]):
        assert row["site_code"] == site_of[compound[row["id_number"]]]
    # A site swabs no more people in an hour than its capacity, and its residents fit into its hours.
    per_hour = Counter((row["site_code"], local(row["sampled_at"]).hour) for row in read(files["pool_members"]))
    for (code, hour), count in per_hour.items():
        assert 8 <= hour < 20
        assert count <= int(sites[code]["capacity_per_hour"]), (code, hour)
    for code, residents in served.items():
        assert int(sites[code]["capacity_per_hour"]) * 12 >= residents


def test_every_sampled_person_is_in_exactly_one_tube(town, files, campaign):
    members = read(files["pool_members"])
    truth = read(files["campaign_truth"])
    assert len(members) == len(truth) == round(0.9 * N) == campaign.summary["sampled"]
    residents = set(town.people.id_number.to_pylist())
    counts = Counter(row["id_number"] for row in members)
    assert set(counts) <= residents
    assert set(counts.values()) == {1}
    assert {(r["pool_id"], r["id_number"], r["position"]) for r in members} == {
        (r["pool_id"], r["id_number"], r["position"]) for r in truth
    }
    tubes = defaultdict(list)
    for row in members:
        tubes[row["pool_id"]].append(row)
    assert len(tubes) == campaign.summary["tubes"]
    assert all(re.fullmatch(r"P\d{10}", pool_id) for pool_id in tubes)
    for rows in tubes.values():
        assert [int(row["position"]) for row in rows] == list(range(1, len(rows) + 1))
        assert len(rows) <= POOL_SIZE
        assert len({row["site_code"] for row in rows}) == 1
    # Only a site's last tube may be partly filled.
    partial = Counter(rows[0]["site_code"] for rows in tubes.values() if len(rows) < POOL_SIZE)
    assert max(partial.values()) == 1


def test_sampled_at_follows_each_sites_queue(files):
    last: dict[str, dt.datetime] = {}
    for row in read(files["pool_members"]):  # written in queue order
        at = local(row["sampled_at"])
        assert dt.datetime(2020, 5, 22, 8) <= at < dt.datetime(2020, 5, 22, 20)  # noqa: DTZ001 — local wall time
        assert at >= last.get(row["site_code"], at), row
        last[row["site_code"]] = at
    assert len(last) > 1


# --- results --------------------------------------------------------------------------------------------


def test_positive_tubes_are_exactly_those_with_an_infected_member(files, campaign):
    truth = read(files["campaign_truth"])
    infected_tubes = {row["pool_id"] for row in truth if row["infected"] == "1"}
    results = read(files["lab_results_pools"])
    assert len(results) == campaign.summary["tubes"]
    last_swab: dict[str, str] = {}
    for row in read(files["pool_members"]):
        last_swab[row["pool_id"]] = row["sampled_at"]
    for row in results:
        assert row["sample_id"] == row["pool_id"]
        assert row["id_number"] == ""
        assert row["method"] == "pcr"
        assert row["lab_code"].startswith("LAB")
        assert row["sampled_at"] == last_swab[row["pool_id"]]
        assert local(row["reported_at"]) > local(row["sampled_at"])
        if row["result"] == "positive":
            assert 20.0 <= float(row["ct_value"]) <= 35.0
        else:
            assert row["ct_value"] == ""
    by_result = defaultdict(set)
    for row in results:
        by_result[row["result"]].add(row["pool_id"])
    assert by_result["positive"] == infected_tubes
    assert by_result["invalid"]  # a handful, at least one
    assert not by_result["invalid"] & infected_tubes
    assert len(by_result["invalid"]) == campaign.summary["invalid_tubes"]
    assert set(by_result) == {"positive", "negative", "invalid"}


def test_infected_are_max_of_positives_and_prevalence_one_per_tube(town, tmp_path):
    few = generate_campaign(town, seed=SEED, day=DAY, positives=3)
    assert few.summary["infected"] == few.summary["positive_pools"] == 3  # 0.0001 · 3,600 rounds to 0
    many = generate_campaign(town, seed=SEED, day=DAY, prevalence=0.01)
    assert many.summary["infected"] == round(0.01 * many.summary["sampled"]) == 36
    assert many.summary["positive_pools"] == 36  # each in a different tube
    truth = read(write_campaign(many, tmp_path)["campaign_truth"])
    assert sum(row["infected"] == "1" for row in truth) == 36


def test_recall_re_swabs_every_member_of_positive_tubes_and_finds_the_infected(files, campaign):
    pools = {row["pool_id"]: row for row in read(files["lab_results_pools"])}
    truth = read(files["campaign_truth"])
    positive = {pool_id for pool_id, row in pools.items() if row["result"] == "positive"}
    recall = read(files["lab_results_recall"])
    assert len(recall) == campaign.summary["recall_samples"]
    assert {(row["pool_id"], row["id_number"]) for row in recall} == {
        (row["pool_id"], row["id_number"]) for row in truth if row["pool_id"] in positive
    }
    position = {(row["pool_id"], row["id_number"]): row["position"] for row in truth}
    for row in recall:
        assert row["sample_id"] == f"R{row['pool_id']}-{position[row['pool_id'], row['id_number']]}"
        pool = pools[row["pool_id"]]
        assert row["lab_code"] == pool["lab_code"]
        after_result = local(row["sampled_at"]) - local(pool["reported_at"])
        assert 1 * HOUR <= after_result <= 6 * HOUR
        assert 3 * HOUR <= local(row["reported_at"]) - local(row["sampled_at"]) <= 8 * HOUR
        assert (row["ct_value"] != "") == (row["result"] == "positive")
    assert {row["id_number"] for row in recall if row["result"] == "positive"} == {
        row["id_number"] for row in truth if row["infected"] == "1"
    }
    assert {row["result"] for row in recall} == {"positive", "negative"}


def test_most_results_come_within_12_hours(town):
    bigger = generate_campaign(generate_city(20_000, 8), seed=SEED, day=DAY)
    share = bigger.summary["over_12h"] / bigger.summary["tubes"]
    assert 0.03 <= share <= 0.12, share


def test_summary_json_matches_the_files(files, campaign):
    summary = json.loads(files["campaign_summary"].read_text(encoding="utf-8"))
    assert summary == campaign.summary
    results = read(files["lab_results_pools"])
    over = sum(local(r["reported_at"]) - local(r["sampled_at"]) > 12 * HOUR for r in results)
    assert summary["over_12h"] == over > 0
    assert summary["positive_pools"] == sum(r["result"] == "positive" for r in results)
    assert summary["infected"] == sum(r["infected"] == "1" for r in read(files["campaign_truth"])) == 2
    assert summary["residents"] == N
    assert summary["sites"] == len(read(files["campaign_sites"]))
    assert (summary["day"], summary["pool_size"]) == ("2020-05-22", POOL_SIZE)


# --- bad rows -------------------------------------------------------------------------------------------


def test_bad_rows_change_no_clean_row_but_the_withheld_tubes(files, bad_files):
    bad = json.loads(bad_files["campaign_bad_truth"].read_text(encoding="utf-8"))
    late = bad["result_before_members"]["pool_id"]
    for name in CLEAN_FILES:
        if name != "pool_members":
            assert files[name].read_bytes() == bad_files[name].read_bytes(), name
    clean = read(files["pool_members"])
    assert read(bad_files["pool_members"]) == [row for row in clean if row["pool_id"] != late]
    assert read(bad_files["pool_members_late"]) == [row for row in clean if row["pool_id"] == late]


def test_bad_rows_are_present_and_described(files, bad_files):
    bad = json.loads(bad_files["campaign_bad_truth"].read_text(encoding="utf-8"))
    assert set(bad) == {
        "tube_scanned_twice",
        "person_in_two_tubes",
        "overfilled_tube",
        "result_without_members",
        "result_before_members",
    }
    clean = read(files["pool_members"])
    extra = read(bad_files["pool_members_bad"])
    sampled = {row["id_number"] for row in clean}
    results = {row["pool_id"]: row for row in read(bad_files["lab_results_pools"])}
    tubes = defaultdict(list)
    for row in clean:
        tubes[row["pool_id"]].append(row)
    named = [
        bad["tube_scanned_twice"]["pool_id"],
        *bad["person_in_two_tubes"]["pool_ids"],
        bad["overfilled_tube"]["pool_id"],
        bad["result_before_members"]["pool_id"],
    ]
    assert len(set(named)) == 5  # each case has a tube of its own

    # (a) the tube's rows again, twice, exactly as in pool_members.csv
    twice = bad["tube_scanned_twice"]
    again = [row for row in extra if row["pool_id"] == twice["pool_id"]]
    assert again == tubes[twice["pool_id"]] * 2
    assert [row["id_number"] for row in tubes[twice["pool_id"]]] == twice["id_numbers"]

    # (b) a sampled person also in a second tube, after its last member
    person = bad["person_in_two_tubes"]
    first, second = person["pool_ids"]
    assert person["id_number"] in {row["id_number"] for row in tubes[first]}
    (row,) = [row for row in extra if row["pool_id"] == second]
    assert row["id_number"] == person["id_number"]
    assert int(row["position"]) == person["second_position"] == len(tubes[second]) + 1 <= POOL_SIZE
    assert row["sampled_at"] == tubes[second][-1]["sampled_at"]

    # (c) a full tube gains people nobody sampled: pool_size + 1 members
    overfilled = bad["overfilled_tube"]
    added = [row for row in extra if row["pool_id"] == overfilled["pool_id"]]
    assert [row["id_number"] for row in added] == overfilled["added_id_numbers"]
    assert not set(overfilled["added_id_numbers"]) & sampled
    assert len(tubes[overfilled["pool_id"]]) + len(added) == overfilled["members"] == POOL_SIZE + 1
    assert [int(row["position"]) for row in added] == list(range(len(tubes[overfilled["pool_id"]]) + 1, 12))

    assert len(extra) == 2 * len(twice["id_numbers"]) + 1 + len(added)

    # (d) a result for a tube no file names
    orphan = bad["result_without_members"]
    (result,) = read(bad_files["lab_results_bad"])
    assert result["sample_id"] == result["pool_id"] == orphan["pool_id"]
    assert result["result"] == orphan["result"]
    every_file = [bad_files[name] for name in ("pool_members", "pool_members_bad", "pool_members_late")]
    assert all(orphan["pool_id"] not in path.read_text(encoding="utf-8") for path in every_file)
    assert orphan["pool_id"] not in results

    # (e) a result whose members come later
    early = bad["result_before_members"]
    assert results[early["pool_id"]]["result"] == early["result"]
    assert early["pool_id"] not in {row["pool_id"] for row in read(bad_files["pool_members"])}
    late = read(bad_files["pool_members_late"])
    assert {row["pool_id"] for row in late} == {early["pool_id"]}
    assert [row["id_number"] for row in late] == early["id_numbers"]


def test_bad_rows_need_tubes_and_unsampled_residents_to_spare(town):
    with pytest.raises(ValueError, match="five tubes"):
        generate_campaign(town, seed=SEED, day=DAY, coverage=0.001, bad_rows=True)
    with pytest.raises(ValueError, match="not sampled"):
        generate_campaign(town, seed=SEED, day=DAY, coverage=1.0, bad_rows=True)


# --- the command ----------------------------------------------------------------------------------------


def test_command_writes_the_campaign_beside_the_city(tmp_path):
    out = StringIO()
    args = ["--out", str(tmp_path / "city"), "--residents", "3000", "--seed", "4", "--campaign"]
    call_command("synth", *args, "--campaign-bad-rows", "--pool-size", "5", "--json", stdout=out)
    summary = json.loads(out.getvalue())["campaign"]
    assert summary["pool_size"] == 5
    assert summary["sampled"] == 2700
    assert summary["day"] == "2020-05-22"
    assert summary["files"]["pool_members_bad"]["rows"] > 0
    for name in ("residents.csv", "pool_members.csv", "lab_results_pools.csv", "campaign_bad_truth.json"):
        assert (tmp_path / "city" / name).is_file(), name
    text = StringIO()
    call_command("synth", *args, "--campaign-date", "2020-05-23", stdout=text)
    assert "2020-05-23" in text.getvalue()
    assert "pool_members.csv" in text.getvalue()
    with pytest.raises(CommandError):
        call_command("synth", *args, "--coverage", "1.5", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("synth", *args, "--campaign-date", "22/05/2020", stdout=StringIO())
