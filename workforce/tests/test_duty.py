"""Continuous days on duty and weekly hours (gaps and islands), per worker and by area, with the
workers over the policy's limits flagged; the overview, worker and training pages and their API,
scoped and permission-checked; phones masked."""

from __future__ import annotations

from django.test import Client

from core.choices import StaffRole
from tests_support.clients import staff_client, token_client
from workforce.stats import by_area, duty_of, streaks, week_hours
from workforce.tests.conftest import G1, G2, W1, duty_rows, import_rows, staff


def load_duty(staffing) -> None:
    y = staffing.yesterday
    rows = (
        duty_rows("JA-01", G1, y, 20)  # 20 days running: over 6
        + duty_rows("JA-02", G1, y, 20, hours=5, skip=(2, 9))  # runs of 2, 6 and 10; 30 h in 7 days
        + duty_rows("JA-03", G2, y, 10, skip=(0,))  # off yesterday: current run 0, longest 9
        + duty_rows("JA-04", G2, y, 3, hours=0)  # three recorded days off
        + duty_rows("WC-01", W1, y, 8)
    )
    assert not import_rows("duty_roster", rows).rejected


def test_streaks_are_gaps_and_islands(city, staffing):
    load_duty(staffing)
    w = staffing.workers
    runs = streaks([x.pk for x in w.values()], staffing.yesterday)
    assert runs.current == {w["JA-01"].pk: 20, w["JA-02"].pk: 2, w["WC-01"].pk: 8}
    assert runs.longest[w["JA-02"].pk] == 10 and runs.longest[w["JA-03"].pk] == 9
    assert w["JA-04"].pk not in runs.longest  # 0 hours is a day off
    hours = week_hours([x.pk for x in w.values()], staffing.yesterday)
    assert hours[w["JA-01"].pk] == 70 and hours[w["JA-02"].pk] == 30 and hours[w["JA-04"].pk] == 0
    flagged = {d.worker.code: (d.over_days, d.over_hours) for d in duty_of(list(w.values()), staffing.yesterday)}
    assert flagged == {
        "JA-01": (True, True),
        "JA-02": (False, False),
        "JA-03": (False, True),  # 60 h in the 6 days before its day off
        "JA-04": (False, False),
        "WC-01": (True, True),
    }


def test_figures_by_grid_and_street(city, staffing):
    from workforce.models import Worker

    load_duty(staffing)
    grids = by_area(Worker.objects.all(), "grid", staffing.yesterday)
    g1 = grids[city.divisions[G1].pk]
    assert (g1.workers, g1.over_days, g1.over_hours, g1.longest_streak) == (2, 1, 1, 20)
    assert g1.mean_week_hours == 50
    streets = by_area(Worker.objects.all(), "street", staffing.yesterday)
    assert streets[city.divisions["420102001000"].pk].workers == 4
    assert streets[city.divisions["420106001000"].pk].over_days == 1


def test_overview_and_worker_pages(city, staffing, street_user):
    load_duty(staffing)
    client = staff_client(street_user)
    home = client.get("/workforce/?level=grid")
    assert home.status_code == 200
    html = home.content.decode()
    assert "第1网格" in html and "wf-over" in html
    listing = client.get("/workforce/workers/")
    assert [d.worker.code for d in listing.context["page"]] == ["JA-01", "JA-02", "JA-03", "JA-04"]  # not 武昌's
    assert "138****0001" in listing.content.decode() and "13800000001" not in listing.content.decode()
    over = client.get("/workforce/workers/?over=1")
    assert [d.worker.code for d in over.context["page"]] == ["JA-01", "JA-03"]
    by_grid = client.get(f"/workforce/workers/?area={city.divisions[G2].pk}")
    assert [d.worker.code for d in by_grid.context["page"]] == ["JA-03", "JA-04"]
    one = client.get(f"/workforce/workers/{staffing.workers['JA-01'].pk}/")
    assert one.status_code == 200 and "over the consecutive-day limit" in one.content.decode()
    leave = client.post(
        f"/workforce/workers/{staffing.workers['JA-01'].pk}/", {"starts_on": "2020-05-01", "ends_on": "2020-04-01"}
    )
    assert leave.status_code == 400
    ok = client.post(
        f"/workforce/workers/{staffing.workers['JA-01'].pk}/", {"starts_on": "2020-05-01", "ends_on": "2020-05-03"}
    )
    assert ok.status_code == 302
    assert client.get("/workforce/training/").status_code == 200


