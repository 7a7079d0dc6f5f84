"""The demo set-up and the `linli` console command, as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from core.scoping import restrict
from people.models import Resident

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_demo_sets_up_a_city_and_staff_at_every_level(tmp_path, settings, capsys, django_capture_on_commit_callbacks):
    from tracing import store
    from tracing.models import Containment

    settings.LINLI_HOME = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", "--no-serve", "--residents", "1500", "--seed", "7")
    assert store.counts()["stays"] > 1500 * 10  # a fortnight of scans
    assert Containment.objects.filter(traced_at__isnull=False).exists()  # the seeded outbreak's cases
    out = capsys.readouterr().out
    logins = json.loads((tmp_path / "demo-logins.json").read_text())
    assert set(logins) == {
        *("admin", "city", "cdc", "cdc_district", "district", "street", "community", "grid", "cadre"),
        *("school", "bank", "counsellor"),
    }
    assert all(name in out for name in logins)
    assert Resident.objects.filter(registered=True).count() == 1500
    users = {u.username: u for u in get_user_model().objects.all()}
    registered = Resident.objects.filter(registered=True)
    visible = {name: restrict(users[name], registered).count() for name in logins}
    assert visible["city"] == visible["admin"] == 1500
    assert 1500 > visible["district"] >= visible["street"] >= visible["community"] >= visible["grid"]
    assert visible["grid"] >= visible["cadre"] > 0
    assert visible["school"] == visible["bank"] == visible["counsellor"] == 0  # outside the grid
    client = Client()
    assert client.login(username="grid", password=logins["grid"])
    assert client.get("/").status_code == 200
    _issue_5_done_when(users["city"])
    _issue_6_done_when(users["grid"])
    _issue_8_done_when(logins)  # before #7's, whose overdue sweeps move late runs off their crews
    _issue_7_done_when(users, logins)
    _issue_9_done_when(logins)
    _issue_10_done_when(logins)
    _issue_12_done_when(logins)
    call_command("demo", "--no-serve")  # again: keeps the city and the same passwords
    assert json.loads((tmp_path / "demo-logins.json").read_text()) == logins
    assert Resident.objects.filter(registered=True).count() == 1500


def _linli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LINLI_HOME": str(home), "LINLI_DATABASE_URL": ""}
    return subprocess.run(  # noqa: S603 - our own module with fixed arguments
        [sys.executable, "-m", "linli.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_console_command_synth_and_import_exit_codes(tmp_path):
    home = tmp_path / "home"
    out = tmp_path / "city"
    assert _linli(home, "migrate", "-v0").returncode == 0
    synth = _linli(home, "synth", "--out", str(out), "--residents", "800", "--json")
    assert synth.returncode == 0, synth.stderr
    for kind in ("divisions", "compounds", "buildings", "residents"):
        result = _linli(home, "import", kind, str(out / f"{kind}.csv"), "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["kind"] == kind and summary["rejected"] == {}
    again = json.loads(_linli(home, "import", "residents", str(out / "residents.csv"), "--json").stdout)
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 800)
    broken = _linli(home, "import", "residents", str(out / "divisions.csv"))
    assert broken.returncode != 0 and "id_number" in broken.stderr


def _issue_6_done_when(grid_worker) -> None:
    """Issue #6, 'Done when', on the demo city: a campaign planned, sampled in pools and resulted from
    a lab file with two positive tubes; their members held with recall tasks; the infected member of
    the re-swabbed tube in the infected path with a containment; coverage by grid correct."""
    from django.db.models import Count

    from campaigns import coverage
    from campaigns.models import Campaign, Participant, Tube
    from cases.models import PersonStatus
    from synth.demo import DEMO_CAMPAIGN
    from tasks.models import Task
    from tracing.models import Containment

    campaign = Campaign.objects.get(code=DEMO_CAMPAIGN)
    assert campaign.slots.exists() and campaign.notices_published_at is not None
    positive = list(Tube.objects.filter(campaign=campaign, status="positive").order_by("code"))
    assert len(positive) == 2
    first, second = positive
    released = Participant.objects.with_standing().filter(tube=first)
    assert sorted(released.values_list("standing", flat=True)) == ["negative"] * (first.members - 1) + ["positive"]
    infected = released.get(standing="positive").person
    assert PersonStatus.objects.get(person=infected).category in {"asymptomatic", "confirmed"}
    assert Containment.objects.filter(case=infected).exists()
    held = Participant.objects.with_standing().filter(tube=second)
    assert held.count() == second.members and set(held.values_list("standing", flat=True)) == {"held"}
    recalls = Task.objects.filter(task_type="recall", resident_id__in=held.values("person_id"))
    assert recalls.count() == second.members and not recalls.filter(assignee__isnull=True).exists()
    by_grid = {row.key: row for row in coverage.rollup(campaign, "grid")}
    sampled = Participant.objects.filter(campaign=campaign).values("grid_id").annotate(n=Count("pk"))
    assert {row["grid_id"]: row["n"] for row in sampled} == {k: v.tested for k, v in by_grid.items() if v.tested}
    residents = Resident.objects.filter(registered=True).values("grid_id").annotate(n=Count("pk"))
    assert {row["grid_id"]: row["n"] for row in residents} == {k: v.target for k, v in by_grid.items()}
    mine = coverage.rollup(campaign, "grid", grid_worker)
    assert len(mine) == 1 and mine[0].key == grid_worker_grid(grid_worker)


def _issue_7_done_when(users: dict, logins: dict) -> None:
    """Issue #7, 'Done when', on the demo city: a resident signs in and asks for medicine; it goes to
    the cadre answerable for the building, who lets it run late, so it escalates to the grid
    worker, who sees it in the inbox, delivers and closes it; the resident rates it; an Open311
    client lists and creates requests; the counts appear for the community."""
    import datetime as dt

    from django.conf import settings as django_settings
    from django.db.models import Count
    from django.utils import timezone

    from assistance.models import HelpRequest
    from core.models import ApiToken
    from residents.sms import MemorySender
    from residents.tests.support import sign_in
    from tasks.escalation import sweep_overdue
    from tasks.models import Task

    grid_user, cadre = users["grid"], users["cadre"]
    (cadre_building,) = {a.building_id for a in cadre.assignments.all()}
    candidates = Resident.objects.filter(building_id=cadre_building, merged_into__isnull=True).exclude(phone="")
    shared = set(
        Resident.objects.filter(phone__in=candidates.values("phone"))
        .values("phone")
        .annotate(n=Count("pk"))
        .order_by()
        .filter(n__gt=1)
        .values_list("phone", flat=True)
    )
    resident = next(r for r in candidates.order_by("id") if r.phone not in shared)  # no chooser on sign-in
    django_settings.LINLI_SMS_SENDER = "residents.sms.MemorySender"
    MemorySender.clear()
    browser = Client()
    browser.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    assert sign_in(browser, phone=resident.phone).status_code == 302
    response = browser.post("/me/help/new/", {"category": "medicine", "text": "降压药两盒"})
    item = HelpRequest.objects.get(resident=resident, text="降压药两盒")
    assert response.url == f"/me/help/{item.pk}/"
    assert (item.task.assignee, item.task.assigned_level) == (cadre, "building")

    worker = Client()
    assert worker.login(username="grid", password=logins["grid"])
    assert "降压药两盒" in worker.get("/tasks/").content.decode()  # in the grid's open tasks already
    assert Task.objects.filter(task_type="help", escalation_level__gte=1).exists()  # the demo's late escort
    sweep_overdue(now=item.task.due_at + dt.timedelta(minutes=1))
    item.task.refresh_from_db()
    assert (item.task.assignee, item.task.assigned_level, item.task.escalation_level) == (grid_user, "grid", 1)
    worker.post(f"/help/{item.pk}/start/")
    worker.post(f"/help/{item.pk}/resolve/", {"feedback": "已送到家"})
    item.task.refresh_from_db()
    assert item.task.status == "closed"
    browser.post(f"/me/help/{item.pk}/rate/", {"stars": "5"})
    item.refresh_from_db()
    assert item.rating == 5 and item.task.status == "evaluated"

    key = ApiToken.issue(grid_user, "civic app")[1]
    listed = worker.get("/open311/v2/requests.json", {"api_key": key}).json()
    assert item.reference in {r["service_request_id"] for r in listed}
    created = worker.post(
        "/open311/v2/requests.json",
        {"api_key": key, "service_code": "groceries", "description": "米和油", "phone": resident.phone},
    )
    assert created.status_code == 201

    community = Client()
    assert community.login(username="community", password=logins["community"])
    figures = community.get("/api/help/counts", {"node": f"community:{resident.community_id}"}).json()
    since = dt.datetime.combine(
        timezone.localdate() - dt.timedelta(days=6), dt.time(), tzinfo=timezone.get_current_timezone()
    )
    asked = HelpRequest.objects.filter(community_id=resident.community_id, created_at__gte=since).count()
    assert figures["asked_total"] == asked >= 2
    assert figures["deliveries"]["medicine"] >= 1 and figures["rated"] >= 1
    page = community.get("/help/counts/", {"node": f"community:{resident.community_id}"}).content.decode()
    assert f'data-figure="asked_total">{asked}<' in page


def _issue_8_done_when(logins: dict) -> None:
    """Issue #8, 'Done when', on the demo city: a day of transfers planned and published as crew tasks;
    no trip mixes categories and no facility is planned past its beds (a full hospital's later
    transfers went elsewhere); the supply ledger shows a shortfall alert."""
    from django.db.models import Count, F

    from beds.models import Facility
    from dispatch.models import DispatchPlan, Transfer, Vehicle
    from supplies.models import Stock
    from tasks.models import Task

    plan = DispatchPlan.objects.order_by("-id").first()
    assert plan is not None and plan.transfers > 0
    planned = Transfer.objects.filter(plan=plan).exclude(trip="")
    drive = Task.objects.filter(task_type="drive", pk__in=planned.values("drive_task_id"))
    crews = set(Vehicle.objects.exclude(crew=None).values_list("crew_id", flat=True))
    # a crew takes its run when its district covers the run's facility or first person; else the
    # district's dispatch desk holds it
    assert drive.filter(assignee_id__in=crews).count() > drive.count() / 2
    assert Task.objects.filter(task_type="transfer", resident_id__in=planned.values("person_id")).exists()
    mixed = planned.values("trip").annotate(n=Count("category", distinct=True)).filter(n__gt=1)
    assert not mixed.exists()
    assert not Facility.objects.filter(beds_occupied__gt=F("beds_open")).exists()
    over = Facility.objects.filter(beds_reserved__gt=F("beds_open") - F("beds_occupied"))
    assert not over.exists()
    by_category = planned.values("category").annotate(places=Count("destination", distinct=True))
    assert any(row["places"] > 1 for row in by_category)  # one place could not take them all
    short = Stock.objects.filter(quantity__lt=F("minimum")).select_related("depot").first()
    assert short is not None and Task.objects.filter(task_type="restock", status="dispatched").exists()
    desk = Client()
    assert desk.login(username="city", password=logins["city"])
    page = desk.get(f"/supplies/depots/{short.depot_id}/").content.decode()
    assert short.item.name in page
    ledger = desk.get(f"/supplies/depots/{short.depot_id}/ledger.xlsx")
    assert ledger.status_code == 200 and ledger["Content-Type"].startswith("application/vnd.openxmlformats")


def _issue_9_done_when(logins: dict) -> None:
    """Issue #9, 'Done when', on the demo city: the seeded outbreak shows as real alerts (a rise in
    antipyretic sales in its district and a space-time cluster of communities), each with a 24-hour
    verification task for a CDC epidemiologist, and the alert page draws the series and the map."""
    import datetime as dt

    from ewarn.models import Alert

    alerts = Alert.objects.filter(status="open", signal="antipyretic").select_related("task__assignee")
    rise = alerts.filter(kind="temporal", level="district").order_by("-observed").first()
    cluster = alerts.filter(kind="cluster").order_by("-observed").first()
    assert rise is not None and cluster is not None
    assert rise.observed > 2 * rise.expected and cluster.p_value <= 0.01
    assert cluster.communities.count() >= 2
    assert set(cluster.communities.values_list("district_id", flat=True)) & {rise.area_id}
    for alert in (rise, cluster):
        task = alert.task
        assert task.task_type == "verify_signal" and task.assignee.username in {"cdc", "cdc_district"}
        assert task.due_at - task.opened_at == dt.timedelta(hours=24)
    client = Client()
    assert client.login(username="cdc", password=logins["cdc"])
    page = client.get(f"/ewarn/alerts/{cluster.pk}/").content.decode()
    assert "ewarn-map-data" in page and '"member": true' in page and "ewarn-chart-data" in page


def _issue_10_done_when(logins: dict) -> None:
    """Issue #10, 'Done when', on the demo city: the city's login opens onto the dashboard with its
    map and chart of the demo city, and the daily report downloads as XLSX and PDF with the
    dashboard's numbers."""
    import io

    from openpyxl import load_workbook

    from dashboard.report import daily_report
    from geo.models import Division

    client = Client()
    assert client.login(username="city", password=logins["city"])
    home = client.get("/", follow=True).content.decode()
    assert "dash-map" in home and "dash-trend" in home and "dash-data" in home
    city = Division.objects.get(level="city")
    feed = client.get(f"/dashboard/data.json?area={city.pk}").json()
    assert feed["figures"]["residents"] == 1500 and len(feed["children"]) == 13
    assert sum(1 for child in feed["children"] if child["lat"]) == 13  # every district on the map
    report = daily_report(city, dt.date.fromisoformat(feed["day"])).as_dict()["tables"]
    assert report["categories"]["confirmed"]["now"] == feed["figures"]["now_confirmed"] > 0
    xlsx = client.get(f"/dashboard/report/?area={city.pk}&format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert feed["figures"]["cum_close_contact"] in [cell.value for row in sheet.iter_rows() for cell in row]
    pdf = client.get(f"/dashboard/report/?area={city.pk}&format=pdf")
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")


def _issue_12_done_when(logins: dict) -> None:
    """The restart on the demo city, through the pages and API as the demo logins: a school applies,
    is inspected and opens, and its district's resumption rate moves; a firm's relief application is
    matched to banks and the demo bank approves it; a rotation plan for the street keeps every grid
    staffed and everyone's run within the limit; the renovation programme shows progress against its
    target."""
    import re

    from django.utils import timezone

    from core.models import ApiToken
    from relief.models import Match
    from renovation.models import Project, YearTarget
    from reopening.models import ReopeningApplication

    street = Client()
    assert street.login(username="street", password=logins["street"])
    application = ReopeningApplication.objects.get(status="submitted", task__assignee__username="street")
    school = application.unit
    assert school.kind == "school" and school.contacts.filter(user__username="school").exists()

    def district_rate():
        rows = street.get("/reopening/rates/").context["rows"]
        return next(r for r in rows if r.key == str(school.district_id))

    before = district_rate()
    inspect = f"/reopening/applications/{application.pk}/inspect/"
    for item in application.checklist:
        assert street.post(inspect, {"action": "verdict", "item": item, "verdict": "approved"}).status_code == 302
    decided = street.post(inspect, {"action": "decide", "decision": "approve", "reason": "现场核查四项到位"})
    assert decided.status_code == 302
    school.refresh_from_db()
    assert school.status == "open"
    after = district_rate()
    assert after.open == before.open + 1 and after.open_share > before.open_share
    assert school.district.name in street.get("/reopening/rates/").content.decode()

    bank = Client()
    assert bank.login(username="bank", password=logins["bank"])
    officer = get_user_model().objects.get(username="bank")
    match = (
        Match.objects.filter(bank_id__in=officer.bank_memberships.values("bank_id"), status="open")
        .select_related("application", "product")
        .order_by("rank", "pk")
        .first()
    )
    loan = match.application
    assert loan.applicant.kind == "firm" and loan.matches.filter(status="open").count() >= 2
    amount = min(loan.amount_fen, match.product.max_fen) // 100
    today = timezone.localdate().isoformat()
    approve = {"action": "decide", "match": match.pk, "decision": "approve", "amount_yuan": str(amount)}
    response = bank.post(f"/relief/applications/{loan.pk}/", approve | {"decided_on": today, "disbursed_on": today})
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.status == "disbursed" and loan.approved_match_id == match.pk

    street_user = get_user_model().objects.get(username="street")
    _, key = ApiToken.issue(street_user, "demo")
    area = street_user.assignments.get().division
    plan = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
        "/api/workforce/plans",
        json.dumps({"area_id": area.pk, "starts_on": timezone.localdate().isoformat()}),
        content_type="application/json",
    )
    assert plan.status_code == 201, plan.content
    body = plan.json()
    assert body["staffed_every_day"] and body["grid_days"] and body["worker_days"]
    assert all(min(g["on_duty"]) >= g["minimum"] for g in body["grid_days"])
    assert all(run <= body["max_consecutive_days"] for w in body["worker_days"] for run in w["runs"])

    district = Client()
    assert district.login(username="district", password=logins["district"])
    year = timezone.localdate().year
    html = district.get("/renovation/", {"year": year}).content.decode()
    district_division = get_user_model().objects.get(username="district").assignments.get().division
    target = YearTarget.objects.get(year=year, district=district_division)
    live = Project.objects.filter(district=district_division).exclude(status="cancelled")
    started = live.filter(started_on__year=year).count()
    row = re.search(rf'data-code="{district_division.code}">(.*?)</tr>', html, re.S).group(1)
    assert f'<td class="num started">{started} / {target.to_start} (' in row


