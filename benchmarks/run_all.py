"""Run every benchmark at one size and print all figures, then a summary.

    .venv/bin/python benchmarks/run_all.py [--residents 1000000] [--database both|postgres|sqlite]
        [--requests 200] [--page-seconds 10] [--profile-sql] [--stats both|as-is|analyzed]

1. bench_synth.py: generate the city and write its CSVs (kept for the next steps).
2. bench_import.py per database on those CSVs (fresh database, all kinds, re-import, baseline),
   keeping the database;
3. bench_pages.py per database on the database the import left (superuser and grid worker), as the
   import left the planner statistics and again after ANALYZE; then the database is dropped.

Each step is a subprocess (a database must be chosen before django.setup()); their output streams
through. Nothing touches ./var: the steps use temporary LINLI_HOMEs and their own databases.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_import  # noqa: E402
import bench_pages  # noqa: E402
from _common import DATABASES, DEFAULT_PG_ADMIN_URL, ROOT, drop_database_url, run_self, write_json  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--residents", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--database", choices=(*DATABASES, "both"), default="both")
    p.add_argument("--requests", type=int, default=200, help="timed requests per page (at most)")
    p.add_argument("--page-seconds", type=float, default=10.0, help="time budget per page")
    p.add_argument("--profile-sql", action="store_true", help="list the slowest SQL of every import kind")
    p.add_argument(
        "--stats",
        choices=("as-is", "analyzed", "both"),
        default="both",
        help="pages: as the import left the planner statistics, after ANALYZE, or both",
    )
    p.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    p.add_argument("--pg-name", default="linli_bench_all")
    p.add_argument("--json-out", type=Path, help="also write every figure as JSON here")
    p.add_argument(
        "--sqlite-skip",
        help="kinds not to import into SQLite (default: social_registry above 200,000 residents, whose in-file "
        "duplicate check is quadratic there and takes ~15 min at 1,000,000; pass '' to import it anyway)",
    )
    args = p.parse_args()
    databases = DATABASES if args.database == "both" else (args.database,)
    if args.sqlite_skip is None:
        args.sqlite_skip = "social_registry" if args.residents > 200_000 else ""
    if args.sqlite_skip and "sqlite" in databases:
        print(f"NOTE: SQLite skips {args.sqlite_skip} (--sqlite-skip '' imports it; see --help)", flush=True)
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="linli-bench-all-") as tmp:
        data = Path(tmp) / "city"
        command = [sys.executable, str(HERE / "bench_synth.py"), "--residents", str(args.residents)]
        command += ["--seed", str(args.seed), "--out", str(data)]
        print(f"$ {' '.join(command)}", flush=True)
        subprocess.run(command, cwd=ROOT, check=True)  # noqa: S603 - this interpreter, our script

        imports, pages = [], []
        for database in databases:
            child = ["--residents", str(args.residents), "--data", str(data), "--keep"]
            child += ["--pg-admin-url", args.pg_admin_url, "--pg-name", args.pg_name]
            child += ["--sqlite-dir", str(Path(tmp) / "sqlite")] + ["--profile-sql"] * args.profile_sql
            if database == "sqlite" and args.sqlite_skip:
                child += ["--skip", args.sqlite_skip]
            result = run_self(HERE / "bench_import.py", child, database)
            imports.append(result)
            url = result.get("kept_url")
            if not url:
                pages.append({"database": database, "error": "no database to measure (the import failed)"})
                continue
            try:
                child = ["--url", url, "--requests", str(args.requests), "--page-seconds", str(args.page_seconds)]
                pages.append(run_self(HERE / "bench_pages.py", [*child, "--stats", args.stats], database))
            finally:
                drop_database_url(url, args.pg_admin_url)

    print("\n\n==================== summary ====================")
    synth = next((r.get("synth") for r in imports if r.get("synth")), None)
    if synth:
        print(f"synth: {synth['seconds']:.2f} s")
    bench_import.compare(imports)
    bench_pages.compare(pages)
    print(f"\nrun_all: {time.perf_counter() - started:.0f} s in all")
    write_json(args.json_out, {"imports": imports, "pages": pages})
    if any("error" in r for r in imports + pages):
        sys.exit(1)


if __name__ == "__main__":
    main()
