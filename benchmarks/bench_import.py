"""Benchmark: import a synthetic city through the real import path, into PostgreSQL and/or SQLite.

    .venv/bin/python benchmarks/bench_import.py [--residents 1000000] [--database sqlite|postgres|both]
        [--data DIR] [--keep] [--profile-sql] [--json-out FILE]

Generates a city (synth.city.generate_city + synth.writer.write_city, or takes the CSVs in --data),
creates a fresh database (an SQLite file in a temporary directory, or a PostgreSQL database
``--pg-name``), migrates it and imports divisions, compounds, buildings, venues, residents and
social_registry with ``core.imports.runner.run_import``. Prints per kind: rows, seconds, rows/s, the
batch summary and where the time went (read, validate, staging load, set-based SQL, drill-down count
refresh). Then re-imports residents, which must come back all unchanged.

Baseline for noisy machines, in the same run and the same database: read residents.csv with pyarrow
and write it to a plain table without indexes (COPY on PostgreSQL, executemany on SQLite), best of
``--baseline-repeats``. Reported as import_time / baseline_time.

Target (issue): ≥ 50,000 residents/s into PostgreSQL.

``--database both`` runs each database in a subprocess of this script (the database must be chosen
before django.setup()) on the same generated files and prints a comparison table. ``--keep`` keeps
the database and prints its URL for bench_pages.py (``--url``). ``--profile-sql`` lists the slowest
SQL statements per kind (every statement is timed through ``connection.execute_wrapper``; the staging
COPY, which bypasses Django's cursor, is timed around ``Staging.load``).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import time
from collections import defaultdict
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
    setup_django,
    sqlite_url,
    squash,
    write_json,
)

KINDS = ("divisions", "compounds", "buildings", "venues", "residents", "social_registry")
TARGET_ROWS_PER_SECOND = 50_000
PHASES = ("read", "validate", "stage", "load", "rollup", "rejects", "commit")


# --- data ------------------------------------------------------------------------------------------


def generate(residents: int, seed: int, out_dir: Path) -> dict:
    from synth.city import generate_city
    from synth.writer import write_city

    started = time.perf_counter()
    city = generate_city(residents, seed)
    write_city(city, out_dir)
    seconds = time.perf_counter() - started
    print(f"synth: {residents:,} residents (seed {seed}) generated and written in {seconds:.2f} s → {out_dir}")
    return {"seconds": round(seconds, 3), "counts": city.counts()}


def check_data(data_dir: Path) -> None:
    missing = [k for k in KINDS if not (data_dir / f"{k}.csv").exists()]
    if missing:
        raise SystemExit(f"{data_dir} lacks {', '.join(k + '.csv' for k in missing)}")


# --- instrumentation -------------------------------------------------------------------------------


class Instruments:
    """Phase timers around the runner's steps and a per-statement SQL profiler."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = defaultdict(float)
        self.profiler = SqlProfiler()

    def install(self) -> None:
        from core.imports import runner
        from core.imports.kinds import AFTER_IMPORT_HOOKS
        from core.imports.sql import Staging

        runner.read_table = self._phase("read", runner.read_table)
        runner.validate = self._phase("validate", runner.validate)
        runner._store_rejects = self._phase("rejects", runner._store_rejects)
        runner._load = self._phase("_load", runner._load)
        AFTER_IMPORT_HOOKS[:] = [self._phase("rollup", hook) for hook in AFTER_IMPORT_HOOKS]
        original_load = Staging.load
        instruments = self

        def load(staging, table):  # COPY goes around Django's cursor wrapper: time it as one statement
            instruments.profiler.paused += 1
            started = time.perf_counter()
            try:
                return original_load(staging, table)
            finally:
                elapsed = time.perf_counter() - started
                instruments.profiler.paused -= 1
                instruments.phases["stage"] += elapsed
                instruments.profiler.add(
                    instruments.profiler.label,
                    elapsed,
                    f"[Staging.load] {table.num_rows:,} rows into {staging.name} (COPY / executemany)",
                    table.num_rows,
                )

        Staging.load = load

        # the import's transaction commits outside every statement; on PostgreSQL the deferred
        # foreign-key checks of all inserted rows run then, so time it as a phase and a statement
        from django.db import connections

        conn = connections["default"]
        original_commit = conn.commit

        def commit():
            started = time.perf_counter()
            try:
                return original_commit()
            finally:
                elapsed = time.perf_counter() - started
                instruments.phases["commit"] += elapsed
                instruments.profiler.add(
                    instruments.profiler.label, elapsed, "[COMMIT] (runs deferred foreign-key checks on PostgreSQL)"
                )

        conn.commit = commit

    def _phase(self, name: str, fn):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.phases[name] += time.perf_counter() - started

        wrapper.__wrapped__ = fn
        return wrapper

    def start(self, label: str) -> None:
        self.phases.clear()
        self.profiler.label = label

    def split(self, total: float) -> dict[str, float]:
        """Seconds per phase of the last import; ``load`` is the set-based SQL without staging and rollup."""
        p = dict(self.phases)
        load = p.pop("_load", 0.0) - p.get("stage", 0.0) - p.get("rollup", 0.0)
        out = {name: p.get(name, 0.0) for name in PHASES}
        out["load"] = load
        out["other"] = total - sum(out.values())
        return {k: round(v, 3) for k, v in out.items()}