def grid_worker_grid(user) -> int:
    from core.scoping import jurisdiction_of

    (grid,) = jurisdiction_of(user).nodes["grid"]
    return grid


def _issue_5_done_when(staff) -> None:
    """Issue #5, 'Done when', on the demo city: a confirmed case's household turns red with the
    reason shown; a gate check at 37.6 °C opens a task and turns the code yellow; a tampered token
    is refused offline; a compound under closed management refuses an unapproved exit."""
    import time
    import uuid

    from cases.models import PersonStatus
    from gates.models import Closure, Gate
    from gates.services import record_checks
    from healthcode.keys import published_keys, published_revocations
    from healthcode.models import HealthCode
    from healthcode.services import code_for, mint
    from healthcode.tokens import verifier_from_document

    case = PersonStatus.objects.filter(category="confirmed").select_related("person").first().person
    household = Resident.objects.filter(household_id=case.household_id).exclude(pk=case.pk)
    assert code_for(case).colour == "red" and code_for(case).reasons[0]["rule"] == "confirmed"
    assert household.exists()
    for member in household:
        code = HealthCode.objects.get(person=member)
        assert code.colour == "red" and "close_contact" in [r["rule"] for r in code.reasons]

    closed = Closure.objects.filter(rule="in_only").values_list("compound_id", flat=True)
    assert case.compound_id in set(closed)

    def check(person, **fields):
        gate = Gate.objects.get(compound_id=person.compound_id)
        record = {"client_id": str(uuid.uuid4()), "gate": gate.code, "token": mint(code_for(person))[0]}
        record |= {"direction": "in", "identity_checked": True, "temperature": 36.5, "mask": True}
        return record_checks([record | fields], staff)[0].as_dict()

    # in a small demo city the closed compounds' residents are all contacts; yellow ones may go home
    shut_in = Resident.objects.filter(compound_id__in=closed).exclude(health_code__colour="red").first()
    assert check(shut_in, direction="out")["refusal"] == "exit_not_approved"
    neighbour = Resident.objects.filter(health_code__colour="green").exclude(compound_id__in=closed).first()
    fever = check(neighbour, temperature=37.6)
    assert fever["refusal"] == "fever" and fever["task"] is not None
    assert code_for(neighbour).colour == "yellow" and code_for(neighbour).reasons[0]["rule"] == "gate_fever"

    token = mint(code_for(neighbour))[0]
    offline = verifier_from_document({"keys": published_keys()}, published_revocations())
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    assert offline.verify(token, int(time.time())).colour == "yellow"
    assert offline.verify(tampered, int(time.time())).verdict == "forged"
