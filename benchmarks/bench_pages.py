"""Benchmark: page and API latency on a loaded city, for the whole city and for one grid worker.

    .venv/bin/python benchmarks/bench_pages.py --url DATABASE_URL [--requests 200]
    .venv/bin/python benchmarks/bench_pages.py --load [--residents 1000000] [--database sqlite|postgres|both]

``--url`` measures a database loaded by ``bench_import.py --keep`` (it prints the URL); ``--load``
generates and imports a city itself first (into a fresh database, dropped afterwards unless
``--keep``). With ``--database both`` each database runs in a subprocess of this script.

Users, logged in with ``force_login`` through ``django.test.Client``: (a) a superuser (the whole
city) and (b) a grid worker assigned to one grid with ``geo.services.do_assign`` (the grid with the
most residents, unless ``--pick median``). Pages: the drill-down (city, district, street, community,
grid, compound, building), person search (full identity number, phone, surname prefix 王, a full
name), the elderly_alone ledger, a resident profile, and the API (resident search, a division).

Per page: status, SQL queries per request (CaptureQueriesContext) and their summed time, then
p50/p95/max latency over ``--requests`` timed requests (fewer when a page would take longer than
``--page-seconds``), after ``--warmup`` untimed ones. ``--stats both`` (the default) measures twice:
with the planner statistics as the import left them (imports do not ANALYZE; a PostgreSQL server
with autovacuum off, or SQLite, never gets any) and again after ``ANALYZE``. Baseline for noisy
machines: ``GET /login/`` anonymously in the same run; every p50 is also shown as × that baseline.
Target (issue): p50 ≤ 100 ms for the drill-down pages and search on a 1,000,000-resident city.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DATABASES,
    DEFAULT_PG_ADMIN_URL,
    database_version,
    drop_database_url,
    print_table,
    run_self,
    setup_django,
    squash,
    summarise_ms,
    write_json,
)

TARGET_MS = 100.0
TARGET_GROUPS = ("drill-down", "search")


@dataclass
class Page:
    name: str
    group: str  # drill-down, search, ledger, profile, api
    path: str
    users: tuple[str, ...] = ("city", "grid")


# --- set-up ----------------------------------------------------------------------------------------


def database_stats() -> str:
    """Whether the planner has statistics for people_resident (imports do not ANALYZE)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables WHERE relname = 'people_resident'"
            )
            row = cursor.fetchone()
            if not row or not any(row):
                return "people_resident never analyzed"
            return f"people_resident analyzed (manual {row[0]}, auto {row[1]})"
        cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone()[0]:
            return "no sqlite_stat1 (never ANALYZEd)"
        cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'people_resident'")
        return f"sqlite_stat1 has {cursor.fetchone()[0]} rows for people_resident"


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()  # SQLite reads sqlite_stat1 when a connection opens


