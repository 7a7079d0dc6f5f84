"""The synthetic campaign (synth.campaign) imported end to end and checked against the generator's
truth: every member of every positive tube held and recalled, every infected person found, the bad
rows each handled as the issue asks."""

from __future__ import annotations

import datetime as dt

import pyarrow.csv as pacsv
import pytest

from campaigns import coverage
from campaigns.models import Campaign, Participant, PoolMember, Tube
from campaigns.services import assign_slots, do_plan, import_sites
from cases.models import PersonStatus
from core.imports.runner import run_import
from core.models import ImportRejection
from geo.models import Division
from synth import campaign as synth_campaign
from synth.city import generate_city
from synth.writer import write_city
from tasks.models import Task

DAY = dt.date(2020, 5, 22)


def load(kind: str, path):
    batch = run_import(kind, path.read_bytes(), filename=path.name, max_bytes=0)
    assert batch.status == "done", batch.error
    return batch


@pytest.fixture
def synthetic(db, tmp_path):
    city = generate_city(3000, 11)
    paths = write_city(city, tmp_path / "city")
    for kind in ("divisions", "compounds", "buildings", "residents"):
        load(kind, paths[kind])
    files = synth_campaign.generate_campaign(city, seed=11, day=DAY, positives=4, bad_rows=True)
    campaign_paths = synth_campaign.write_campaign(files, tmp_path / "campaign")
    campaign = do_plan(
        code="synthetic",
        name="synthetic",
        scope=Division.objects.get(level="city"),
        starts_on=DAY,
        ends_on=DAY,
        pool_size=synth_campaign.POOL_SIZE,
    )
    return campaign, campaign_paths, files


def truth(paths) -> dict[str, list]:
    return pacsv.read_csv(paths[synth_campaign.TRUTH], convert_options=_strings()).to_pydict()


def _strings():
    return pacsv.ConvertOptions(column_types={"id_number": "string", "pool_id": "string"})


def test_every_member_of_every_positive_tube_is_recalled_and_every_infection_found(synthetic):
    campaign, paths, files = synthetic
    assert not import_sites(paths[synth_campaign.SITES].read_text(encoding="utf-8")).errors
    assert assign_slots(campaign) > 0
    members = load("pool_members", paths[synth_campaign.POOL_MEMBERS])
    assert members.rejected_total == 0 and members.linked == {"id_number": members.rows}
    load("lab_results", paths[synth_campaign.POOL_RESULTS])

    known = truth(paths)
    late = {files.bad_truth["result_before_members"]["pool_id"]}
    recall_rows = pacsv.read_csv(paths[synth_campaign.RECALL_RESULTS], convert_options=_strings()).to_pydict()
    positive_tubes = set(recall_rows["pool_id"])
    should_be_held = {
        person
        for person, tube in zip(known["id_number"], known["pool_id"], strict=True)
        if tube in positive_tubes and tube not in late
    }
    assert len(positive_tubes) == files.summary["positive_pools"] >= 4
    recalled = set(Task.objects.filter(task_type="recall").values_list("resident__id_number", flat=True))
    assert recalled == should_be_held
    held = Participant.objects.with_standing().filter(standing="held").values_list("person__id_number", flat=True)
    assert set(held) == should_be_held

    load("lab_results", paths[synth_campaign.RECALL_RESULTS])
    infected = {
        p for p, flag, tube in zip(known["id_number"], known["infected"], known["pool_id"], strict=True) if flag
    }
    found = set(PersonStatus.objects.values_list("person__id_number", flat=True))
    assert found == {person for person in infected if person in should_be_held}
    assert not Participant.objects.with_standing().filter(standing="held").exists()
    totals = coverage.total(campaign)
    assert totals.positive == len(found)
    late_people = sum(1 for tube in known["pool_id"] if tube in late)  # not in the file yet
    assert totals.tested == members.rows == len(known["id_number"]) - late_people
    incremental = coverage.stored_counts(campaign)
    coverage.recount(campaign)
    assert coverage.stored_counts(campaign) == incremental


def test_each_bad_case_is_handled_and_nothing_is_lost(synthetic):
    campaign, paths, files = synthetic
    bad = files.bad_truth
    load("pool_members", paths[synth_campaign.POOL_MEMBERS])
    load("lab_results", paths[synth_campaign.POOL_RESULTS])
    batch = load("pool_members", paths[synth_campaign.POOL_MEMBERS_BAD])
    load("lab_results", paths[synth_campaign.LAB_RESULTS_BAD])

    # a tube scanned twice: the repeat in the file refused as a duplicate key, the tube unchanged
    twice = bad["tube_scanned_twice"]
    assert batch.rejected.get("duplicate_key_in_file", 0) >= 1
    assert Tube.objects.get(code=twice["pool_id"]).members <= campaign.pool_size
    # a person in two tubes the same day: refused, the first tube named
    second = ImportRejection.objects.get(batch=batch, reason="person_in_two_tubes")
    first_tube, second_tube = bad["person_in_two_tubes"]["pool_ids"]
    assert (second.detail, second.data["pool_id"]) == (first_tube, second_tube)
    # an overfilled tube: kept whole and marked; its negative result clears nobody
    overfilled = Tube.objects.get(code=bad["overfilled_tube"]["pool_id"])
    assert overfilled.overfilled and overfilled.members > campaign.pool_size
    # (it was resulted negative before the extra names arrived: its cleared members go back too)
    assert set(Participant.objects.with_standing().filter(tube=overfilled).values_list("standing", flat=True)) == {
        "resample"
    }
    # a result for a tube nobody listed: kept on an empty tube, waiting
    orphan = Tube.objects.get(code=bad["result_without_members"]["pool_id"])
    assert orphan.members == 0 and orphan.status == "positive"
    # a result before its member list: applied when the list arrives
    late_code = bad["result_before_members"]["pool_id"]
    assert Tube.objects.get(code=late_code).members == 0
    load("pool_members", paths[synth_campaign.POOL_MEMBERS_LATE])
    late = Tube.objects.get(code=late_code)
    assert late.members > 0
    assert set(Participant.objects.with_standing().filter(tube=late).values_list("standing", flat=True)) == {"negative"}
    assert PoolMember.objects.filter(pool_id=late_code).count() == late.members
    assert Campaign.objects.get(pk=campaign.pk).code == "synthetic"
