"""Helpers shared by the benchmark scripts: database creation, Django set-up, SQL timing, tables.

Nothing here touches ``./var``: every run gets its own ``LINLI_HOME`` in a temporary directory and
its own database (an SQLite file in a temporary directory, or a PostgreSQL database created for it).
A database has to be chosen before ``django.setup()``, so a script that benchmarks both databases
runs itself once per database in a subprocess (``run_self``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG_ADMIN_URL = os.environ.get("LINLI_BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASES = ("postgres", "sqlite")


# --- databases ---------------------------------------------------------------------------------


def pg_url(admin_url: str, name: str) -> str:
    base, _, _old = admin_url.rpartition("/")
    return f"{base}/{name}"


def create_pg_database(admin_url: str, name: str) -> str:
    """Drop ``name`` if it exists, create it empty, and return its URL."""
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"refusing odd database name {name!r}")
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return pg_url(admin_url, name)


def drop_pg_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def drop_database_url(url: str, admin_url: str = DEFAULT_PG_ADMIN_URL) -> None:
    """Remove the database behind ``url`` (a PostgreSQL database, or an SQLite file and its WAL)."""
    if url.startswith("sqlite:"):
        path = Path(url.split("sqlite:///", 1)[1])
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the folder made for it, if now empty
            path.parent.rmdir()
        return
    drop_pg_database(admin_url, url.rsplit("/", 1)[1])


def setup_django(database_url: str) -> None:
    """Point the settings at ``database_url`` and a private LINLI_HOME, then ``django.setup()``."""
    home = tempfile.mkdtemp(prefix="linli-bench-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["LINLI_HOME"] = home
    os.environ["LINLI_DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "linli.settings"
    hosts = os.environ.get("LINLI_ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ["LINLI_ALLOWED_HOSTS"] = hosts + ",testserver"
    os.environ.setdefault("LINLI_MAX_UPLOAD_MB", "2000")  # a 1M-resident file is ~80 MB; bigger cities too
    import django

    django.setup()


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return "PostgreSQL " + cursor.fetchone()[0]
        cursor.execute("SELECT sqlite_version()")
        return "SQLite " + cursor.fetchone()[0]


# --- SQL timing ----------------------------------------------------------------------------------


def squash(sql: str, width: int = 240) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Statement:
    label: str
    seconds: float
    sql: str
    rowcount: int
    many: bool = False


@dataclass
class SqlProfiler:
    """A ``connection.execute_wrapper`` that times every statement Django's cursors run.

    ``label`` says what is running (e.g. the import kind); ``pause`` hides statements run inside a
    block that is timed as a whole (the staging COPY, which bypasses Django's cursor wrapper).
    """

    label: str = ""
    statements: list[Statement] = field(default_factory=list)
    paused: int = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if not self.paused:
                elapsed = time.perf_counter() - started
                try:
                    rowcount = context["cursor"].rowcount
                except Exception:  # a closed cursor has no rowcount
                    rowcount = -1
                self.statements.append(Statement(self.label, elapsed, sql, rowcount, many))

    def add(self, label: str, seconds: float, sql: str, rowcount: int = -1) -> None:
        self.statements.append(Statement(label, seconds, sql, rowcount))

    def total(self, label: str | None = None) -> float:
        return sum(s.seconds for s in self.statements if label is None or s.label == label)

    def slowest(self, n: int, label: str | None = None) -> list[Statement]:
        rows = [s for s in self.statements if label is None or s.label == label]
        return sorted(rows, key=lambda s: s.seconds, reverse=True)[:n]


# --- figures -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarise_ms(samples: Sequence[float]) -> dict:
    ms = [s * 1000 for s in samples]
    return {
        "n": len(ms),
        "p50": round(statistics.median(ms), 2),
        "p95": round(percentile(ms, 95), 2),
        "max": round(max(ms), 2),
        "mean": round(statistics.fmean(ms), 2),
    }


def print_table(headers: Sequence[str], rows: Sequence[Sequence], align: str | None = None) -> None:
    """A plain text table; ``align`` has one 'l' or 'r' per column (default: first left, rest right)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(row):
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align, strict=True))

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def fmt_int(n) -> str:
    return "" if n is None else f"{int(n):,}"


def fmt_s(s) -> str:
    return "" if s is None else f"{s:.2f}"


# --- running one database per process ------------------------------------------------------------