# --- one import ------------------------------------------------------------------------------------


def import_file(instruments: Instruments, kind: str, path: Path, label: str | None = None) -> dict:
    from core.imports.runner import run_import

    data = path.read_bytes()
    instruments.start(label or kind)
    started = time.perf_counter()
    batch = run_import(kind, data, filename=path.name)
    seconds = time.perf_counter() - started
    return {
        "kind": kind,
        "label": label or kind,
        "rows": batch.rows,
        "seconds": round(seconds, 3),
        "rows_per_second": round(batch.rows / seconds) if seconds else None,
        "inserted": batch.inserted,
        "updated": batch.updated,
        "unchanged": batch.unchanged,
        "rejected": batch.rejected,
        "linked": batch.linked,
        "status": batch.status,
        "phases": instruments.split(seconds),
        "megabytes": round(len(data) / 1e6, 1),
    }


def family(sql: str) -> str:
    """A statement's kind and table, to add up the time of statements of one sort (e.g. every CREATE INDEX)."""
    text = re.sub(r"\s+", " ", sql.replace('"', "")).strip()
    if text.startswith("["):
        return text.split("]", 1)[0] + "]"
    patterns = (
        (r"^CREATE (?:UNIQUE )?INDEX .*? ON (?:\w+\.)?(\w+)", "CREATE INDEX ON {}"),
        (r"^DROP INDEX", "DROP INDEX"),
        (r"^(UPDATE) (\w+)", "{} {}"),
        (r"^(INSERT INTO) (\w+)", "{} {}"),
        (r"^(DELETE FROM) (\w+)", "{} {}"),
        (r"^(CREATE TEMPORARY TABLE) (\w+)", "{} {}"),
        (r"^SELECT .*? FROM (\w+)", "SELECT FROM {}"),
    )
    for pattern, label in patterns:
        m = re.match(pattern, text)
        if m:
            return label.format(*m.groups())
    return " ".join(text.split()[:4])


def families(statements, label: str, top: int) -> list[dict]:
    totals: dict[str, list] = {}
    for s in statements:
        if s.label == label:
            entry = totals.setdefault(family(s.sql), [0, 0.0])
            entry[0] += 1
            entry[1] += s.seconds
    ranked = sorted(totals.items(), key=lambda kv: -kv[1][1])[:top]
    return [{"family": k, "count": n, "seconds": round(sec, 3)} for k, (n, sec) in ranked]


def summary_line(r: dict) -> str:
    rejected = sum(r["rejected"].values()) if r["rejected"] else 0
    text = (
        f"{r['status']}: {r['rows']:,} rows, {r['inserted']:,} inserted, {r['updated']:,} updated, "
        f"{r['unchanged']:,} unchanged, {rejected:,} rejected"
    )
    if r["rejected"]:
        text += " " + str(r["rejected"])
    if r["linked"]:
        text += f", linked {r['linked']}"
    return text


# --- baseline --------------------------------------------------------------------------------------


