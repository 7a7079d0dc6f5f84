"""The command centre: figures counted from the records and summed up the grid so every level
agrees; past days keep their states; the page, its live feed and the drill-down are scoped to the
user's jurisdiction and read the pre-aggregated figures within a query budget."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.services import do_identify
from core.choices import StaffRole
from dashboard.figures import children_figures, figures_for
from dashboard.indicators import INDICATORS, MAXIMA
from dashboard.models import Figure
from dashboard.refresh import backfill, refresh
from geo.models import Division
from tests_support.clients import staff_client

pytestmark = pytest.mark.django_db

# one page view reads a handful of rows: area, crumbs, figures, children, names, trend, refresh,
# late containments, the session and the user (the centroids are cached after the first view)
PAGE_QUERY_BUDGET = 16


@pytest.fixture
def outbreak(city, django_capture_on_commit_callbacks):
    """A confirmed case (with its containment), a suspected and a fever case, and a close contact."""
    people = sorted(city.residents.values(), key=lambda p: p.pk)
    jiangan = [p for p in people if p.district.code == "420102000000"]
    wuchang = [p for p in people if p.district.code == "420106000000"]
    with django_capture_on_commit_callbacks(execute=True):
        do_identify(jiangan[0], "confirmed", None, "lab confirmed")
        do_identify(jiangan[5], "suspected", None, "clinic")
        do_identify(wuchang[0], "fever", None, "gate 37.8")
        do_identify(jiangan[1], "close_contact", None, "same household")
    return jiangan[0]


def _sums_agree(day: dt.date) -> None:
    """Every level is the sum of the level below (the highest, for the risk level)."""
    for level in ("city", "district", "street"):
        for area in Division.objects.filter(level=level):
            own = figures_for(area, day)
            below = children_figures(area, day).values()
            for code in INDICATORS:
                if code in ("residents", "beds_open", "beds_occupied", "beds_free", "alerts_open"):
                    continue  # counted at their own level (people.rollup, facilities, alerts about an area)
                values = [figures[code] for figures in below]
                expected = max(values, default=0) if code in MAXIMA else sum(values)
                assert own[code] == expected, (area.code, code)


def test_the_figures_count_the_records_and_agree_up_the_grid(city, outbreak):
    done = refresh()
    today = timezone.localdate()
    city_figures = figures_for(Division.objects.get(level="city"), today)
    assert city_figures["now_confirmed"] == city_figures["new_confirmed"] == city_figures["cum_confirmed"] == 1
    assert city_figures["now_suspected"] == 1 and city_figures["now_fever"] == 1
    assert city_figures["containments_open"] == 1
    assert city_figures["now_close_contact"] >= 1 and city_figures["contacts_unplaced"] >= 1
    assert city_figures["contacts_traced"] == city_figures["new_close_contact"] + city_figures["new_secondary_contact"]
    assert city_figures["tasks_open"] > 0
    overdue_by_level = sum(v for k, v in city_figures.items() if k.startswith("overdue_at_"))
    assert overdue_by_level <= city_figures["tasks_overdue"]  # tasks nobody holds yet have no level
    assert city_figures["residents"] == len(city.residents)
    community = figures_for(outbreak.community, today)
    assert community["now_confirmed"] == 1
    assert figures_for(Division.objects.get(code="420106001001"), today)["now_confirmed"] == 0
    _sums_agree(today)
    assert done.rows == Figure.objects.filter(day=today).count() > 0
    again = refresh()
    assert again.rows == done.rows  # a refresh replaces the day's rows; it never adds to them


def test_overdue_tasks_are_counted_at_the_level_holding_them(city, outbreak):
    from tasks.services import do_open_task

    city.staff("gw_sla", StaffRole.GRID_WORKER, outbreak.grid)
    past = timezone.now() - dt.timedelta(hours=1)
    late = [do_open_task("other", subject=outbreak, title=f"late {n}", due_at=past) for n in (1, 2)]
    do_open_task("other", subject=outbreak, title="in time", due_at=timezone.now() + dt.timedelta(hours=5))
    assert {t.assigned_level for t in late} == {"grid"}
    refresh()
    figures = figures_for(Division.objects.get(level="city"), timezone.localdate())
    assert figures["overdue_at_grid"] == 2 and figures["tasks_overdue"] >= 2


def test_a_past_day_recounts_its_flows_and_keeps_the_states_it_recorded(city, outbreak):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    jiangan = Division.objects.get(code="420102000000")
    Figure.objects.create(day=yesterday, level="district", division=jiangan, indicator="tasks_open", value=42)
    backfill(1)
    past = figures_for(jiangan, yesterday)
    assert past["tasks_open"] == 42  # a state is only known as of its own refresh
    assert past["new_confirmed"] == 0  # today's case is not yesterday's
    assert figures_for(jiangan, timezone.localdate())["new_confirmed"] == 1


def test_the_dashboard_is_scoped_and_reads_within_its_query_budget(city, outbreak):
    refresh()
    commander = city.staff("commander", StaffRole.CITY_COMMAND, Division.objects.get(level="city"))
    district = city.staff("jiangan", StaffRole.DISTRICT, Division.objects.get(code="420102000000"))
    grid = city.staff("gridder", StaffRole.GRID_WORKER, city.grid("420102", 1))
    client = staff_client(commander)
    assert client.get("/").status_code == 200
    client.get("/dashboard/")  # the first view fills the centroid cache
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/dashboard/")
    assert page.status_code == 200 and len(queries) <= PAGE_QUERY_BUDGET, [q["sql"] for q in queries]
    text = page.content.decode()
    assert "dash-map" in text and "dash-trend" in text and "江岸区" in text and "武昌区" in text
    feed = client.get("/dashboard/data.json").json()
    assert feed["figures"]["now_confirmed"] == 1 and len(feed["children"]) == 2
    assert all(child["lat"] for child in feed["children"])  # placed on the map
    # the district sees its own area, not the other district's, and drills down to its community
    mine = staff_client(district)
    own = mine.get("/dashboard/").content.decode()
    assert "江岸区" in own and "data-area" in own
    wuchang = Division.objects.get(code="420106000000")
    assert mine.get(f"/dashboard/?area={wuchang.pk}").status_code == 404
    assert mine.get(f"/dashboard/data.json?area={wuchang.pk}").status_code == 404
    community = Division.objects.get(code="420102001001")
    drilled = mine.get(f"/dashboard/data.json?area={community.pk}").json()
    assert drilled["area"]["level"] == "community" and drilled["compounds"]
    # a grid worker's home is their own lists; the dashboard covers communities and above
    gridder = staff_client(grid)
    assert "dash-map" not in gridder.get("/").content.decode()
    assert gridder.get("/dashboard/").status_code == 200
    assert gridder.get(f"/dashboard/?area={community.pk}").status_code == 404


def test_the_live_feed_changes_when_the_figures_are_refreshed(city, outbreak):
    first = refresh()
    commander = city.staff("commander", StaffRole.CITY_COMMAND, Division.objects.get(level="city"))
    client = staff_client(commander)
    before = client.get("/dashboard/data.json").json()
    assert before["refreshed_at"] == first.at.isoformat()
    people = sorted(city.residents.values(), key=lambda p: p.pk)
    do_identify(people[-1], "confirmed", None, "second case")  # its containment waits for the commit
    refresh()
    after = client.get("/dashboard/data.json").json()
    assert after["refreshed_at"] != before["refreshed_at"]
    assert after["figures"]["now_confirmed"] == before["figures"]["now_confirmed"] + 1


def test_the_refresh_job_and_command(city, outbreak, capsys):
    from django.core.management import call_command

    from core.jobs import enqueue

    job = enqueue("dashboard.refresh")
    assert job.status == "done" and job.result["rows"] > 0
    call_command("dashboard", "refresh", "--backfill", "2")
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[-1].startswith(timezone.localdate().isoformat())


def test_the_daily_report_agrees_with_the_dashboard(city, outbreak):
    """issue #10: the report downloaded from the page has the dashboard's numbers, table by table."""
    from openpyxl import load_workbook

    from dashboard.report import daily_report

    refresh()
    commander = city.staff("commander", StaffRole.CITY_COMMAND, Division.objects.get(level="city"))
    client = staff_client(commander)
    for area in Division.objects.filter(level__in=("city", "district", "street", "community")):
        feed = client.get(f"/dashboard/data.json?area={area.pk}").json()
        tables = daily_report(area, timezone.localdate()).as_dict()["tables"]
        shown = feed["figures"]
        assert len(tables["categories"]) == 6 and len(tables.get("by_area", {})) == (
            0 if area.level == "community" else Division.objects.filter(parent=area).count() + 1
        )
        for category, row in tables["categories"].items():
            assert row == {
                "new": shown[f"new_{category}"],
                "cumulative": shown[f"cum_{category}"],
                "now": shown[f"now_{category}"],
            }, (area.code, category)
        for key in ("contacts", "testing", "help", "beds", "tasks"):
            for code, value in tables[key].items():
                if code in INDICATORS:
                    assert value == shown[code], (area.code, key, code)
        by_code = {c["id"]: c["values"] for c in feed["children"]}
        children = {d.code: d.pk for d in Division.objects.filter(parent=area)}
        for code, row in tables.get("by_area", {}).items():
            values = shown if code == "total" else by_code[children[code]]
            for column, value in row.items():
                if column in INDICATORS:
                    assert value == values[column], (area.code, code, column)
    city_area = Division.objects.get(level="city")
    xlsx = client.get(f"/dashboard/report/?area={city_area.pk}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert 1 in [cell.value for row in sheet.iter_rows() for cell in row]  # the confirmed case, as a number
    pdf = client.get(f"/dashboard/report/?area={city_area.pk}&format=pdf")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