def pick_targets(how: str) -> dict:
    """The grid (largest or median by residents), its ancestors, its largest compound and building."""
    from django.db.models import Count

    from geo.models import Building, Compound, Division
    from people.models import NodeCount, Resident

    city = Division.objects.get(level="city")
    grids = list(NodeCount.objects.filter(level="grid").order_by("-residents", "node_id"))
    if not grids:
        raise SystemExit("the database has no drill-down counts: is a city loaded?")
    grid_count = grids[0] if how == "largest" else grids[len(grids) // 2]
    grid = Division.objects.get(pk=grid_count.node_id)
    compound_ids = list(Compound.objects.filter(grid=grid).values_list("pk", flat=True))
    compound_count = NodeCount.objects.filter(level="compound", node_id__in=compound_ids).order_by("-residents").first()
    compound = Compound.objects.get(pk=compound_count.node_id)
    building_ids = list(Building.objects.filter(compound=compound).values_list("pk", flat=True))
    building_count = NodeCount.objects.filter(level="building", node_id__in=building_ids).order_by("-residents").first()
    building = Building.objects.get(pk=building_count.node_id)
    resident = Resident.objects.filter(building=building).exclude(phone="").order_by("id").first()
    common_name = (
        Resident.objects.filter(grid=grid).values("name").annotate(n=Count("id")).order_by("-n", "name").first()["name"]
    )
    return {
        "city": city,
        "district": Division.objects.get(pk=grid.district_id),
        "street": Division.objects.get(pk=grid.street_id),
        "community": Division.objects.get(pk=grid.community_id),
        "grid": grid,
        "compound": compound,
        "building": building,
        "resident": resident,
        "full_name": common_name,
        "sizes": {
            "grid residents": grid_count.residents,
            "grids": len(grids),
            "compound residents": compound_count.residents,
            "building residents": building_count.residents,
            "city residents": NodeCount.objects.get(level="city").residents,
            f"residents named {common_name} (city)": Resident.objects.filter(name=common_name).count(),
            "residents surnamed 王 (city)": Resident.objects.filter(name__startswith="王").count(),
        },
    }


def make_users(grid) -> dict:
    from django.contrib.auth import get_user_model

    from core.roles import ensure_role_groups
    from geo.models import Assignment
    from geo.services import do_assign

    ensure_role_groups()
    User = get_user_model()
    admin = User.objects.filter(username="bench_admin").first() or User.objects.create_superuser("bench_admin")
    worker = User.objects.filter(username="bench_grid").first() or User.objects.create_user("bench_grid")
    Assignment.objects.filter(user=worker).delete()
    do_assign(worker, grid, "grid_worker")
    return {"city": admin, "grid": worker}


def pages_for(t: dict) -> list[Page]:
    from urllib.parse import quote

    r = t["resident"]
    return [
        Page("division: city", "drill-down", f"/geo/divisions/{t['city'].pk}/", ("city",)),
        Page("division: district", "drill-down", f"/geo/divisions/{t['district'].pk}/", ("city",)),
        Page("division: street", "drill-down", f"/geo/divisions/{t['street'].pk}/", ("city",)),
        Page("division: community", "drill-down", f"/geo/divisions/{t['community'].pk}/", ("city",)),
        Page("division: grid", "drill-down", f"/geo/divisions/{t['grid'].pk}/"),
        Page("compound", "drill-down", f"/geo/compounds/{t['compound'].pk}/"),
        Page("building", "drill-down", f"/geo/buildings/{t['building'].pk}/"),
        Page("search: id number", "search", f"/people/search/?q={r.id_number}"),
        Page("search: phone", "search", f"/people/search/?q={r.phone}"),
        Page("search: surname 王", "search", f"/people/search/?q={quote('王')}"),
        Page(f"search: name {t['full_name']}", "search", f"/people/search/?q={quote(t['full_name'])}"),
        Page("ledger: elderly_alone", "ledger", "/people/ledgers/elderly_alone/"),
        Page("resident profile", "profile", f"/people/residents/{r.pk}/"),
        Page("api: residents q=王", "api", f"/api/people/residents?q={quote('王')}"),
        Page("api: residents q=id", "api", f"/api/people/residents?q={r.id_number}"),
        Page("api: division city", "api", f"/api/geo/divisions/{t['city'].pk}", ("city",)),
        Page("api: division grid", "api", f"/api/geo/divisions/{t['grid'].pk}"),
    ]


# --- measuring -------------------------------------------------------------------------------------


def measure(client, path: str, requests: int, warmup: int, budget: float) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    status = None
    for _ in range(warmup):
        status = client.get(path).status_code
    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    queries = captured.captured_queries
    slowest = max(queries, key=lambda q: float(q["time"]), default=None)
    out = {
        "status": status,
        "queries": len(queries),
        "db_ms": round(sum(float(q["time"]) for q in queries) * 1000, 1),
        "slowest_query_ms": round(float(slowest["time"]) * 1000, 1) if slowest else None,
        "slowest_query": squash(slowest["sql"], 20000) if slowest else "",
    }
    samples = []
    deadline = time.perf_counter() + budget
    while len(samples) < requests and (len(samples) < 5 or time.perf_counter() < deadline):
        started = time.perf_counter()
        client.get(path)
        samples.append(time.perf_counter() - started)
    out.update(summarise_ms(samples))
    return out


def measure_all(args, t: dict, users: dict) -> dict:
    from django.test import Client

    anonymous = Client()
    base = measure(anonymous, "/login/", args.requests, args.warmup, args.page_seconds)
    print(f"  baseline GET /login/: p50 {base['p50']:.2f} ms, p95 {base['p95']:.2f} ms (n={base['n']})", flush=True)
    rows = []
    for who, user in users.items():
        client = Client()
        client.force_login(user)
        for page in pages_for(t):
            if who not in page.users:
                continue
            m = measure(client, page.path, args.requests, args.warmup, args.page_seconds)
            m.update({"user": who, "page": page.name, "group": page.group, "path": page.path})
            rows.append(m)
            print(
                f"  {who:<5} {page.name:<26} {m['status']} {m['queries']:>3} q {m['db_ms']:>8.1f} ms db  "
                f"p50 {m['p50']:>8.2f}  p95 {m['p95']:>8.2f}  max {m['max']:>8.2f} ms  n={m['n']}",
                flush=True,
            )
    return {"baseline": base, "pages": rows}


def run_pages(args, url: str) -> dict:
    result: dict = {"database": args.database, "url": url, "version": database_version(), "states": {}}
    t = pick_targets(args.pick)
    users = make_users(t["grid"])
    result["sizes"] = t["sizes"]
    result["targets"] = {
        k: f"#{t[k].pk} {t[k]}" for k in ("district", "street", "community", "grid", "compound", "building")
    }
    print(f"\n== pages on {result['version']} ({url})", flush=True)
    print("  " + ", ".join(f"{k}: {v:,}" for k, v in t["sizes"].items()))
    print("  " + ", ".join(f"{k} {v}" for k, v in result["targets"].items()))
    states = ("as-is", "analyzed") if args.stats == "both" else (args.stats,)
    for state in states:
        if state == "analyzed":
            started = time.perf_counter()
            analyze()
            result["analyze_seconds"] = round(time.perf_counter() - started, 2)
            print(f"\n  ANALYZE took {result['analyze_seconds']:.1f} s", flush=True)
        stats = database_stats()
        print(f"\n-- {state}: {stats}", flush=True)
        run = measure_all(args, t, users)
        run["stats"] = stats
        result["states"][state] = run
        report(result, state)
    return result


# --- output ----------------------------------------------------------------------------------------


def verdict(m: dict) -> str:
    if m["group"] not in TARGET_GROUPS:
        return "-"
    if m["status"] != 200:
        return f"HTTP {m['status']}"
    return "ok" if m["p50"] <= TARGET_MS else "MISS"


def short_sql(sql: str, width: int = 300) -> str:
    """The statement with its select list elided, so that FROM … WHERE … ORDER BY shows."""
    sql = re.sub(r"^SELECT (DISTINCT )?.+? FROM ", lambda m: f"SELECT {m.group(1) or ''}… FROM ", sql, count=1)
    sql = re.sub(r"UNNEST\(.*", "UNNEST(…)", sql)
    return squash(sql, width)


def report(result: dict, state: str) -> None:
    run = result["states"][state]
    base = run["baseline"]["p50"]
    print(
        f"\npages ({state}): {result['version']}, {result['sizes']['city residents']:,} residents; "
        f"baseline /login/ p50 {base:.2f} ms"
    )
    print_table(
        ["user", "page", "status", "queries", "db ms", "p50 ms", "p95 ms", "max ms", "n", "× base", "target"],
        [
            [
                m["user"],
                m["page"],
                m["status"],
                m["queries"],
                f"{m['db_ms']:.1f}",
                f"{m['p50']:.1f}",
                f"{m['p95']:.1f}",
                f"{m['max']:.1f}",
                m["n"],
                f"{m['p50'] / base:.0f}×" if base else "",
                verdict(m),
            ]
            for m in run["pages"]
        ],
        "llrrrrrrrrl",
    )
    missed = [m for m in run["pages"] if verdict(m) not in {"ok", "-"}]
    print(
        f"target p50 ≤ {TARGET_MS:.0f} ms for drill-down and search ({state}): "
        + ("MET" if not missed else "MISSED by " + ", ".join(f"{m['user']}/{m['page']}" for m in missed))
    )
    print(f"\nslowest SQL of each page ≥ 5 ms (one captured request, {state}):")
    for m in sorted(run["pages"], key=lambda m: -(m["slowest_query_ms"] or 0)):
        if (m["slowest_query_ms"] or 0) < 5:
            continue
        print(f"  {m['slowest_query_ms']:>8.1f} ms  {m['user']}/{m['page']}: {short_sql(m['slowest_query'])}")


def compare(results: list[dict]) -> None:
    print("\n== comparison: p50 ms per page (× that run's /login/ baseline), per database and statistics state")
    ok = [r for r in results if r.get("states")]
    for r in results:
        if "error" in r:
            print(f"  {r['database']}: FAILED ({r['error']})")
    if not ok:
        return
    columns = [(r, state) for r in ok for state in r["states"]]
    first = next(iter(ok[0]["states"].values()))
    keys = [(m["user"], m["page"]) for m in first["pages"]]
    headers = ["user", "page", "q"] + [f"{r['database']} {state}" for r, state in columns]
    rows = []
    for user, page in keys:
        row = [user, page, next(m["queries"] for m in first["pages"] if m["user"] == user and m["page"] == page)]
        for r, state in columns:
            run = r["states"][state]
            m = next((x for x in run["pages"] if x["user"] == user and x["page"] == page), None)
            if m is None:
                row.append("")
                continue
            v = verdict(m)
            mark = " MISS" if v == "MISS" else (" ok" if v == "ok" else "")
            row.append(f"{m['p50']:.1f} ({m['p50'] / run['baseline']['p50']:.0f}×){mark}")
        rows.append(row)
    rows.append(["anon", "baseline GET /login/", ""] + [f"{r['states'][s]['baseline']['p50']:.1f}" for r, s in columns])
    print_table(headers, rows, "llr" + "r" * len(columns))


# --- main ------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a database loaded by bench_import.py --keep")
    p.add_argument("--load", action="store_true", help="generate and import a city first (the default without --url)")
    p.add_argument("--residents", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--data", type=Path, help="with --load: the contract CSVs in DIR instead of a generated city")
    p.add_argument("--database", choices=(*DATABASES, "both"), default="both")
    p.add_argument("--requests", type=int, default=200, help="timed requests per page (at most)")
    p.add_argument("--page-seconds", type=float, default=10.0, help="stop timing a page after this long (≥ 5 requests)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--pick", choices=("largest", "median"), default="largest", help="which grid to open")
    p.add_argument(
        "--stats",
        choices=("as-is", "analyzed", "both"),
        default="both",
        help="measure as the import left the planner statistics, after ANALYZE, or both (default)",
    )
    p.add_argument("--keep", action="store_true", help="with --load: keep the database and print its URL")
    p.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    p.add_argument("--pg-name", default="linli_bench_pages")
    p.add_argument("--sqlite-dir")
    p.add_argument("--skip", default="", help="with --load: comma-separated kinds not to import")
    p.add_argument("--json-out", type=Path)
    return p


def main() -> None:
    args = parser().parse_args()
    if args.url:
        if args.database == "both":
            args.database = "sqlite" if args.url.startswith("sqlite:") else "postgres"
        setup_django(args.url)
        write_json(args.json_out, run_pages(args, args.url))
        return

    import bench_import

    with tempfile.TemporaryDirectory(prefix="linli-bench-data-") as tmp:
        data_dir = args.data
        if data_dir is None:
            data_dir = Path(tmp)
            bench_import.generate(args.residents, args.seed, data_dir)
        bench_import.check_data(data_dir)
        if args.database == "both":
            child = ["--load", "--data", str(data_dir), "--residents", str(args.residents)]
            child += ["--requests", str(args.requests), "--page-seconds", str(args.page_seconds)]
            child += ["--warmup", str(args.warmup), "--pick", args.pick, "--pg-admin-url", args.pg_admin_url]
            child += ["--pg-name", args.pg_name, "--stats", args.stats, "--skip", args.skip] + ["--keep"] * args.keep
            results = [run_self(Path(__file__), child, db) for db in DATABASES]
            compare(results)
            write_json(args.json_out, {"runs": results})
            if any("error" in r for r in results):
                sys.exit(1)
            return
        url = bench_import.create_database(args.database, args.pg_admin_url, args.pg_name, args.sqlite_dir)
        setup_django(url)
        from django.db import connection

        try:
            started = time.perf_counter()
            skip = frozenset(k.strip() for k in args.skip.split(",") if k.strip())
            seconds = bench_import.load_city(data_dir, skip)
            print(f"loaded the city into {url} in {time.perf_counter() - started:.1f} s: {seconds}", flush=True)
            result = run_pages(args, url)
            result["load_seconds"] = seconds
        finally:
            connection.close()
            if args.keep:
                print(f"kept database: {url}")
            else:
                drop_database_url(url, args.pg_admin_url)
        write_json(args.json_out, result)


if __name__ == "__main__":
    main()
