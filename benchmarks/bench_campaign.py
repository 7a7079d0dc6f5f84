"""Benchmark: a citywide testing day (issue #6), on PostgreSQL.

    .venv/bin/python benchmarks/bench_campaign.py [--residents 1700000] [--coverage-city 10000000]
        [--batches 10] [--seed 2020] [--skip-peak] [--skip-coverage] [--json-out FILE]

**Peak day.** A synthetic city of ``--residents`` is imported through the real import path; a
citywide campaign is planned; then Wuhan's peak day (22 May 2020: 1,470,950 tests) is ingested as
the labs and sites send it: the member lists (``pool_members``, about 1.5 M swabs in tubes of 10),
the tube results (``lab_results``) and the individual re-swabs of the positive tubes. Target: member
lists and results, linked to people, in ≤ 30 s end to end. The same run times PostgreSQL's bare
``COPY`` of the member file into an unindexed table, the floor any ingest pays, as the baseline.
The figures are checked against the generator's truth: every member of a positive tube held and
given a recall task, every infected person found.

**Coverage at ten million.** A city of ``--coverage-city`` residents (its places imported; the
residents themselves loaded by COPY as a fixture, since the import path is bench_import's subject)
gets a campaign; a day of swabs arrives in ``--batches`` batches. For each batch: the import, the
part of it that moves the coverage counts, and reading coverage by grid and by compound for the whole
city afterwards. Target: coverage refreshed after a batch in ≤ 5 s. Baseline in the same run: a full
recount of the campaign's counts from its participants.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEFAULT_PG_ADMIN_URL,
    SqlProfiler,
    create_pg_database,
    drop_pg_database,
    print_table,
    setup_django,
    write_json,
)

PEAK_TARGET_SECONDS = 30.0
COVERAGE_TARGET_SECONDS = 5.0
CITY_KINDS = ("divisions", "compounds", "buildings", "residents")
PLACE_KINDS = ("divisions", "compounds", "buildings")
DAY = dt.date(2020, 5, 22)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_700_000, help="city of the peak day (90 %% sampled)")
    parser.add_argument("--coverage-city", type=int, default=10_000_000, help="city of the coverage phase")
    parser.add_argument("--batches", type=int, default=10, help="batches of the coverage phase's day")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--skip-peak", action="store_true")
    parser.add_argument("--skip-coverage", action="store_true")
    parser.add_argument("--phase", choices=("peak", "coverage"), help=argparse.SUPPRESS)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    if args.phase:  # one phase per process: Django is set up once, against that phase's database
        write_json(args.json_out, run_phase(args))
        return
    figures = {}
    for phase, skip in (("peak", args.skip_peak), ("coverage", args.skip_coverage)):
        if not skip:
            figures[phase] = run_subprocess(args, phase)
    write_json(args.json_out, figures)


def run_subprocess(args, phase: str) -> dict:
    import json
    import subprocess

    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    command = [sys.executable, __file__, "--phase", phase, "--json-out", str(out)]
    command += ["--residents", str(args.residents), "--coverage-city", str(args.coverage_city)]
    command += ["--batches", str(args.batches), "--seed", str(args.seed)]
    subprocess.run(command, check=True)  # noqa: S603 - this interpreter, this script
    try:
        return json.loads(out.read_text() or "{}")
    finally:
        out.unlink(missing_ok=True)


def run_phase(args) -> dict:
    name = f"linli_bench_campaign_{args.phase}"
    url = create_pg_database(DEFAULT_PG_ADMIN_URL, name)
    try:
        setup_django(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
            if args.phase == "peak":
                return peak_day(args, Path(tmp))
            return coverage_at_scale(args, Path(tmp))
    finally:
        from django.db import connections

        connections.close_all()
        drop_pg_database(DEFAULT_PG_ADMIN_URL, name)


def clock():
    started = time.perf_counter()
    return lambda: round(time.perf_counter() - started, 2)


def import_file(kind: str, path: Path):
    from core.imports.runner import run_import

    batch = run_import(kind, path.read_bytes(), filename=path.name, max_bytes=0)
    if batch.status != "done":
        raise SystemExit(f"import of {kind} failed: {batch.error}")
    return batch


def plan(scope_code: str | None = None):
    from campaigns.services import do_plan
    from geo.models import Division

    scope = Division.objects.get(code=scope_code) if scope_code else Division.objects.get(level="city")
    return do_plan(code="peak", name="peak day", scope=scope, starts_on=DAY, ends_on=DAY, pool_size=10)


def bare_copy_seconds(path: Path) -> float:
    """The floor: COPY the member file into an unindexed temporary table."""
    from django.db import connection

    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    columns = ", ".join(f"{name} text" for name in header.decode().split(","))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE bare_copy ({columns})")
        started = time.perf_counter()
        with cursor.cursor.copy("COPY bare_copy FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(body)
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bare_copy")
    return seconds


def peak_day(args, folder: Path) -> dict:
    import pyarrow.csv as pacsv
    from django.db import connection

    from campaigns import coverage
    from campaigns.models import Participant, Tube
    from cases.models import PersonStatus
    from synth import campaign as synth_campaign
    from synth.city import generate_city
    from synth.writer import write_city
    from tasks.models import Task

    figures: dict = {"residents": args.residents, "cpus": os.cpu_count(), "steps": {}}
    steps = figures["steps"]
    elapsed = clock()
    city = generate_city(args.residents, args.seed)
    paths = write_city(city, folder / "city")
    for kind in CITY_KINDS:
        import_file(kind, paths[kind])
    steps["city_import"] = elapsed()
    elapsed = clock()
    files = synth_campaign.generate_campaign(city, seed=args.seed, day=DAY)
    campaign_paths = synth_campaign.write_campaign(files, folder / "campaign")
    steps["generate_campaign"] = elapsed()
    del city

    elapsed = clock()
    campaign = plan()
    steps["plan"] = elapsed()

    profiler = SqlProfiler()
    timings = {}
    with connection.execute_wrapper(profiler):
        for label, kind, name in (
            ("members", "pool_members", synth_campaign.POOL_MEMBERS),
            ("tube_results", "lab_results", synth_campaign.POOL_RESULTS),
            ("recall_results", "lab_results", synth_campaign.RECALL_RESULTS),
        ):
            profiler.label = label
            elapsed = clock()
            batch = import_file(kind, campaign_paths[name])
            timings[label] = {"seconds": elapsed(), "rows": batch.rows, "rejected": batch.rejected_total}
    steps |= timings
    ingest = round(sum(t["seconds"] for t in timings.values()), 2)
    steps["baseline_bare_copy_of_members"] = round(bare_copy_seconds(campaign_paths[synth_campaign.POOL_MEMBERS]), 2)

    truth = pacsv.read_csv(campaign_paths[synth_campaign.TRUTH]).to_pydict()
    positive_tubes = set(pacsv.read_csv(campaign_paths[synth_campaign.RECALL_RESULTS]).column("pool_id").to_pylist())
    should_be_recalled = {
        i for i, tube in zip(truth["id_number"], truth["pool_id"], strict=True) if tube in positive_tubes
    }
    infected = {i for i, flag in zip(truth["id_number"], truth["infected"], strict=True) if flag}
    recalled = set(Task.objects.filter(task_type="recall").values_list("resident__id_number", flat=True))
    found = set(PersonStatus.objects.filter(category="asymptomatic").values_list("person__id_number", flat=True))
    totals = coverage.total(campaign)
    figures["ingest_seconds"] = ingest
    figures["ratio_to_bare_copy"] = round(ingest / steps["baseline_bare_copy_of_members"], 1)
    figures["within_target"] = ingest <= PEAK_TARGET_SECONDS
    figures["check"] = {
        "swabs": timings["members"]["rows"],
        "tubes": Tube.objects.count(),
        "positive_tubes": len(positive_tubes),
        "recall_tasks_match_truth": recalled == should_be_recalled,
        "recall_tasks": len(recalled),
        "infected_found": len(found & infected),
        "infected": len(infected),
        "participants": Participant.objects.count(),
        "coverage": {"target": totals.target, "tested": totals.tested, "negative": totals.negative},
    }
    figures["slowest_statements"] = [
        {"label": s.label, "seconds": round(s.seconds, 2), "sql": s.sql[:160]} for s in profiler.slowest(12)
    ]
    report_peak(figures)
    return figures


def report_peak(figures: dict) -> None:
    steps = figures["steps"]
    print(f"\nPeak day on PostgreSQL, {figures['residents']:,} residents, {figures['cpus']} CPUs")
    rows = [[name, value if not isinstance(value, dict) else value["seconds"]] for name, value in steps.items()]
    print_table(["step", "seconds"], rows)
    print(
        f"ingest (members + tube results + re-swabs): {figures['ingest_seconds']} s "
        f"({'within' if figures['within_target'] else 'OVER'} the {PEAK_TARGET_SECONDS:.0f} s target); "
        f"{figures['ratio_to_bare_copy']}× a bare COPY of the member file"
    )
    print("check:", figures["check"])
    print("slowest statements:")
    for statement in figures["slowest_statements"]:
        print(f"  {statement['seconds']:>6.2f} s  [{statement['label']}] {statement['sql']}")


def copy_residents(city) -> int:
    """Fixture for the ten-million city: residents straight into the table by COPY (the import path
    is measured by bench_import), with their places resolved from the imported buildings."""
    import pyarrow.csv as pacsv
    from django.db import connection

    from core.imports.sql import execute

    execute("CREATE TEMPORARY TABLE bench_people (id_number text, name text, building_code text)")
    table = city.residents.select(["id_number", "name", "building_code"])
    step = 1_000_000
    with connection.cursor() as cursor:
        for start in range(0, table.num_rows, step):
            buffer = io.BytesIO()
            pacsv.write_csv(table.slice(start, step), buffer, pacsv.WriteOptions(include_header=False))
            with cursor.cursor.copy("COPY bench_people FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())
    now = "now()"
    count = execute(
        "INSERT INTO people_resident (id_number, name, name_pinyin, registered, sex, phone, residence_type, tags, "
        "extra, building_id, compound_id, grid_id, community_id, street_id, district_id, created_at, updated_at) "
        "SELECT p.id_number, p.name, '', true, '', '', '', '', '{}'::jsonb, b.id, b.compound_id, b.grid_id, "
        f"b.community_id, b.street_id, b.district_id, {now}, {now} FROM bench_people p "
        "JOIN geo_building b ON b.code = p.building_code"
    )
    execute("DROP TABLE bench_people")
    execute("ANALYZE people_resident")
    return count


def coverage_at_scale(args, folder: Path) -> dict:
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    from django.db import connection

    from campaigns import coverage, pooling, results
    from synth import campaign as synth_campaign
    from synth.city import generate_city
    from synth.writer import write_city

    figures: dict = {"residents": args.coverage_city, "cpus": os.cpu_count(), "steps": {}, "batches": []}
    steps = figures["steps"]
    elapsed = clock()
    city = generate_city(args.coverage_city, args.seed)
    steps["generate_city"] = elapsed()
    elapsed = clock()
    paths = write_city(city, folder / "city")
    for kind in PLACE_KINDS:
        import_file(kind, paths[kind])
    steps["import_places"] = elapsed()
    elapsed = clock()
    figures["residents_loaded"] = copy_residents(city)
    steps["copy_residents_fixture"] = elapsed()
    swabs = 1_500_000
    files = synth_campaign.generate_campaign(
        city, seed=args.seed, day=DAY, coverage=min(1.0, swabs / args.coverage_city)
    )
    members = files.tables[synth_campaign.POOL_MEMBERS]
    del city
    elapsed = clock()
    campaign = plan()
    steps["plan_count_targets"] = elapsed()
    from campaigns.models import Coverage

    figures["buildings"] = Coverage.objects.filter(campaign=campaign).count()

    moved: list[float] = []
    original = coverage.apply_moves

    def timed_apply_moves() -> int:
        started = time.perf_counter()
        try:
            return original()
        finally:
            moved.append(time.perf_counter() - started)

    pooling.apply_moves = results.apply_moves = timed_apply_moves
    tubes = pc.unique(members.column("pool_id"))
    per_batch = -(-len(tubes) // args.batches)
    for n in range(args.batches):
        chosen = tubes.slice(n * per_batch, per_batch)
        part = members.filter(pc.is_in(members.column("pool_id"), value_set=chosen))
        path = folder / f"members_{n}.csv"
        pacsv.write_csv(part, path)
        moved.clear()
        elapsed = clock()
        import_file("pool_members", path)
        batch_seconds = elapsed()
        elapsed = clock()
        by_grid = coverage.rollup(campaign, "grid")
        grid_seconds = elapsed()
        elapsed = clock()
        by_compound = coverage.rollup(campaign, "compound")
        compound_seconds = elapsed()
        figures["batches"].append(
            {
                "swabs": part.num_rows,
                "import_seconds": batch_seconds,
                "coverage_update_seconds": round(sum(moved), 3),
                "rollup_grid_seconds": grid_seconds,
                "rollup_compound_seconds": compound_seconds,
                "refresh_seconds": round(sum(moved) + grid_seconds + compound_seconds, 2),
                "grids": len(by_grid),
                "compounds": len(by_compound),
            }
        )
        print(figures["batches"][-1], flush=True)
    pooling.apply_moves = results.apply_moves = original
    elapsed = clock()
    coverage.recount(campaign)
    steps["baseline_full_recount"] = elapsed()
    worst = max(b["refresh_seconds"] for b in figures["batches"])
    figures["worst_refresh_seconds"] = worst
    figures["within_target"] = worst <= COVERAGE_TARGET_SECONDS
    figures["ratio_full_recount_to_worst_refresh"] = round(steps["baseline_full_recount"] / max(worst, 1e-6), 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        figures["database_size"] = cursor.fetchone()[0]
    report_coverage(figures)
    return figures


def report_coverage(figures: dict) -> None:
    print(
        f"\nCoverage on PostgreSQL, {figures['residents_loaded']:,} residents in {figures['buildings']:,} buildings, "
        f"{figures['cpus']} CPUs, database {figures['database_size']}"
    )
    print_table(["step", "seconds"], list(figures["steps"].items()))
    print_table(
        ["batch", "swabs", "import s", "counts moved s", "by grid s", "by compound s", "refresh s"],
        [
            [
                n + 1,
                b["swabs"],
                b["import_seconds"],
                b["coverage_update_seconds"],
                b["rollup_grid_seconds"],
                b["rollup_compound_seconds"],
                b["refresh_seconds"],
            ]
            for n, b in enumerate(figures["batches"])
        ],
    )
    print(
        f"worst refresh after a batch: {figures['worst_refresh_seconds']} s "
        f"({'within' if figures['within_target'] else 'OVER'} the {COVERAGE_TARGET_SECONDS:.0f} s target); "
        f"a full recount takes {figures['ratio_full_recount_to_worst_refresh']}× that"
    )


if __name__ == "__main__":
    main()
