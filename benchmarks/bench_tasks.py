"""Benchmark: the overdue sweep (tasks.escalation.sweep_overdue) over a million open tasks.

    .venv/bin/python benchmarks/bench_tasks.py [--tasks 1000000] [--overdue 0.3] [--residents 100000]
        [--database sqlite|postgres|both] [--pg-admin-url URL] [--pg-name NAME] [--keep] [--json-out FILE]

Per database, in a fresh database (an SQLite file in a temporary directory, or the PostgreSQL
database ``--pg-name``, dropped and created), after ``migrate``:

1. a city of ``--residents`` people from synth.city.generate_city, imported with
   core.imports.runner.run_import (divisions, compounds, buildings, residents);
2. one answerable staff member (包保) per division, set-based; one grid in ten has no grid worker,
   so its tasks start at the community and escalate to the street;
3. ``--tasks`` open (dispatched) follow-up tasks about those residents, loaded with one
   INSERT … SELECT from generate_series (PostgreSQL) or a recursive CTE (SQLite), ``--overdue`` of
   them an hour past their deadline, scattered over the table (every page holds some), then ANALYZE;
4. baseline, same run, same rows: ``UPDATE tasks_task SET escalation_level = escalation_level``
   over the overdue rows (rolled back; VACUUM afterwards on PostgreSQL); on PostgreSQL the baseline
   and the sweep each start right after a CHECKPOINT, so both pay the same full-page images;
5. the sweep, timed, with its statements; then a second sweep 5 minutes later, which must escalate
   nothing (the periodic job's cost when nothing is due).

Prints rows, seconds, the ratio sweep / baseline and the slowest statements. Target (issue #3
item 5): a sweep over 1,000,000 open tasks in ≤ 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DATABASES,
    DEFAULT_PG_ADMIN_URL,
    SqlProfiler,
    create_pg_database,
    database_version,
    drop_database_url,
    fmt_int,
    print_table,
    run_self,
    setup_django,
    sqlite_url,
    squash,
    write_json,
)

TARGET_SECONDS = 30.0
CITY_KINDS = ("divisions", "compounds", "buildings", "residents")


# --- data ------------------------------------------------------------------------------------------


def load_city(residents: int, seed: int) -> dict:
    """Generate the city, write its CSVs to a temporary folder and import them."""
    from core.imports.runner import run_import
    from synth.city import generate_city
    from synth.writer import write_city

    started = time.perf_counter()
    city = generate_city(residents, seed)
    with tempfile.TemporaryDirectory(prefix="linli-bench-tasks-city-") as folder:
        paths = write_city(city, folder)
        for kind in CITY_KINDS:
            batch = run_import(kind, paths[kind].read_bytes(), filename=paths[kind].name)
            if batch.status != "done":
                raise SystemExit(f"import of {kind} failed: {batch.error}")
    return {"seconds": round(time.perf_counter() - started, 2), "counts": city.counts()}


def add_staff() -> dict:
    """One answerable person per division (set-based); one grid in ten left without a grid worker."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from core.imports.sql import execute, fetch

    users = get_user_model()._meta.db_table
    now, today = timezone.now(), timezone.localdate()
    execute(
        f"INSERT INTO {users} (password, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined) "
        "SELECT '!', %s, 'bench_' || d.code, '', '', '', %s, %s, %s FROM geo_division d "
        "WHERE NOT (d.level = 'grid' AND d.id %% 10 = 0)",
        [False, False, True, now],
    )
    role = (
        "CASE d.level WHEN 'grid' THEN 'grid_worker' WHEN 'community' THEN 'community_worker' "
        "WHEN 'street' THEN 'street' WHEN 'district' THEN 'district' ELSE 'city_command' END"
    )
    execute(
        "INSERT INTO geo_assignment (created_at, updated_at, user_id, role, division_id, is_answerable, starts_on) "
        f"SELECT %s, %s, u.id, {role}, d.id, %s, %s "
        f"FROM geo_division d JOIN {users} u ON u.username = 'bench_' || d.code",
        [now, now, True, today - dt.timedelta(days=30)],
    )
    return dict(
        fetch(
            "SELECT d.level, COUNT(*) FROM geo_assignment a JOIN geo_division d ON d.id = a.division_id "
            "GROUP BY d.level"
        )
    )