def run_self(script: Path, args: Sequence[str], database: str) -> dict:
    """Run ``script`` for one database in a subprocess; its output streams through; return its JSON."""
    with tempfile.NamedTemporaryFile(prefix="linli-bench-", suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        command = [sys.executable, str(script), *args, "--database", database, "--json-out", str(out)]
        print(f"\n$ {' '.join(command)}", flush=True)
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603 - this interpreter, our script
        if proc.returncode != 0:
            return {"database": database, "error": f"exit code {proc.returncode}"}
        result = json.loads(out.read_text() or "{}")
        result.setdefault("wall_seconds", round(time.perf_counter() - started, 2))
        return result
    finally:
        out.unlink(missing_ok=True)


def write_json(path: Path | None, data: dict) -> None:
    if path:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


# --- serving under load -------------------------------------------------------------------------


def start_wrk(url: str, lua: Path, env: dict, duration: int, connections: int, threads: int = 2) -> subprocess.Popen:
    """wrk with a Lua script, running; :func:`wrk_figures` reads what it printed."""
    return subprocess.Popen(  # noqa: S603 - wrk with our own arguments
        [
            "/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else shutil.which("wrk"),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "5s",
            "-s",
            str(lua),
            url,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | env,
    )


def wrk_figures(out: str) -> dict:
    """Rate, request and error counts and latency percentiles from wrk's report."""
    figures = {"requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    total = re.search(r"(\d+) requests in", out)
    figures["requests"] = int(total.group(1)) if total else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    figures["socket_errors"] = sum(int(g) for g in errors.groups()) if errors else 0
    for pct in ("50", "90", "99"):
        found = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", out)
        if found:
            value, unit = float(found.group(1)), found.group(2)
            figures[f"p{pct}_ms"] = round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)
    return figures


def wrk(url: str, lua: Path, env: dict, duration: int, connections: int, threads: int = 2) -> dict:
    """Run wrk to the end and return its figures."""
    process = start_wrk(url, lua, env, duration, connections, threads)
    out, _ = process.communicate()
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, process.args, out)
    return wrk_figures(out)


def production_environment() -> dict[str, str]:
    """What ``linli serve`` insists on (core.config): a secret, the hosts, Redis, collected static
    files (collected once into this run's LINLI_HOME)."""
    home = Path(os.environ["LINLI_HOME"])
    env = {
        "LINLI_SECRET_KEY": secrets.token_urlsafe(64),
        "LINLI_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LINLI_REDIS_URL": os.environ.get("LINLI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        "LINLI_COLLECTED_STATIC": "true",
    }
    if not (home / "static" / "staticfiles.json").exists():
        subprocess.run(  # noqa: S603 - our own command
            [str(ROOT / ".venv/bin/linli"), "collectstatic", "--noinput", "-v0"], env=os.environ | env, check=True
        )
    return env


def serve(port: int, workers: int, threads: int, env: dict) -> subprocess.Popen:
    """``linli serve`` in production mode on ``port``, once it answers. Its log (JSON lines, an
    access line per request) goes to a file, ``process.log_path``: a pipe nobody drains would stall
    the server once full."""
    log_path = Path(os.environ["LINLI_HOME"]) / f"serve-{port}-{time.time_ns()}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command
            [
                str(ROOT / ".venv/bin/linli"),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
            env=os.environ | production_environment() | env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process.log_path = log_path
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).read()
            return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the server did not start: " + log_path.read_text(errors="replace")[-2000:])


def server_errors(process: subprocess.Popen) -> str:
    """The tracebacks in a server's log, to say why requests failed rather than only count them."""
    text = process.log_path.read_text(errors="replace")
    return text[-4000:] if "Traceback" in text else ""


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def print_load_table(load: dict[str, dict]) -> None:
    """The wrk figures of each endpoint (benchmarks' load steps), one row each."""
    rows = [
        [
            name,
            f"{f['requests_per_second']:,.0f}",
            f.get("p50_ms"),
            f.get("p90_ms"),
            f.get("p99_ms"),
            f.get("non_2xx"),
            f.get("socket_errors"),
            f.get("rows_written", ""),
            f.get("lost", ""),
        ]
        for name, f in load.items()
    ]
    print_table(["endpoint", "req/s", "p50 ms", "p90 ms", "p99 ms", "non-2xx", "socket err", "rows", "lost"], rows)