def baseline_seconds(path: Path, repeats: int) -> float:
    """Best time to read ``path`` with pyarrow and write it to an index-free table (COPY / executemany)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from django.db import connection, transaction

    pg = connection.vendor == "postgresql"
    best = float("inf")
    for _ in range(repeats):
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_baseline")
        started = time.perf_counter()
        with open(path, "rb") as handle:
            header = handle.readline().decode().strip().split(",")
        table = pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header})
        )
        q = connection.ops.quote_name
        columns = ", ".join(q(c) for c in header)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE bench_baseline ({', '.join(f'{q(c)} text' for c in header)})")
            if pg:
                buffer = io.BytesIO()
                pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
                with cursor.cursor.copy(f"COPY bench_baseline ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write(buffer.getvalue())
            else:
                rows = list(zip(*(table.column(i).to_pylist() for i in range(table.num_columns)), strict=True))
                marks = ", ".join(["%s"] * table.num_columns)
                cursor.executemany(f"INSERT INTO bench_baseline ({columns}) VALUES ({marks})", rows)
        best = min(best, time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_baseline")
    return best


# --- one database ----------------------------------------------------------------------------------


def table_counts() -> dict[str, int]:
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for table in (
            "geo_division",
            "geo_compound",
            "geo_building",
            "geo_household",
            "geo_venue",
            "people_resident",
            "people_keygroupmembership",
            "people_nodecount",
            "core_changelog",
        ):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            out[table] = cursor.fetchone()[0]
    return out


def database_megabytes(url: str) -> float | None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            return round(cursor.fetchone()[0] / 1e6, 1)
    path = Path(url.split("sqlite:///", 1)[1])
    return round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6, 1)


def create_database(database: str, pg_admin_url: str, pg_name: str, sqlite_dir: str | None) -> str:
    """A fresh, empty database of the given kind; returns its URL."""
    if database == "postgres":
        return create_pg_database(pg_admin_url, pg_name)
    folder = Path(sqlite_dir) if sqlite_dir else Path(tempfile.mkdtemp(prefix="linli-bench-sqlite-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = sqlite_url(folder / "linli_bench.sqlite3")
    drop_database_url(url)
    folder.mkdir(parents=True, exist_ok=True)
    return url


def load_city(data_dir: Path, skip: frozenset[str] = frozenset()) -> dict[str, float]:
    """Migrate and import every kind but ``skip`` (after django.setup()); seconds per kind."""
    from django.core.management import call_command

    from core.imports.runner import run_import

    call_command("migrate", verbosity=0)
    seconds = {}
    for kind in KINDS:
        if kind in skip:
            continue
        path = data_dir / f"{kind}.csv"
        started = time.perf_counter()
        run_import(kind, path.read_bytes(), filename=path.name)
        seconds[kind] = round(time.perf_counter() - started, 2)
    return seconds


def set_session(statements: list[str]) -> None:
    """Run these statements on every new connection: to try settings (PRAGMA cache_size, SET work_mem)."""
    from django.db.backends.signals import connection_created

    def on_connect(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    connection_created.connect(on_connect, weak=False)
    print(f"session settings: {'; '.join(statements)}")


def run_one(args, data_dir: Path, synth: dict | None) -> dict:
    url = create_database(args.database, args.pg_admin_url, args.pg_name, args.sqlite_dir)
    setup_django(url)
    if args.session_sql:
        set_session(args.session_sql)

    from django.core.management import call_command
    from django.db import connection

    result: dict = {"database": args.database, "url": url, "residents": args.residents, "synth": synth}
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        result["migrate_seconds"] = round(time.perf_counter() - started, 2)
        result["version"] = database_version()
        print(f"\n== import into {result['version']} ({url}); migrate {result['migrate_seconds']:.1f} s", flush=True)

        instruments = Instruments()
        instruments.install()
        imports = []
        with connection.execute_wrapper(instruments.profiler):
            for kind in args.kinds:
                r = import_file(instruments, kind, data_dir / f"{kind}.csv")
                imports.append(r)
                print(
                    f"  {kind:<16}{r['rows']:>10,} rows {r['seconds']:>8.2f} s {r['rows_per_second'] or 0:>10,} rows/s"
                    f"   {summary_line(r)}",
                    flush=True,
                )
            again = import_file(instruments, "residents", data_dir / "residents.csv", "residents (re-import)")
            imports.append(again)
            print(
                f"  {'re-import':<16}{again['rows']:>10,} rows {again['seconds']:>8.2f} s "
                f"{again['rows_per_second'] or 0:>10,} rows/s   {summary_line(again)}",
                flush=True,
            )
        first = next(r for r in imports if r["label"] == "residents")
        idempotent = (
            again["inserted"] == 0
            and again["updated"] == 0
            and again["unchanged"] == first["inserted"] + first["updated"] + first["unchanged"]
        )
        result["imports"] = imports
        result["reimport_all_unchanged"] = idempotent
        result["statements"] = [
            {"label": s.label, "seconds": round(s.seconds, 4), "rowcount": s.rowcount, "sql": squash(s.sql, 600)}
            for s in instruments.profiler.slowest(400)
        ]
        result["sql_seconds"] = {r["label"]: round(instruments.profiler.total(r["label"]), 3) for r in imports}
        result["families"] = {r["label"]: families(instruments.profiler.statements, r["label"], 10) for r in imports}
        result["statement_counts"] = {
            r["label"]: sum(1 for s in instruments.profiler.statements if s.label == r["label"]) for r in imports
        }

        base = baseline_seconds(data_dir / "residents.csv", args.baseline_repeats)
        result["baseline_seconds"] = round(base, 3)
        result["baseline_rows_per_second"] = round(first["rows"] / base)
        result["ratio_import"] = round(first["seconds"] / base, 2)
        result["ratio_reimport"] = round(again["seconds"] / base, 2)
        result["table_counts"] = table_counts()
        result["database_megabytes"] = database_megabytes(url)
    finally:
        connection.close()
        if args.keep:
            result["kept_url"] = url
        else:
            drop_database_url(url, args.pg_admin_url)
    report(result, args.profile_sql, args.top)
    return result


# --- output ----------------------------------------------------------------------------------------


def report(result: dict, profile_sql: bool, top: int) -> None:
    imports = result["imports"]
    print(f"\nimport: {result['residents']:,} residents into {result['version']}")
    rows = []
    for r in imports:
        p = r["phases"]
        rows.append(
            [
                r["label"],
                fmt_int(r["rows"]),
                f"{r['seconds']:.2f}",
                fmt_int(r["rows_per_second"]),
                *(f"{p[name]:.2f}" for name in (*PHASES, "other")),
                result["statement_counts"].get(r["label"], ""),
            ]
        )
    print_table(["kind", "rows", "seconds", "rows/s", *PHASES, "other", "stmts"], rows)
    print("\nsummaries:")
    for r in imports:
        print(f"  {r['label']:<22} {summary_line(r)}")
    first = next(r for r in imports if r["label"] == "residents")
    again = next(r for r in imports if r["label"] == "residents (re-import)")
    print(
        f"\nre-import of residents all unchanged: {'yes' if result['reimport_all_unchanged'] else 'NO'} "
        f"({again['unchanged']:,} unchanged, {again['inserted']:,} inserted, {again['updated']:,} updated)"
    )
    print(
        f"baseline (pyarrow read residents.csv + {'COPY' if 'PostgreSQL' in result['version'] else 'executemany'} "
        f"into an index-free table): {result['baseline_seconds']:.2f} s = {result['baseline_rows_per_second']:,} rows/s"
    )
    print(
        f"residents import {first['seconds']:.2f} s = {result['ratio_import']}× baseline; "
        f"re-import {again['seconds']:.2f} s = {result['ratio_reimport']}× baseline"
    )
    if "PostgreSQL" in result["version"]:
        ok = (first["rows_per_second"] or 0) >= TARGET_ROWS_PER_SECOND
        print(
            f"target ≥ {TARGET_ROWS_PER_SECOND:,} residents/s into PostgreSQL: "
            f"{first['rows_per_second']:,}/s → {'MET' if ok else 'MISSED'}"
        )
    print(
        "tables: " + ", ".join(f"{k} {v:,}" for k, v in result["table_counts"].items()) + f"; database "
        f"{result['database_megabytes']} MB"
    )
    statements = result["statements"]
    print(f"\nslowest SQL statements (all kinds, top {top}):")
    print_table(
        ["kind", "seconds", "rows", "statement"],
        [[s["label"], f"{s['seconds']:.3f}", s["rowcount"], squash(s["sql"], 150)] for s in statements[:top]],
        "lrrl",
    )
    print("\nSQL time by sort of statement (residents, first import):")
    print_table(
        ["statements", "count", "seconds"],
        [[f["family"], f["count"], f"{f['seconds']:.2f}"] for f in result["families"]["residents"]],
        "lrr",
    )
    if profile_sql:
        for r in imports:
            label = r["label"]
            mine = [s for s in statements if s["label"] == label][:top]
            print(
                f"\n  {label}: {result['statement_counts'][label]} statements, "
                f"{result['sql_seconds'][label]:.2f} s in SQL of {r['seconds']:.2f} s"
            )
            for s in mine:
                print(f"    {s['seconds']:8.3f} s {s['rowcount']:>9} rows  {squash(s['sql'], 400)}")
            print(
                "    by sort: "
                + "; ".join(f"{f['family']} ×{f['count']} {f['seconds']:.2f} s" for f in result["families"][label])
            )
    if result.get("kept_url"):
        print(f"\nkept database: {result['kept_url']}")
        print(f"  .venv/bin/python benchmarks/bench_pages.py --url {result['kept_url']}")


def compare(results: list[dict]) -> None:
    print("\n== comparison")
    ok = [r for r in results if "imports" in r]
    for r in results:
        if "error" in r:
            print(f"  {r['database']}: FAILED ({r['error']})")
    if not ok:
        return
    headers = ["kind", "rows"]
    for r in ok:
        headers += [f"{r['database']} s", f"{r['database']} rows/s"]
    labels = [i["label"] for i in ok[0]["imports"]]
    rows = []
    for label in labels:
        row = [label, fmt_int(next(i for i in ok[0]["imports"] if i["label"] == label)["rows"])]
        for r in ok:
            i = next((x for x in r["imports"] if x["label"] == label), None)
            row += [f"{i['seconds']:.2f}", fmt_int(i["rows_per_second"])] if i else ["skipped", ""]
        rows.append(row)
    row = ["baseline (residents)", fmt_int(next(i for i in ok[0]["imports"] if i["label"] == "residents")["rows"])]
    for r in ok:
        row += [f"{r['baseline_seconds']:.2f}", fmt_int(r["baseline_rows_per_second"])]
    rows.append(row)
    row = ["residents ÷ baseline", ""]
    for r in ok:
        row += [f"{r['ratio_import']}×", ""]
    rows.append(row)
    row = ["re-import ÷ baseline", ""]
    for r in ok:
        row += [f"{r['ratio_reimport']}×", ""]
    rows.append(row)
    print_table(headers, rows)
    for r in ok:
        if r["database"] == "postgres":
            rps = next(i for i in r["imports"] if i["label"] == "residents")["rows_per_second"]
            print(
                f"target ≥ {TARGET_ROWS_PER_SECOND:,} residents/s into PostgreSQL: {rps:,}/s → "
                f"{'MET' if rps >= TARGET_ROWS_PER_SECOND else 'MISSED'}"
            )
        print(f"{r['database']}: re-import all unchanged: {'yes' if r['reimport_all_unchanged'] else 'NO'}")


# --- main ------------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--residents", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--database", choices=(*DATABASES, "both"), default="both")
    p.add_argument("--data", type=Path, help="use the contract CSVs in DIR instead of generating a city")
    p.add_argument("--keep", action="store_true", help="keep the database and print its URL")
    p.add_argument("--profile-sql", action="store_true", help="list the slowest SQL statements of every kind")
    p.add_argument("--top", type=int, default=12, help="how many slow statements to list")
    p.add_argument("--baseline-repeats", type=int, default=2)
    p.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    p.add_argument("--pg-name", default="linli_bench", help="the PostgreSQL database to (re)create")
    p.add_argument("--sqlite-dir", help="where to put the SQLite file (default: a new temporary directory)")
    p.add_argument("--json-out", type=Path, help="also write the figures as JSON here")
    p.add_argument(
        "--session-sql",
        action="append",
        default=[],
        help="a statement to run on each new connection, e.g. 'PRAGMA cache_size=-262144' (repeatable; "
        "for trying settings, not part of the figures otherwise)",
    )
    p.add_argument(
        "--skip",
        default="",
        help="comma-separated kinds not to import (e.g. social_registry); residents cannot be skipped",
    )
    return p


def main() -> None:
    args = parser().parse_args()
    skipped = {k.strip() for k in args.skip.split(",") if k.strip()}
    if skipped - set(KINDS) or "residents" in skipped:
        raise SystemExit(f"--skip takes kinds other than residents from {', '.join(KINDS)}")
    args.kinds = [k for k in KINDS if k not in skipped]
    with tempfile.TemporaryDirectory(prefix="linli-bench-data-") as tmp:
        synth = None
        data_dir = args.data
        if data_dir is None:
            data_dir = Path(tmp)
            synth = generate(args.residents, args.seed, data_dir)
        check_data(data_dir)
        if args.database == "both":
            child = [
                "--residents",
                str(args.residents),
                "--data",
                str(data_dir),
                "--top",
                str(args.top),
                "--baseline-repeats",
                str(args.baseline_repeats),
                "--pg-admin-url",
                args.pg_admin_url,
                "--pg-name",
                args.pg_name,
            ]
            child += ["--keep"] * args.keep + ["--profile-sql"] * args.profile_sql + ["--skip", args.skip]
            for sql in args.session_sql:
                child += ["--session-sql", sql]
            from _common import run_self

            results = [run_self(Path(__file__), child, db) for db in DATABASES]
            for r in results:
                if synth:
                    r["synth"] = synth
            compare(results)
            write_json(args.json_out, {"runs": results, "synth": synth})
            if any("error" in r for r in results):
                sys.exit(1)
            return
        result = run_one(args, data_dir, synth)
        write_json(args.json_out, result)


if __name__ == "__main__":
    main()
