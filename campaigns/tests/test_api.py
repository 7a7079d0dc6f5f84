"""The campaigns API for devices at a live site (issue #6 item 2): a site, swabs into tubes (filled to
the pool size, idempotent, by health code or ID number, refused in words), closing a tube, a tube's
fill, and coverage scoped to the caller."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from campaigns import coverage
from campaigns.choices import TubeStatus
from campaigns.models import Campaign, PoolMember, Site, Tube
from campaigns.services import do_plan, import_sites
from core.models import ApiToken
from geo.models import Division
from healthcode.services import code_for, mint

SITES = (
    "site_code,name,lat,lon,grid_code,capacity_per_hour,opens,closes\n"
    "S1,江岸一号采样点,30.6,114.3,420102001001001,200,07:00,21:00\n"
    "S2,武昌一号采样点,30.5,114.3,420106001001001,200,07:00,21:00\n"
)


def make_sites() -> dict[str, Site]:
    result = import_sites(SITES)
    assert not result.errors, result.errors
    return {site.code: site for site in Site.objects.all()}


def make_campaign() -> Campaign:
    """The whole city, from today for three days, five people per tube."""
    today = timezone.localdate()
    return do_plan(
        code="round-1",
        name="全员核酸检测",
        scope=Division.objects.get(level="city"),
        starts_on=today,
        ends_on=today + dt.timedelta(days=2),
        pool_size=5,
    )


def make_sampler(city):
    """A grid worker of the grid of site S1 (no campaigns.run_campaign)."""
    return city.staff("sampler", "grid_worker", city.grid("420102", 1))


@pytest.fixture
def sites(city) -> dict[str, Site]:
    return make_sites()


@pytest.fixture
def campaign(city) -> Campaign:
    return make_campaign()


@pytest.fixture
def sampler(city):
    return make_sampler(city)


def api(user) -> Client:
    _, key = ApiToken.issue(user, "site phone")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def post(client: Client, url: str, data: dict | None = None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def swab(client: Client, site: str, **body) -> dict:
    response = post(client, f"/api/campaigns/sites/{site}/swabs", body)
    assert response.status_code == 200, response.content
    return response.json()


def people(city) -> list[str]:
    return sorted(city.residents)


def test_a_first_swab_opens_a_tube_that_closes_at_the_pool_size(city, sites, campaign, sampler):
    client = api(sampler)
    ids = people(city)
    for n, id_number in enumerate(ids[:5], start=1):
        body = swab(client, "S1", tube="T1", id_number=id_number)
        assert body["outcome"] == "recorded", body
        assert (body["tube"], body["members"], body["capacity"], body["closed"]) == ("T1", n, 5, n == 5)
        assert body["person"] == city.residents[id_number].masked_name
        assert body["reason"] == "" and id_number not in json.dumps(body)
    sixth = swab(client, "S1", tube="T1", id_number=ids[5])
    assert (sixth["outcome"], sixth["reason"], sixth["closed"]) == ("rejected", "tube_closed", True)
    assert sixth["message"] == "Tube T1 is already closed; take a new tube."
    tube = Tube.objects.get(code="T1")
    assert (tube.status, tube.members, tube.capacity) == (TubeStatus.CLOSED, 5, 5)
    assert (tube.site, tube.campaign) == (sites["S1"], campaign)
    assert PoolMember.objects.filter(pool_id="T1").count() == 5
    assert not PoolMember.objects.filter(person__id_number=ids[5]).exists()
    assert coverage.total(campaign).tested == 5

    shown = client.get("/api/campaigns/tubes/T1").json()
    assert shown == {
        "code": "T1",
        "status": "closed",
        "status_label": "Closed, waiting for the lab",
        "members": 5,
        "capacity": 5,
        "closed": True,
        "site": "S1",
        "sampled_on": timezone.localdate().isoformat(),
    }


def test_the_site_shows_todays_campaign_its_pool_size_and_open_tubes(city, sites, campaign, sampler):
    client = api(sampler)
    swab(client, "S1", tube="OPEN1", id_number=people(city)[0])
    body = client.get("/api/campaigns/sites/S1").json()
    assert (body["code"], body["name"], body["grid"]) == ("S1", "江岸一号采样点", "第1网格")
    assert (body["opens"], body["closes"]) == ("07:00:00", "21:00:00")
    assert [c["code"] for c in body["campaigns"]] == ["round-1"] and body["pool_size"] == 5
    assert [(t["code"], t["members"], t["capacity"]) for t in body["open_tubes"]] == [("OPEN1", 1, 5)]
    assert client.get("/api/campaigns/sites/NOPE").status_code == 404


def test_a_repeated_swab_is_a_duplicate_even_after_the_tube_closed(city, sites, campaign, sampler):
    client = api(sampler)
    ids = people(city)
    first = swab(client, "S1", tube="T2", id_number=ids[0])
    again = swab(client, "S1", tube="T2", id_number=ids[0])
    assert again["outcome"] == "duplicate" and again["members"] == 1 and not again["closed"]
    assert again["person"] == first["person"]
    for id_number in ids[1:5]:
        swab(client, "S1", tube="T2", id_number=id_number)
    resent = swab(client, "S1", tube="T2", id_number=ids[4])  # the answer to the 5th swab was lost
    assert (resent["outcome"], resent["members"], resent["closed"]) == ("duplicate", 5, True)
    assert PoolMember.objects.filter(pool_id="T2").count() == 5
    assert coverage.total(campaign).tested == 5


def test_nobody_found_and_bad_bodies(city, sites, campaign, sampler):
    client = api(sampler)
    stranger = "110101199003070011"  # a valid number nobody in the city has
    body = swab(client, "S1", tube="T3", id_number=stranger)
    assert (body["outcome"], body["reason"]) == ("rejected", "unknown_person")
    assert body["message"] == "Nobody matches this code or number."
    assert not PoolMember.objects.exists()
    url = "/api/campaigns/sites/S1/swabs"
    assert post(client, url, {"id_number": people(city)[0]}).status_code == 400
    assert post(client, url, {"tube": "  ", "id_number": people(city)[0]}).status_code == 400
    no_person = post(client, url, {"tube": "T3"})
    assert no_person.status_code == 400 and no_person.json()["detail"] == "Scan the health code or type the ID number."
    assert post(client, "/api/campaigns/sites/NOPE/swabs", {"tube": "T3", "id_number": stranger}).status_code == 404
    assert Client().get("/api/campaigns/sites/S1").status_code == 401


def test_a_health_code_identifies_the_person(city, sites, campaign, sampler):
    client = api(sampler)
    person = city.residents[people(city)[3]]
    token = mint(code_for(person))[0]
    body = swab(client, "S1", tube="T4", token=token)
    assert (body["outcome"], body["person"], body["members"]) == ("recorded", person.masked_name, 1)
    assert PoolMember.objects.get(pool_id="T4").person == person
    assert swab(client, "S1", tube="T4", token=mint(code_for(person))[0])["outcome"] == "duplicate"
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    refused = swab(client, "S1", tube="T4", token=forged)
    assert (refused["outcome"], refused["reason"], refused["members"]) == ("rejected", "bad_code", 1)
    assert refused["message"].startswith("This health code cannot be used")


def test_a_person_in_a_second_tube_the_same_day_is_refused_naming_the_first(city, sites, campaign, sampler):
    client = api(sampler)
    ids = people(city)
    swab(client, "S1", tube="FIRST", id_number=ids[0])
    swab(client, "S1", tube="SECOND", id_number=ids[1])
    body = swab(client, "S1", tube="SECOND", id_number=ids[0])
    assert (body["outcome"], body["reason"]) == ("rejected", "person_in_two_tubes")
    assert body["message"] == "This person was already swabbed into tube FIRST the same day."
    assert (body["members"], body["capacity"], body["closed"]) == (1, 5, False)
    assert list(PoolMember.objects.filter(person__id_number=ids[0]).values_list("pool_id", flat=True)) == ["FIRST"]
    # into a new tube, the refused first swab leaves it empty (and it shows the pool size it will take)
    fresh = swab(client, "S1", tube="THIRD", id_number=ids[0])
    assert (fresh["reason"], fresh["members"], fresh["capacity"]) == ("person_in_two_tubes", 0, 5)
    assert coverage.total(campaign).tested == 2


def test_sites_and_tubes_of_another_grid_are_not_found(city, sites, campaign, sampler):
    swab(api(sampler), "S1", tube="T5", id_number=people(city)[0])
    neighbour = api(city.staff("neighbour", "grid_worker", city.grid("420102", 2)))
    assert neighbour.get("/api/campaigns/sites/S1").status_code == 404
    refused = post(neighbour, "/api/campaigns/sites/S1/swabs", {"tube": "T5", "id_number": people(city)[1]})
    assert refused.status_code == 404
    assert neighbour.get("/api/campaigns/tubes/T5").status_code == 404
    assert post(neighbour, "/api/campaigns/tubes/T5/close").status_code == 404
    assert Tube.objects.get(code="T5").members == 1 and PoolMember.objects.count() == 1
    # the community's worker covers both grids; S2 is in the other district
    community = api(city.staff("community", "community_worker", city.divisions["420102001001"]))
    community.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert community.get("/api/campaigns/sites/S1").status_code == 200
    # … but a community worker runs campaigns (campaigns.run_campaign): any site of the city
    assert community.get("/api/campaigns/sites/S2").status_code == 200
    assert api(sampler).get("/api/campaigns/sites/S2").status_code == 404


def test_a_tube_of_another_site_is_refused(city, sites, campaign, sampler):
    organiser = api(city.staff("organiser", "district", city.divisions["420106000000"]))
    swab(organiser, "S2", tube="T6", id_number=people(city)[0])
    body = swab(organiser, "S1", tube="T6", id_number=people(city)[1])
    assert (body["outcome"], body["reason"]) == ("rejected", "tube_other_site")
    assert body["message"] == "Tube T6 belongs to another site (S2); take a new tube."
    assert Tube.objects.get(code="T6").members == 1


def test_the_sampler_closes_a_tube_at_the_end_of_the_queue(city, sites, campaign, sampler):
    client = api(sampler)
    ids = people(city)
    swab(client, "S1", tube="T7", id_number=ids[0])
    swab(client, "S1", tube="T7", id_number=ids[1])
    response = post(client, "/api/campaigns/tubes/T7/close")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("status", "members", "capacity", "closed")} == {
        "status": "closed",
        "members": 2,
        "capacity": 5,
        "closed": True,
    }
    assert swab(client, "S1", tube="T7", id_number=ids[2])["reason"] == "tube_closed"
    assert post(client, "/api/campaigns/tubes/T7/close").json()["status"] == "closed"  # again: no change
    assert post(client, "/api/campaigns/tubes/NOPE/close").status_code == 404
    assert client.get("/api/campaigns/sites/S1").json()["open_tubes"] == []


def test_coverage_is_scoped_to_the_caller(city, sites, campaign, sampler):
    ids = people(city)
    client = api(sampler)
    grid_1 = city.grid("420102", 1)
    in_grid_1 = sorted(p for p in ids if city.residents[p].grid_id == grid_1.pk)
    for id_number in in_grid_1[:3]:
        swab(client, "S1", tube="C1", id_number=id_number)

    mine = client.get("/api/campaigns/round-1/coverage", {"level": "grid"}).json()
    assert mine["campaign"] == "round-1" and mine["level"] == "grid"
    assert [(r["key"], r["target"], r["tested"], r["untested"]) for r in mine["rows"]] == [(grid_1.pk, 10, 3, 7)]
    row = mine["rows"][0]
    assert row["coverage"] == pytest.approx(0.3) and row["awaiting"] == 3
    assert (row["exempt"], row["negative"], row["held"], row["positive"]) == (0, 0, 0, 0)
    assert mine["total"]["tested"] == 3 and mine["total"]["target"] == 10

    community = city.divisions["420102001001"]
    worker = api(city.staff("community", "community_worker", community))
    body = worker.get(
        "/api/campaigns/round-1/coverage", {"level": "grid", "within_level": "community", "within": community.pk}
    ).json()
    assert {r["key"]: (r["target"], r["tested"]) for r in body["rows"]} == {
        grid_1.pk: (10, 3),
        city.grid("420102", 2).pk: (10, 0),
    }
    assert body["total"]["target"] == 20
    # the other district is outside this worker's jurisdiction, even when asked for
    other = city.divisions["420106000000"]
    outside = worker.get(
        "/api/campaigns/round-1/coverage", {"level": "grid", "within_level": "district", "within": other.pk}
    )
    assert outside.json()["rows"] == [] and outside.json()["total"]["target"] == 0
    assert (
        len(
            api(city.staff("city", "city_command", Division.objects.get(level="city")))
            .get("/api/campaigns/round-1/coverage", {"level": "grid"})
            .json()["rows"]
        )
        == 4
    )

    assert client.get("/api/campaigns/round-1/coverage", {"level": "planet"}).status_code == 400
    assert client.get("/api/campaigns/round-1/coverage", {"within_level": "grid"}).status_code == 400
    assert client.get("/api/campaigns/nope/coverage").status_code == 404
