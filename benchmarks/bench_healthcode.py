"""Benchmark: health codes and gate checks (issue #5, "Measured").

    .venv/bin/python benchmarks/bench_healthcode.py [--residents 1000000] [--seed 2020]
        [--duration 15] [--connections 64] [--workers 2] [--threads 32] [--skip-load] [--pg-admin-url URL]
        [--json-out FILE]

In one run, on PostgreSQL (a database created for the run):

1. the city (synth.city) imported through the framework;
2. **issue codes for every resident**: the code table emptied, then ``healthcode.services.recompute``
   times the first issue (random subjects, reasons, colours: target ≤ 60 s for 1,000,000), a second
   pass with nothing to change, and a pass after 1 % of residents became close contacts; then
   **minting** a signed token for every resident (Ed25519, one core);
3. **offline verification** in Python on one core (healthcode.tokens.Verifier, public keys only);
4. **under load** (wrk on loopback against ``linli serve``: granian, ``--workers`` processes):
   ``POST /api/healthcode/verify`` (target ≥ 4,000/s, p99 ≤ 50 ms) and ``POST /api/gates/checks``
   with one new check per request (target ≥ 2,000/s, p99 ≤ 100 ms, nothing lost: every 200 answer
   is a row, and no row without one). Each is run twice on the same server set-up: through the fast
   path and, as the same-run baseline, through Django's ordinary stack (``LINLI_FASTPATH=0``).

wrk must be installed (``apt-get install wrk``). The load generator shares the machine's cores with
the server, so rates are lower bounds for a server on its own machine.
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

from _common import (
    DEFAULT_PG_ADMIN_URL,
    create_pg_database,
    drop_pg_database,
    print_load_table,
    print_table,
    serve,
    server_errors,
    setup_django,
    stop,
    wrk,
)

CITY_KINDS = ("divisions", "compounds", "buildings", "residents")

VERIFY_LUA = """
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
request = function()
  i = i + 1
  return wrk.format(nil, "/api/healthcode/verify", nil, '{"token":"' .. tokens[(i % #tokens) + 1] .. '"}')
end
"""

CHECKS_LUA = """
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local counter = 0
local next_id = 1
setup = function(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
local run = os.getenv("BENCH_RUN")
request = function()
  counter = counter + 1
  -- thread_id is the global that setup() gave this thread's Lua state
  local client_id = string.format("%08x-%04x-4000-8000-%012x", tonumber(run), thread_id, counter)
  local body = '{"checks":[{"client_id":"' .. client_id .. '","gate":"BENCH-GATE","token":"'
    .. tokens[(counter % #tokens) + 1] .. '","direction":"in","identity_checked":true,"temperature":36.5,"mask":true}]}'
  return wrk.format(nil, "/api/gates/checks", nil, body)
end
"""


def step_timer():
    started = time.perf_counter()
    return lambda: round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32, help="threads per worker (linli serve --threads)")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    if not args.skip_load and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (or pass --skip-load)")

    db_name = "linli_bench_healthcode"
    url = create_pg_database(args.pg_admin_url, db_name)
    folder = Path(tempfile.mkdtemp(prefix="linli-bench-healthcode-"))
    try:
        figures = run(args, url, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        drop_pg_database(args.pg_admin_url, db_name)
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2))


def run(args, url: str, folder: Path) -> dict:
    setup_django(url)
    import numpy as np
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from cases.choices import Category
    from cases.services import do_identify_many
    from core.imports.runner import run_import
    from healthcode.models import HealthCode
    from healthcode.services import mint, recompute
    from healthcode.tokens import Verifier
    from synth.city import generate_city
    from synth.writer import write_city

    call_command("migrate", verbosity=0)
    figures: dict = {"residents": args.residents, "cpus": os.cpu_count(), "steps": {}}
    steps = figures["steps"]

    elapsed = step_timer()
    paths = write_city(generate_city(args.residents, args.seed), folder / "city")
    for kind in CITY_KINDS:
        batch = run_import(kind, paths[kind].read_bytes(), filename=paths[kind].name, max_bytes=0)
        if batch.status != "done":
            raise SystemExit(f"import of {kind} failed: {batch.error}")
    steps["city"] = {"seconds": elapsed()}

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {HealthCode._meta.db_table}")
    elapsed = step_timer()
    first = recompute(None)
    steps["issue_codes"] = {"seconds": elapsed(), "issued": first.issued, "target_seconds": 60}
    elapsed = step_timer()
    again = recompute(None)
    steps["recompute_unchanged"] = {"seconds": elapsed(), "changed": again.changed}
    rng = np.random.default_rng(args.seed)
    person_ids = list(HealthCode.objects.values_list("person_id", flat=True))
    contacts = sorted(int(i) for i in rng.choice(person_ids, size=max(1, len(person_ids) // 100), replace=False))
    elapsed = step_timer()
    do_identify_many(
        contacts, Category.CLOSE_CONTACT, at=timezone.now(), source_kind="system", source_ref_prefix="bench"
    )
    steps["one_percent_become_contacts"] = {"seconds": elapsed(), "people": len(contacts)}
    elapsed = step_timer()
    changed = recompute(None)
    steps["recompute_after"] = {"seconds": elapsed(), "changed": changed.changed}

    codes = list(HealthCode.objects.all().only("subject", "colour", "since"))
    elapsed = step_timer()
    tokens = [mint(code)[0] for code in codes]
    seconds = elapsed()
    steps["mint_tokens"] = {"seconds": seconds, "tokens": len(tokens), "per_second": round(len(tokens) / seconds)}

    from healthcode.keys import KEY_RING

    verifier: Verifier = KEY_RING.verifier()
    offline = Verifier(dict(verifier.keys))
    sample = tokens[:200_000]
    now = int(time.time())
    elapsed = step_timer()
    valid = sum(1 for token in sample if offline.verify(token, now).verdict == "valid")
    seconds = elapsed()
    steps["offline_verify_one_core"] = {
        "tokens": len(sample),
        "valid": valid,
        "per_second": round(len(sample) / seconds),
    }

    if not args.skip_load:
        figures["load"] = load(args, folder, tokens)
    report(figures)
    return figures


def load(args, folder: Path, tokens: list[str]) -> dict:
    from django.contrib.auth import get_user_model

    from core.models import ApiToken
    from core.roles import ensure_role_groups
    from gates.models import GateCheck
    from gates.services import ensure_gate
    from geo.models import Compound, Division
    from geo.services import do_assign

    ensure_role_groups()
    user = get_user_model().objects.create_user("bench-gate")
    do_assign(user, Division.objects.get(level="city"), "city_command")
    _, key = ApiToken.issue(user, "bench")
    ensure_gate(Compound.objects.order_by("pk").first(), code="BENCH-GATE", name="bench gate")
    token_file = folder / "tokens.txt"
    token_file.write_text("\n".join(tokens[:50_000]))
    (folder / "verify.lua").write_text(VERIFY_LUA)
    (folder / "checks.lua").write_text(CHECKS_LUA)
    env = {"BENCH_TOKENS": str(token_file), "BENCH_KEY": key}
    results = {}
    port = 8765
    for run_no, (label, fast) in enumerate((("fast_path", "1"), ("django_stack", "0")), start=1):
        server = serve(port, args.workers, args.threads, {"LINLI_FASTPATH": fast, "LINLI_GATE_BATCH_MS": "2"})
        try:
            base = f"http://127.0.0.1:{port}"
            wrk(base, folder / "verify.lua", env, 3, args.connections)  # warm-up
            results[f"verify_{label}"] = wrk(base, folder / "verify.lua", env, args.duration, args.connections)
            if fast == "1":  # the same at a quarter of the connections: latency with less queueing
                quarter = max(1, args.connections // 4)
                results[f"verify_{label}_c{quarter}"] = wrk(base, folder / "verify.lua", env, args.duration, quarter)
            before = GateCheck.objects.count()
            checks = wrk(base, folder / "checks.lua", env | {"BENCH_RUN": str(run_no)}, args.duration, args.connections)
            time.sleep(1)
            checks["rows_written"] = GateCheck.objects.count() - before
            checks["answered_200"] = checks["requests"] - checks["non_2xx"]
            checks["lost"] = max(0, checks["answered_200"] - checks["rows_written"])
            results[f"checks_{label}"] = checks
        finally:
            stop(server)
            if errors := server_errors(server):
                print(f"--- server errors ({label}) ---\n{errors}", file=sys.stderr)
    return results


def report(figures: dict) -> None:
    print(f"\nHealth codes for {figures['residents']:,} residents on PostgreSQL ({figures['cpus']} CPUs)\n")
    rows = [[name, json.dumps(values, ensure_ascii=False)] for name, values in figures["steps"].items()]
    print_table(["step", "figures"], rows)
    load = figures.get("load")
    if load:
        print()
        print_load_table(load)
        for kind in ("verify", "checks"):
            fast, slow = load[f"{kind}_fast_path"], load[f"{kind}_django_stack"]
            print(
                f"{kind}: fast path / Django stack = ×{fast['requests_per_second'] / slow['requests_per_second']:.2f}"
            )


if __name__ == "__main__":
    main()