def load_tasks(n: int, overdue: float) -> dict:
    """``n`` dispatched tasks about the residents (round robin), set-based; ``overdue`` of them late."""
    from django.utils import timezone

    from core.imports.sql import execute, fetch, is_postgres
    from tasks.bulk import db_time

    now = timezone.now()
    execute("DROP TABLE IF EXISTS bench_res")
    execute(
        "CREATE TEMPORARY TABLE bench_res AS SELECT ROW_NUMBER() OVER (ORDER BY id) - 1 AS k, id, district_id, "
        "street_id, community_id, grid_id, compound_id, building_id FROM people_resident"
    )
    execute("CREATE INDEX bench_res_k ON bench_res (k)")
    execute("DROP TABLE IF EXISTS bench_staff")
    execute(
        "CREATE TEMPORARY TABLE bench_staff AS SELECT division_id, MIN(user_id) AS user_id FROM geo_assignment "
        "WHERE division_id IS NOT NULL GROUP BY division_id"
    )
    execute("CREATE INDEX bench_staff_division ON bench_staff (division_id)")
    (residents,) = fetch("SELECT COUNT(*) FROM bench_res")[0]
    series = (
        "generate_series(0, %s) AS s(i)"
        if is_postgres()
        else "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < %s) SELECT i FROM s) s"
    )
    late_per_mille = round(overdue * 1000)
    started = time.perf_counter()
    rows = execute(
        "INSERT INTO tasks_task (created_at, updated_at, extra, task_type, title, detail, status, resident_id, "
        "district_id, street_id, community_id, grid_id, compound_id, building_id, assignee_id, assigned_level, "
        "escalation_level, opened_at, due_at, source, dedupe_key, evaluation, feedback) "
        "SELECT %s, %s, '{}', 'follow_up', 'bench follow-up', '', 'dispatched', r.id, "
        "r.district_id, r.street_id, r.community_id, r.grid_id, r.compound_id, r.building_id, "
        "COALESCE(g.user_id, c.user_id), CASE WHEN g.user_id IS NOT NULL THEN 'grid' ELSE 'community' END, "
        "0, %s, CASE WHEN (s.i * 389) %% 1000 < %s THEN %s ELSE %s END, 'bench', '', '', '' "
        f"FROM {series} JOIN bench_res r ON r.k = s.i %% %s "
        "LEFT JOIN bench_staff g ON g.division_id = r.grid_id "
        "LEFT JOIN bench_staff c ON c.division_id = r.community_id",
        [
            db_time(now),
            db_time(now),
            db_time(now - dt.timedelta(hours=13)),
            late_per_mille,
            db_time(now - dt.timedelta(hours=1)),
            db_time(now + dt.timedelta(hours=11)),
            n - 1,
            residents,
        ],
    )
    insert_seconds = time.perf_counter() - started
    execute("DROP TABLE IF EXISTS bench_res")
    execute("DROP TABLE IF EXISTS bench_staff")
    started = time.perf_counter()
    execute("ANALYZE tasks_task" if is_postgres() else "ANALYZE")
    return {
        "rows": rows,
        "insert_seconds": round(insert_seconds, 2),
        "analyze_seconds": round(time.perf_counter() - started, 2),
        "levels": dict(fetch("SELECT assigned_level, COUNT(*) FROM tasks_task GROUP BY assigned_level")),
    }


# --- measurements ----------------------------------------------------------------------------------


