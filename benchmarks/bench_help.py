"""Benchmark: creating help requests through the API under load (issue #7, "Measured").

    .venv/bin/python benchmarks/bench_help.py [--residents 100000] [--seed 2020] [--duration 20]
        [--connections 16] [--workers 2] [--threads 4] [--pg-admin-url URL] [--json-out FILE]

On PostgreSQL (a database created for the run): a synthetic city imported through the framework,
someone answerable at every district, street, community and grid (synth.demo.staff_every_node),
and an API key for a civic app. Then, against ``linli serve`` on loopback, wrk (bounded: a fixed
number of connections for a fixed time) runs:

1. the **baseline**, measured in the same run on the same server: ``GET /healthz`` (Django's
   stack and one query, the least any request costs);
2. ``GET /open311/v2/services.json`` (the Open311 layer, no database writes);
3. ``POST /open311/v2/requests.json``: a new request per call from a different registered phone
   (so the flood limit never refuses one), each checked, stored, routed to the answerable person
   of the resident's building and given its task, events and notification in one transaction.

Reported: requests/s, p50/p90/p99, non-2xx answers, and two checks of what the load left behind:
**nothing lost** (every 201 answer is a stored request; the few stored after wrk stopped waiting, at
most one per connection, are counted apart) and
**routed** (every stored request has a task with an assignee at the level expected). The load
generator shares the two cores with the server and PostgreSQL, so rates are lower bounds. Creating a
request is CPU-bound Python (the ORM and the task engine), so a few threads per worker do better than
many: they contend for the interpreter lock (measured: 128/s with 4 threads, 84/s with 16).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_PG_ADMIN_URL, create_pg_database, drop_pg_database, print_load_table, setup_django
from bench_healthcode import CITY_KINDS, serve, stop, wrk

CREATE_LUA = """
local phones = {}
for line in io.lines(os.getenv("BENCH_PHONES")) do phones[#phones + 1] = line end
local counter = 0
local next_id = 0
local threads = 2
setup = function(thread)
  thread:set("offset", next_id)
  next_id = next_id + 1
end
local categories = {"medicine", "groceries", "escort", "elderly_care", "mental_health", "report_problem", "other"}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  counter = counter + 1
  -- each thread takes every other phone, so no phone is used twice in a run
  local index = (counter * threads + offset) % #phones + 1
  local body = "api_key=" .. os.getenv("BENCH_KEY") .. "&service_code=" .. categories[(counter % #categories) + 1]
    .. "&description=bench%20request%20" .. counter .. "&phone=" .. phones[index]
  return wrk.format(nil, "/open311/v2/requests.json", nil, body)
end
"""

GET_LUA = """
wrk.method = "GET"
request = function() return wrk.format(nil, os.getenv("BENCH_PATH")) end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker (linli serve --threads); few suit CPU-bound writes"
    )
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    db_name = "linli_bench_help"
    url = create_pg_database(args.pg_admin_url, db_name)
    folder = Path(tempfile.mkdtemp(prefix="linli-bench-help-"))
    try:
        figures = run(args, url, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        drop_pg_database(args.pg_admin_url, db_name)
    report(figures)
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))


def run(args, url: str, folder: Path) -> dict:
    setup_django(url)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count

    from assistance.models import HelpRequest
    from core.imports.runner import run_import
    from core.models import ApiToken
    from core.roles import ensure_role_groups
    from geo.models import Division
    from geo.services import do_assign
    from people.models import Resident
    from synth.city import generate_city
    from synth.demo import staff_every_node
    from synth.writer import write_city

    call_command("migrate", verbosity=0)
    paths = write_city(generate_city(args.residents, args.seed), folder / "city")
    for kind in CITY_KINDS:
        batch = run_import(kind, paths[kind].read_bytes(), filename=paths[kind].name, max_bytes=0)
        if batch.status != "done":
            raise SystemExit(f"import of {kind} failed: {batch.error}")
    ensure_role_groups()
    staffed = staff_every_node()
    with connection.cursor() as cursor:  # a freshly loaded database is analysed before it serves
        cursor.execute("VACUUM ANALYZE")
    app = get_user_model().objects.create_user("bench-civic-app")
    do_assign(app, Division.objects.get(level="city"), "city_command")
    _, key = ApiToken.issue(app, "bench")
    single = (
        Resident.objects.exclude(phone="")
        .values("phone")
        .annotate(n=Count("pk"))
        .filter(n=1)
        .values_list("phone", flat=True)
    )
    phones = list(single.order_by("phone"))
    (folder / "phones.txt").write_text("\n".join(phones))
    (folder / "create.lua").write_text(CREATE_LUA)
    (folder / "get.lua").write_text(GET_LUA)
    env = {"BENCH_PHONES": str(folder / "phones.txt"), "BENCH_KEY": key}
    figures: dict = {
        "residents": args.residents,
        "phones": len(phones),
        "staffed_nodes": staffed,
        "cpus": os.cpu_count(),
        "connections": args.connections,
        "duration_s": args.duration,
        "load": {},
    }
    port = 8766
    server = serve(port, args.workers, args.threads, {})
    try:
        base = f"http://127.0.0.1:{port}"
        for label, path in (("baseline_healthz", "/healthz"), ("open311_services", "/open311/v2/services.json")):
            wrk(base, folder / "get.lua", env | {"BENCH_PATH": path}, 2, args.connections)  # warm-up
            figures["load"][label] = wrk(
                base, folder / "get.lua", env | {"BENCH_PATH": path}, args.duration, args.connections
            )
        before = HelpRequest.objects.count()
        created = wrk(base, folder / "create.lua", env, args.duration, args.connections)
        time.sleep(2)  # requests wrk gave up on at the end still finish on the server
        created["rows_written"] = HelpRequest.objects.count() - before
        created["answered_201"] = created["requests"] - created["non_2xx"]
        # an answered request that is not stored is lost; one stored but cut off at the end of the run
        # (at most one per connection) is not, the client simply stopped waiting for the answer
        created["lost"] = max(0, created["answered_201"] - created["rows_written"])
        created["cut_off_at_end"] = created["rows_written"] - created["answered_201"]
        figures["load"]["open311_create"] = created
    finally:
        stop(server)
        errors = server.stderr.read().decode(errors="replace")
        if "Traceback" in errors:
            print(f"--- server errors ---\n{errors[-4000:]}", file=sys.stderr)
    stored = HelpRequest.objects.all()
    figures["routing"] = {
        "stored": stored.count(),
        "with_task": stored.filter(task__isnull=False).count(),
        "with_assignee": stored.filter(task__assignee__isnull=False).count(),
        "at_grid": stored.filter(task__assigned_level="grid").count(),  # no cadres: the grid answers
    }
    return figures


def report(figures: dict) -> None:
    print(
        f"\nHelp requests under load: {figures['residents']:,} residents, PostgreSQL, {figures['cpus']} CPUs, "
        f"{figures['connections']} connections for {figures['duration_s']} s each\n"
    )
    print_load_table(figures["load"])
    load = figures["load"]
    base, create = load["baseline_healthz"], load["open311_create"]
    print(
        f"\ncreate vs baseline: {create['requests_per_second'] / base['requests_per_second']:.2f}× the rate, "
        f"p99 {create.get('p99_ms', 0) / max(base.get('p99_ms', 1), 0.01):.1f}× the baseline's"
    )
    print("routing:", json.dumps(figures["routing"]))


if __name__ == "__main__":
    main()
