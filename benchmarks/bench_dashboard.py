"""Benchmark: the command centre on a 1,000,000-resident city (issue #10).

    .venv/bin/python benchmarks/bench_dashboard.py [--residents 1000000] [--database sqlite|postgres]
        [--requests 100] [--json-out FILE]

Target (issue): the city-level dashboard's server time p50 ≤ 200 ms, and its SQL queries per page
(budgeted in dashboard/tests/test_dashboard.py).

1. A city is generated and imported through the real import path (bench_import: divisions …
   residents, social registry), then a few hundred cases are put into the four categories and a
   testing campaign's coverage is counted, so the figures are not all zero.
2. The figures are refreshed (timed: the five-minute job's cost at this size) and 30 days of flows
   are backfilled for the trends.
3. Pages, logged in as a city commander (force_login), timed with django.test.Client after a
   warm-up: the dashboard at city, district, street and community level, its live feed
   (data.json) and the daily report (XLSX). Per page: status, SQL queries and their time, p50/p95.
   Baseline, same run: an anonymous GET /login/, and each p50 as × that baseline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_import
from _common import DEFAULT_PG_ADMIN_URL, drop_database_url, print_table, setup_django, write_json
from bench_pages import measure

CASES = 40_000  # people put into the four categories (and their tasks) before the refresh


def seed_categories(n: int) -> None:
    """Spread ``n`` people over the categories through the real service (set-based, many at once)."""
    from django.utils import timezone

    from cases.choices import SourceKind
    from cases.services import do_identify_many
    from people.models import Resident

    ids = list(Resident.objects.order_by("?").values_list("pk", flat=True)[: n * 4])
    share = len(ids) // 4
    for i, category in enumerate(("confirmed", "suspected", "fever", "close_contact")):
        do_identify_many(
            ids[i * share : (i + 1) * share],
            category,
            at=timezone.now(),
            source_kind=SourceKind.SYSTEM,  # generated set-up, not a staff decision (which needs a basis)
            source_ref_prefix=f"bench-{category}-",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--page-seconds", type=float, default=15.0)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="linli-bench-dash-") as tmp:
        data = Path(tmp)
        bench_import.generate(args.residents, args.seed, data)
        url = bench_import.create_database(args.database, DEFAULT_PG_ADMIN_URL, "linli_bench_dashboard", None)
        setup_django(url)
        from django.db import connection

        try:
            started = time.perf_counter()
            bench_import.load_city(data, frozenset())
            load_seconds = time.perf_counter() - started
            result = run(args, load_seconds)
        finally:
            connection.close()
            drop_database_url(url)
    write_json(args.json_out, result)


def run(args, load_seconds: float) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from core.choices import StaffRole
    from core.roles import ensure_role_groups
    from dashboard.refresh import backfill, refresh
    from geo.models import Division
    from geo.services import do_assign

    started = time.perf_counter()
    seed_categories(CASES // 4)
    seed_seconds = time.perf_counter() - started
    started = time.perf_counter()
    done = refresh()
    refresh_seconds = time.perf_counter() - started
    started = time.perf_counter()
    backfill(30)
    backfill_seconds = time.perf_counter() - started

    ensure_role_groups()
    city = Division.objects.get(level="city")
    user = get_user_model().objects.create_user("bench_commander")
    do_assign(user, city, StaffRole.CITY_COMMAND)
    district = Division.objects.filter(level="district").order_by("code").first()
    street = Division.objects.filter(level="street", district=district).order_by("code").first()
    community = Division.objects.filter(level="community", street=street).order_by("code").first()
    pages = [
        ("dashboard: city", f"/dashboard/?area={city.pk}"),
        ("dashboard: district", f"/dashboard/?area={district.pk}"),
        ("dashboard: street", f"/dashboard/?area={street.pk}"),
        ("dashboard: community", f"/dashboard/?area={community.pk}"),
        ("live feed: city", f"/dashboard/data.json?area={city.pk}"),
        ("daily report xlsx: city", f"/dashboard/report/?area={city.pk}&format=xlsx"),
    ]
    base = measure(Client(), "/login/", args.requests, args.warmup, args.page_seconds)
    client = Client()
    client.force_login(user)
    rows = []
    for name, path in pages:
        m = measure(client, path, args.requests, args.warmup, args.page_seconds)
        m.update({"page": name, "path": path, "x_baseline": round(m["p50"] / base["p50"], 1)})
        rows.append(m)
    print(
        f"city of {args.residents:,} residents ({args.database}): load {load_seconds:.0f} s, "
        f"categories {seed_seconds:.1f} s, refresh {refresh_seconds:.2f} s ({done.rows:,} figures), "
        f"30-day backfill {backfill_seconds:.1f} s; baseline GET /login/ p50 {base['p50']:.2f} ms"
    )
    print_table(
        ["page", "status", "queries", "db ms", "p50 ms", "p95 ms", "× baseline", "n"],
        [(r["page"], r["status"], r["queries"], r["db_ms"], r["p50"], r["p95"], r["x_baseline"], r["n"]) for r in rows],
    )
    city_p50 = rows[0]["p50"]
    print(f"target: city dashboard p50 ≤ 200 ms: {'met' if city_p50 <= 200 else 'NOT met'} ({city_p50:.1f} ms)")
    return {
        "database": args.database,
        "residents": args.residents,
        "load_seconds": round(load_seconds, 1),
        "refresh_seconds": round(refresh_seconds, 3),
        "figures": done.rows,
        "backfill_seconds": round(backfill_seconds, 2),
        "baseline": base,
        "pages": rows,
    }


if __name__ == "__main__":
    main()