def baseline(now: dt.datetime) -> tuple[int, float]:
    """A plain UPDATE over the rows the sweep will escalate (same predicate), rolled back."""
    from django.db import connection, transaction

    from core.imports.sql import execute, is_postgres
    from core.policy import policy
    from tasks.bulk import db_time
    from tasks.escalation import overdue_where

    step = dt.timedelta(hours=float(policy(now).escalation_step_hours))
    checkpoint()
    started = time.perf_counter()
    with transaction.atomic():
        rows = execute(
            f"UPDATE tasks_task AS t SET escalation_level = escalation_level WHERE {overdue_where('t')}",
            [db_time(now), db_time(now - step)],
        )
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    if is_postgres():  # the rolled-back versions would otherwise burden the sweep
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE tasks_task")
    checkpoint()
    return rows, seconds


def checkpoint() -> None:
    """PostgreSQL: start the baseline and the sweep each right after a checkpoint, so both pay the
    same full-page images for the pages they touch first (the bulk load leaves a lot of WAL)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")


def sweep(now: dt.datetime) -> tuple[dict, float, SqlProfiler]:
    """The sweep, timed as a whole; its statements and its COMMIT timed one by one."""
    from django.db import connection

    from tasks.escalation import sweep_overdue

    profiler = SqlProfiler(label="sweep")
    original_commit = connection.commit

    def commit():  # PostgreSQL runs the still-deferred foreign-key checks here
        started = time.perf_counter()
        try:
            return original_commit()
        finally:
            profiler.add("sweep", time.perf_counter() - started, "[COMMIT]")

    connection.commit = commit
    started = time.perf_counter()
    try:
        with connection.execute_wrapper(profiler):
            result = sweep_overdue(now)
    finally:
        connection.commit = original_commit
    return result, time.perf_counter() - started, profiler


def checks(expected: int) -> dict:
    from core.imports.sql import fetch

    def one(sql: str) -> int:
        return fetch(sql)[0][0]

    return {
        "tasks_escalated_once": one("SELECT COUNT(*) FROM tasks_task WHERE escalation_level = 1"),
        "escalate_events": one("SELECT COUNT(*) FROM tasks_taskevent WHERE action = 'escalate'"),
        "notifications": one("SELECT COUNT(*) FROM tasks_notification WHERE kind = 'escalated'"),
        "change_log_rows": one("SELECT COUNT(*) FROM core_changelog WHERE model = 'tasks.task'"),
        "events_of_one_task": one(
            "SELECT COUNT(*) FROM tasks_taskevent WHERE task_id = (SELECT MIN(task_id) FROM tasks_taskevent)"
        ),
        "expected": expected,
    }


# --- one database ----------------------------------------------------------------------------------


def create_database(database: str, pg_admin_url: str, pg_name: str) -> str:
    if database == "postgres":
        return create_pg_database(pg_admin_url, pg_name)
    folder = Path(tempfile.mkdtemp(prefix="linli-bench-tasks-sqlite-"))
    return sqlite_url(folder / "linli_bench_tasks.sqlite3")


def run_one(args) -> dict:
    url = create_database(args.database, args.pg_admin_url, args.pg_name)
    setup_django(url)

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    result: dict = {"database": args.database, "url": url, "tasks": args.tasks, "overdue_fraction": args.overdue}
    try:
        call_command("migrate", verbosity=0)
        result["version"] = database_version()
        print(f"\n== overdue sweep on {result['version']} ({url})", flush=True)
        result["city"] = load_city(args.residents, args.seed)
        print(f"  city: {args.residents:,} residents imported in {result['city']['seconds']:.1f} s", flush=True)
        result["staff"] = add_staff()
        print(f"  staff: {result['staff']}", flush=True)
        result["load"] = load_tasks(args.tasks, args.overdue)
        load = result["load"]
        print(
            f"  tasks: {load['rows']:,} open tasks inserted in {load['insert_seconds']:.1f} s "
            f"(ANALYZE {load['analyze_seconds']:.1f} s); by level {load['levels']}",
            flush=True,
        )
        now = timezone.now()
        rows, base = baseline(now)
        result["baseline_rows"], result["baseline_seconds"] = rows, round(base, 3)
        print(
            f"  baseline: UPDATE … SET escalation_level = escalation_level, {rows:,} rows in {base:.2f} s", flush=True
        )
        outcome, seconds, profiler = sweep(now)
        result["sweep"] = outcome
        result["sweep_seconds"] = round(seconds, 3)
        result["ratio"] = round(seconds / base, 2) if base else None
        result["statements"] = [
            {"seconds": round(s.seconds, 3), "rowcount": s.rowcount, "sql": squash(s.sql, 300)}
            for s in profiler.statements
        ]
        print(
            f"  sweep: {outcome['escalated']:,} of {outcome['late']:,} late tasks escalated "
            f"({outcome['unassignable']:,} with nobody above) in {seconds:.2f} s; by level {outcome['by_level']}",
            flush=True,
        )
        again, seconds_again, _ = sweep(now + dt.timedelta(minutes=5))
        result["second_sweep"] = {"escalated": again["escalated"], "seconds": round(seconds_again, 3)}
        print(f"  second sweep 5 min later: {again['escalated']:,} escalated in {seconds_again:.2f} s", flush=True)
        result["checks"] = checks(outcome["escalated"])
        result["target_met"] = result["sweep_seconds"] <= TARGET_SECONDS
    finally:
        connection.close()
        if args.keep:
            result["kept_url"] = url
        else:
            drop_database_url(url, args.pg_admin_url)
    report(result)
    return result


def report(r: dict) -> None:
    print(f"\nsweep over {r['load']['rows']:,} open tasks, {r['version']}")
    print_table(
        ["step", "rows", "seconds"],
        [
            ["baseline UPDATE (same rows)", fmt_int(r["baseline_rows"]), f"{r['baseline_seconds']:.2f}"],
            ["sweep_overdue", fmt_int(r["sweep"]["escalated"]), f"{r['sweep_seconds']:.2f}"],
            ["second sweep (+5 min)", fmt_int(r["second_sweep"]["escalated"]), f"{r['second_sweep']['seconds']:.2f}"],
        ],
    )
    verdict = "met" if r["target_met"] else "MISSED"
    print(f"ratio sweep / baseline: {r['ratio']}×; target ≤ {TARGET_SECONDS:.0f} s: {verdict}")
    print(f"checks: {r['checks']}")
    print("statements of the sweep (seconds, rows):")
    for s in sorted(r["statements"], key=lambda s: -s["seconds"])[:12]:
        print(f"  {s['seconds']:>8.3f} {s['rowcount']:>9}  {s['sql'][:150]}")


# --- entry point -----------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", type=int, default=1_000_000)
    p.add_argument("--overdue", type=float, default=0.3, help="fraction of the tasks past their deadline")
    p.add_argument("--residents", type=int, default=100_000, help="size of the synthetic city")
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--database", choices=(*DATABASES, "both"), default="both")
    p.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    p.add_argument("--pg-name", default="linli_bench_tasks")
    p.add_argument("--keep", action="store_true", help="keep the database and print its URL")
    p.add_argument("--json-out", type=Path)
    args = p.parse_args()
    if args.database != "both":
        write_json(args.json_out, run_one(args))
        return
    child = ["--tasks", str(args.tasks), "--overdue", str(args.overdue), "--residents", str(args.residents)]
    child += ["--seed", str(args.seed), "--pg-admin-url", args.pg_admin_url, "--pg-name", args.pg_name]
    child += ["--keep"] * args.keep
    results = [run_self(Path(__file__), child, database) for database in DATABASES]
    print("\n\n==================== summary ====================")
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["database"], "", "", "", "", r["error"]])
            continue
        rows.append(
            [
                r["version"],
                fmt_int(r["load"]["rows"]),
                fmt_int(r["sweep"]["escalated"]),
                f"{r['sweep_seconds']:.2f}",
                f"{r['baseline_seconds']:.2f}",
                f"{r['ratio']}×",
            ]
        )
    print_table(["database", "open tasks", "escalated", "sweep s", "baseline s", "ratio"], rows)
    write_json(args.json_out, {"results": results})


if __name__ == "__main__":
    main()
