"""Benchmark: the mixed peak workload against ``linli serve`` on PostgreSQL (issue #11, "Load").

    .venv/bin/python benchmarks/bench_load.py [--duration 600] [--residents 50000] [--workers 2]
        [--threads 16] [--verify-connections 6] [--checks-connections 4] [--help-connections 2]
        [--pages-connections 4] [--verify-rate 600] [--checks-rate 150] [--help-rate 10] [--pages-rate 30]
        [--baseline-seconds 15] [--sample-seconds 10] [--pg-admin-url URL]
        [--json-out FILE]

One run, on a PostgreSQL database created for it and Redis (the production configuration that
``linli serve`` checks): a synthetic city is imported, every resident gets a health code, and
four kinds of traffic hit the server at once for ``--duration`` seconds, each from its own wrk:

- **verify**: gate devices verifying health codes (``POST /api/healthcode/verify``, fast path);
- **checks**: gate records, one new check per request (``POST /api/gates/checks``, group commit);
- **help**: help requests taken by staff (``POST /api/help/requests``, Django, routed to a grid
  worker with a task and its deadline);
- **pages**: a community worker's list pages (task inbox, help requests, key-group ledgers, the
  community's page), signed in with a session cookie.

In the mixed run each kind is offered a set rate (``--KIND-rate``: each connection pauses between
requests, wrk's ``delay`` hook), the peak being measured, rather than as many requests as the
server can take, which would measure only its queue. Before it, each kind runs alone and unpaced
for ``--baseline-seconds`` on the same server: its capacity alone, the same-run baseline. During
the mixed run the server's memory (RSS of granian and its workers) is sampled; growth is the last
minute's mean over the first's.
Afterwards every accepted write is looked for in the database (``lost``: answered 2xx, no row).
Target (issue): p99 ≤ 200 ms and no error for the whole run. wrk shares the two cores with the
server and PostgreSQL, so rates are lower bounds for a server on its own machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEFAULT_PG_ADMIN_URL,
    create_pg_database,
    drop_pg_database,
    print_load_table,
    print_table,
    serve,
    server_errors,
    setup_django,
    start_wrk,
    stop,
    write_json,
    wrk_figures,
)
from bench_healthcode import CHECKS_LUA, VERIFY_LUA

CITY_KINDS = ("divisions", "compounds", "buildings", "residents")

HELP_LUA = """
local counter = 0
local run = tonumber(os.getenv("BENCH_RUN"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
request = function()
  counter = counter + 1
  -- a new phone each time (requests are limited per phone), 13 + run digit + 8 digits
  local phone = string.format("13%d%08d", run, counter)
  local body = '{"category":"medicine","text":"load test: blood-pressure tablets","phone":"' .. phone
    .. '","contact_name":"load","address":"1-2-301"}'
  return wrk.format(nil, "/api/help/requests", nil, body)
end
"""

PAGES_LUA = """
local paths = {}
for path in string.gmatch(os.getenv("BENCH_PATHS"), "[^ ]+") do paths[#paths + 1] = path end
local i = 0
wrk.headers["Cookie"] = "sessionid=" .. os.getenv("BENCH_SESSION")
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""

# Each connection waits BENCH_DELAY_MS between requests (wrk's delay hook), so a kind is offered a
# set rate instead of as many requests as the server can take: latency at a peak, not at collapse.
PACING_LUA = """
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end
"""

SCRIPTS = {"verify": VERIFY_LUA, "checks": CHECKS_LUA, "help": HELP_LUA, "pages": PAGES_LUA}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=600)
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--verify-connections", type=int, default=6)
    parser.add_argument("--checks-connections", type=int, default=4)
    parser.add_argument("--help-connections", type=int, default=2)
    parser.add_argument("--pages-connections", type=int, default=4)
    parser.add_argument("--verify-rate", type=float, default=600, help="offered requests/s (0: as fast as possible)")
    parser.add_argument("--checks-rate", type=float, default=150)
    parser.add_argument("--help-rate", type=float, default=10)
    parser.add_argument("--pages-rate", type=float, default=30)
    parser.add_argument("--baseline-seconds", type=int, default=15)
    parser.add_argument("--sample-seconds", type=int, default=10)
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    name = f"linli_bench_load_{os.getpid()}"
    url = create_pg_database(args.pg_admin_url, name)
    try:
        with tempfile.TemporaryDirectory(prefix="linli-bench-load-") as folder:
            figures = run(args, url, Path(folder))
        write_json(args.json_out, figures)
    finally:
        drop_pg_database(args.pg_admin_url, name)


def run(args, url: str, folder: Path) -> dict:
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    env = prepare(args, folder)
    port = 8791
    server = serve(port, args.workers, args.threads, {})
    base = f"http://127.0.0.1:{port}"
    figures: dict = {"residents": args.residents, "cpus": os.cpu_count(), "duration": args.duration}
    try:
        counts = written_counts()
        baseline = {}
        for run_no, kind in enumerate(SCRIPTS, start=1):
            process = start_wrk(
                base,
                folder / f"{kind}.lua",
                env | {"BENCH_RUN": str(run_no)},
                args.baseline_seconds,
                connections(args, kind),
                threads=1,
            )
            baseline[kind] = wrk_figures(process.communicate()[0])
        figures["baseline_alone"] = baseline

        memory: list[tuple[float, int]] = []
        done = threading.Event()
        sampler = threading.Thread(target=sample_memory, args=(server.pid, args.sample_seconds, memory, done))
        sampler.start()
        started = time.monotonic()
        before = written_counts()
        processes = {
            kind: start_wrk(
                base,
                folder / f"{kind}.lua",
                env | {"BENCH_RUN": "9", "BENCH_DELAY_MS": pause(args, kind)},
                args.duration,
                connections(args, kind),
                threads=1,
            )
            for kind in SCRIPTS
        }
        mixed = {kind: wrk_figures(process.communicate()[0]) for kind, process in processes.items()}
        done.set()
        sampler.join()
        time.sleep(2)  # the last group commit and write-behind flush
        after = written_counts()
        for kind, table in (("checks", "checks"), ("help", "help")):
            accepted = mixed[kind]["requests"] - mixed[kind]["non_2xx"]
            mixed[kind]["rows_written"] = after[table] - before[table]
            mixed[kind]["lost"] = max(0, accepted - mixed[kind]["rows_written"])
        figures["mixed"] = mixed
        figures["mixed_wall_seconds"] = round(time.monotonic() - started, 1)
        figures["memory"] = memory_summary(memory)
        figures["rows_before_run"] = counts
    finally:
        stop(server)
        if errors := server_errors(server):
            print(f"--- server errors ---\n{errors}", file=sys.stderr)
    figures["server_time_by_route"] = route_times(server.log_path)
    report(figures)
    return figures


def connections(args, kind: str) -> int:
    return getattr(args, f"{kind}_connections")


def pause(args, kind: str) -> str:
    """Milliseconds each connection waits between requests so that together they offer the rate."""
    rate = getattr(args, f"{kind}_rate")
    return str(round(connections(args, kind) * 1000 / rate)) if rate > 0 else "0"


def prepare(args, folder: Path) -> dict[str, str]:
    """The city, its health codes, the tokens gate devices scan, the staff and their credentials."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from core.imports.runner import run_import
    from core.models import ApiToken
    from core.roles import ensure_role_groups
    from gates.services import ensure_gate
    from geo.models import Compound, Division
    from geo.services import do_assign
    from healthcode.models import HealthCode
    from healthcode.services import mint, recompute
    from synth.city import generate_city
    from synth.writer import write_city

    started = time.perf_counter()
    paths = write_city(generate_city(args.residents, args.seed), folder / "city")
    for kind in CITY_KINDS:
        batch = run_import(kind, paths[kind].read_bytes(), filename=paths[kind].name, max_bytes=0)
        if batch.status != "done":
            raise SystemExit(f"import of {kind} failed: {batch.error}")
    recompute(None)
    codes = list(HealthCode.objects.order_by("?").only("subject", "colour", "since")[:20_000])
    (folder / "tokens.txt").write_text("\n".join(mint(code)[0] for code in codes))
    print(f"city of {args.residents:,} residents ready in {time.perf_counter() - started:.1f} s", flush=True)

    ensure_role_groups()
    users = get_user_model().objects
    device = users.create_user("load-gate")
    do_assign(device, Division.objects.get(level="city"), "city_command")
    _, key = ApiToken.issue(device, "load test")
    ensure_gate(Compound.objects.order_by("pk").first(), code="BENCH-GATE", name="load gate")
    community = Division.objects.filter(level="community").order_by("pk").first()
    viewer = users.create_user("load-community")
    do_assign(viewer, community, "community_worker")
    session = SessionStore()
    session.update(
        {
            "_auth_user_id": str(viewer.pk),
            "_auth_user_backend": "core.login.ThrottledModelBackend",
            "_auth_user_hash": viewer.get_session_auth_hash(),
        }
    )
    session.create()
    paths_viewed = [
        "/tasks/",
        "/help/",
        "/people/ledgers/",
        "/people/ledgers/elderly_alone/",
        f"/geo/divisions/{community.pk}/",
    ]
    check_pages_answer(session.session_key, paths_viewed)
    for kind, script in SCRIPTS.items():
        (folder / f"{kind}.lua").write_text(script + PACING_LUA)
    return {
        "BENCH_TOKENS": str(folder / "tokens.txt"),
        "BENCH_KEY": key,
        "BENCH_SESSION": session.session_key,
        "BENCH_PATHS": " ".join(paths_viewed),
    }


def check_pages_answer(session_key: str, paths: list[str]) -> None:
    """Each page answers 200 to the session (a redirect to the sign-in page would be fast and wrong)."""
    from django.test import Client

    client = Client()
    client.cookies["sessionid"] = session_key
    for path in paths:
        status = client.get(path).status_code
        if status != 200:
            raise SystemExit(f"{path} answered {status} to the signed-in community worker")


def written_counts() -> dict[str, int]:
    from assistance.models import HelpRequest
    from gates.models import GateCheck

    return {"checks": GateCheck.objects.count(), "help": HelpRequest.objects.count()}


def sample_memory(leader: int, every: int, samples: list, done: threading.Event) -> None:
    """RSS of the server's process group (granian and its workers) every ``every`` seconds."""
    started = time.monotonic()
    while not done.wait(every):
        samples.append((round(time.monotonic() - started), group_rss(leader)))


def group_rss(leader: int) -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != leader:  # field 5: process group
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue
    return total


def memory_summary(samples: list[tuple[float, int]]) -> dict:
    if not samples:
        return {}
    per_minute = max(1, len([s for s in samples if s[0] <= 60]))
    first = statistics.mean(rss for _, rss in samples[:per_minute])
    last = statistics.mean(rss for _, rss in samples[-per_minute:])
    return {
        "samples": len(samples),
        "first_minute_mb": round(first / 2**20, 1),
        "last_minute_mb": round(last / 2**20, 1),
        "max_mb": round(max(rss for _, rss in samples) / 2**20, 1),
        "growth_percent": round((last / first - 1) * 100, 1),
        "series_mb": [(t, round(rss / 2**20, 1)) for t, rss in samples],
    }


def route_times(log_path: Path) -> dict[str, dict]:
    """Server-side time by route from the access log (the fast path is not in it): where the
    client-side latency comes from."""
    import json

    import numpy as np

    times: dict[str, list[float]] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"linli.access"' in line:
            entry = json.loads(line)
            times.setdefault(entry.get("route", "?"), []).append(entry.get("ms", 0.0))
    return {
        route: {
            "requests": len(values),
            "p50_ms": round(float(np.percentile(values, 50)), 1),
            "p99_ms": round(float(np.percentile(values, 99)), 1),
            "max_ms": round(max(values), 1),
        }
        for route, values in sorted(times.items(), key=lambda item: -len(item[1]))
    }


def report(figures: dict) -> None:
    print(
        f"\nMixed peak workload, {figures['duration']} s, {figures['residents']:,} residents, "
        f"{figures['cpus']} CPUs (wrk shares them)"
    )
    print("\nEach kind alone (same-run baseline):")
    print_load_table(figures["baseline_alone"])
    print("\nAll four at once:")
    print_load_table(figures["mixed"])
    rows = []
    for kind, mixed in figures["mixed"].items():
        alone = figures["baseline_alone"][kind]
        rows.append(
            [
                kind,
                round(mixed["requests_per_second"] / alone["requests_per_second"], 2),
                round(mixed.get("p99_ms", 0) / max(alone.get("p99_ms", 1), 0.01), 2),
                "yes"
                if mixed.get("p99_ms", 1e9) <= 200 and not mixed["non_2xx"] and not mixed["socket_errors"]
                else "NO",
            ]
        )
    print("\nMixed against alone:")
    print_table(["kind", "rate ratio", "p99 ratio", "p99 ≤ 200 ms, no error"], rows)
    by_route = figures["server_time_by_route"]
    print("\nServer time by route (access log, whole run; the fast path's two routes are not logged):")
    print_table(
        ["route", "requests", "p50 ms", "p99 ms", "max ms"],
        [[route, f["requests"], f["p50_ms"], f["p99_ms"], f["max_ms"]] for route, f in by_route.items()],
    )
    total = sum(m["requests_per_second"] for m in figures["mixed"].values())
    print(f"\nsustained total: {total:,.0f} requests/s")
    memory = figures["memory"]
    if memory:
        print(
            f"server memory: first minute {memory['first_minute_mb']} MB, last minute {memory['last_minute_mb']} MB "
            f"({memory['growth_percent']:+.1f} %), max {memory['max_mb']} MB over {memory['samples']} samples"
        )


if __name__ == "__main__":
    main()