def test_page_permission_matrix(city, staffing, street_user):
    wuchang = staffing.workers["WC-01"].pk
    urls = [
        "/workforce/workers/",
        f"/workforce/workers/{staffing.workers['JA-01'].pk}/",
        "/workforce/training/",
        "/workforce/plans/",
    ]
    for url in urls:
        assert Client().get(url).status_code == 302, url
    counsellor = staff(city, "c", StaffRole.COUNSELLOR, city.divisions["420102001000"])
    for url in urls:
        assert staff_client(counsellor).get(url).status_code == 403, url
        assert staff_client(street_user).get(url).status_code == 200, url
    assert staff_client(counsellor).get("/workforce/").status_code == 200  # the way to support is open to all
    assert staff_client(street_user).get(f"/workforce/workers/{wuchang}/").status_code == 404
    assert staff_client(street_user).get(f"/workforce/workers/?area={city.divisions[W1].pk}").status_code == 404
    reader = staff(city, "gw", StaffRole.GRID_WORKER, city.divisions[G1])
    assert staff_client(reader).post(f"/workforce/workers/{staffing.workers['JA-01'].pk}/", {}).status_code == 403


def test_the_api_lists_scoped_workers_figures_and_rates(city, staffing, street_user):
    load_duty(staffing)
    import_rows(
        "training_completions",
        [
            {"worker_code": "JA-01", "course_code": "CW2020-01", "completed_on": "2020-03-01"},
            {"worker_code": "JA-03", "course_code": "CW2020-01", "completed_on": "2020-03-01"},
        ],
    )
    client = token_client(street_user)
    body = client.get("/api/workforce/workers").json()
    assert body["count"] == 4 and body["results"][0]["phone"] == "138****0001"
    assert body["results"][0]["streak"] == 20 and body["results"][0]["over_days"] is True
    assert [w["code"] for w in client.get("/api/workforce/workers?over=true").json()["results"]] == ["JA-01", "JA-03"]
    assert client.get(f"/api/workforce/workers/{staffing.workers['WC-01'].pk}").status_code == 404
    assert client.get(f"/api/workforce/workers/{staffing.workers['JA-02'].pk}").json()["longest"] == 10
    areas = client.get("/api/workforce/duty/by-area?level=grid").json()
    assert {a["code"]: a["over_days"] for a in areas} == {G1: 1, G2: 0}
    assert client.get("/api/workforce/duty/by-area?level=planet").status_code == 400
    rates = client.get("/api/workforce/training/rates?level=street").json()
    assert rates == [
        {
            "area_id": city.divisions["420102001000"].pk,
            "name": city.divisions["420102001000"].name,
            "workers": 4,
            "completed": {f"CW2020-0{n}": (2 if n == 1 else 0) for n in range(1, 7)},
            "rates": {f"CW2020-0{n}": (0.5 if n == 1 else 0.0) for n in range(1, 7)},
        }
    ]
    assert Client().get("/api/workforce/workers").status_code == 401
    counsellor = staff(city, "c", StaffRole.COUNSELLOR, city.divisions["420102001000"])
    for url in (
        "/api/workforce/workers",
        "/api/workforce/duty/by-area",
        "/api/workforce/training/rates",
        "/api/workforce/plans",
    ):
        assert token_client(counsellor).get(url).status_code == 403, url


def test_list_query_budgets_do_not_grow_with_rows(city, staffing, street_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workforce.services import do_propose_plan

    load_duty(staffing)
    do_propose_plan(city.divisions["420102001000"], staffing.yesterday, 3)
    api, web = token_client(street_user), staff_client(street_user)
    pages = ("/api/workforce/workers", "/api/workforce/plans", "/api/workforce/duty/by-area", "/workforce/workers/")

    def client_for(url: str):
        return api if url.startswith("/api/") else web

    for url in pages:
        client_for(url).get(url)  # warm caches
    counts = {}
    for url in pages:
        with CaptureQueriesContext(connection) as few:
            assert client_for(url).get(url).status_code == 200
        counts[url] = len(few)
    more = [
        {"worker_code": f"JA-9{i}", "name": f"新人{i}", "kind": "volunteer", "grid_code": G2, "phone": ""}
        for i in range(6)
    ]
    import_rows("workers", more)
    import_rows("duty_roster", [r for m in more for r in duty_rows(m["worker_code"], G2, staffing.yesterday, 5)])
    do_propose_plan(city.divisions["420102001001"], staffing.yesterday, 3)
    for url in pages:
        with CaptureQueriesContext(connection) as same:
            assert client_for(url).get(url).status_code == 200
        assert len(same) == counts[url] <= 16, (url, len(same), counts[url])
