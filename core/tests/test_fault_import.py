"""Issue #11: an import killed with SIGKILL part-way and run again ends exactly as a clean run does.

A synthetic city (``linli synth``) gives a residents file big enough that its import runs for
seconds; a second file changes a fifth of them (moves, new names, tags, phones), adds new people
and carries bad rows, some of them the same as before. Two scratch databases start as copies of
one seed with the hierarchy imported: A imports each file through ``linli import`` but is killed
first (file 1 once, file 2 twice in a row), then runs it to the end; B imports both cleanly. After
every kill A must hold exactly what it held before that run, and after every completed run every
table the import writes must match B's: row counts of all tables, and a checksum over the business
columns of the domain tables (surrogate ids replaced by the natural keys they point to, timestamps
and random subjects left out). The killed runs must end up recorded as failed, not 'running'.

Kill points, found by watching the database rather than by timing:

- ``staging`` (by polling): on PostgreSQL the import's session is loading the staging table
  (COPY) or preparing it for the merge, per ``pg_stat_activity``; on SQLite the run's batch row is
  committed and the import holds the write lock, which its transaction takes first thing to load
  the staging table.
- ``merge`` (PostgreSQL, by polling): the session writes a domain table inside the transaction.
  SQLite shows nothing of an open transaction to other processes, so there the second kill of
  file 2 is at ``staging`` again.
- ``before_commit`` (both, a test hook): ``LINLI_IMPORT_PAUSE_AT=before_commit:SECONDS`` makes the
  runner say so on stderr and sleep with every row written and the batch marked done, but not
  committed (core/imports/runner.py ``_pause_for_tests``; off unless set); the test kills it then.

File 1 is killed at ``staging``; file 2 at ``merge`` (SQLite: ``staging``) and then at
``before_commit``, twice in a row. The seed is a copy of the test database, which pytest-django
has migrated, rather than a fresh ``linli migrate``: that costs 50-75 s on this 2-core machine,
most of the test's budget. The hierarchy is imported into it with the management command behind
``linli import``, in one process (each ``linli`` start costs about 5 s); A and B then run side
by side, one thread each.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import translation
from psycopg import sql

from core.choices import ImportStatus
from core.imports import liveness
from core.models import ImportBatch
from tests_support.city import valid_id
from tests_support.servers import free_template

ROOT = Path(__file__).resolve().parents[2]
RESIDENTS = 30_000
NEWCOMERS = 800
SEED = 11
HIERARCHY = ("divisions", "compounds", "buildings")
PAUSE = "before_commit"
# `linli import residents FILE`; system checks are not what is tested here and cost 1.5 s a start
IMPORT = ("import", "--skip-checks", "residents")
KILL_TIMEOUT = 120.0  # seconds a run may take to reach its kill point on a loaded machine

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------------------------------
# The files


@dataclass
class CityFiles:
    hierarchy: dict[str, Path]
    first: Path  # the register as synthesised plus bad rows
    second: Path  # a fifth of them changed, some left out, new people, bad rows old and new


@pytest.fixture(scope="module")
def city_files(tmp_path_factory) -> CityFiles:
    out = tmp_path_factory.mktemp("fault-city")
    synth = _linli_run(
        {"LINLI_HOME": str(out / "home")},
        "synth",
        "--out",
        str(out),
        "--residents",
        str(RESIDENTS),
        "--seed",
        str(SEED),
    )
    assert synth.returncode == 0, synth.stderr
    with (out / "residents.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or ()), list(reader)
    first, second = _first_file(rows), _second_file(rows)
    _write_csv(out / "residents-1.csv", header, first)
    _write_csv(out / "residents-2.csv", header, second)
    return CityFiles(
        {kind: out / f"{kind}.csv" for kind in HIERARCHY}, out / "residents-1.csv", out / "residents-2.csv"
    )


def _bad_rows(rows: list[dict]) -> dict[str, dict]:
    """Rows refused for different reasons: in validation, in SQL (unknown building) and as repeats."""
    template = rows[0]
    broken = valid_id("420102", "19120304", 7)
    return {
        "unknown_building": {**template, "id_number": valid_id("420102", "19120304", 1), "building_code": "NO-SUCH-1"},
        "bad_checksum": {**template, "id_number": broken[:-1] + ("0" if broken[-1] != "0" else "1")},
        "repeat": {**rows[5], "phone": "13900000005"},
        "sex_conflict": {**template, "id_number": valid_id("420102", "19120304", 3), "sex": "F"},  # odd: a man
        "no_name": {**template, "id_number": valid_id("420102", "19120304", 5), "name": ""},
        "bad_phone": {**template, "id_number": valid_id("420102", "19120304", 9), "phone": "12345"},
    }


def _first_file(rows: list[dict]) -> list[dict]:
    bad = _bad_rows(rows)
    return [*rows, bad["unknown_building"], bad["bad_checksum"], bad["repeat"], bad["sex_conflict"], bad["no_name"]]


def _second_file(rows: list[dict]) -> list[dict]:
    n = len(rows)
    changed = []
    for i, row in enumerate(rows):
        if i % 50 == 49:
            continue  # not in this file: an import never deletes
        row = dict(row)
        if i % 7 == 0:  # moved into another household
            there = rows[(i + 3) % n]
            row.update(building_code=there["building_code"], unit=there["unit"], room=there["room"])
        if i % 11 == 0:
            row["name"] = row["name"][:-1] + "新"
        if i % 13 == 0:
            row["tags"] = "" if row["tags"] else "chronic"
        if i % 17 == 0:
            row["phone"] = f"139{i:08d}"
        changed.append(row)
    known = {row["id_number"] for row in rows}
    for j in range(NEWCOMERS):  # in new rooms of existing buildings
        number = valid_id("420102", f"1911{1 + j % 12:02d}{1 + j // 12 % 28:02d}", 100 + j // 336)
        if number in known:
            continue
        at = rows[(j * 37) % n]
        sex = "M" if int(number[16]) % 2 else "F"
        changed.append({**at, "id_number": number, "name": f"新居民{j}", "sex": sex, "unit": "9", "room": f"9{j:03d}"})
    bad = _bad_rows(rows)
    fixed = {**bad["sex_conflict"], "sex": "M"}  # accepted now: its open reject is superseded
    return [*changed, bad["unknown_building"], bad["bad_checksum"], bad["repeat"], fixed, bad["bad_phone"]]


def _write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


# ---------------------------------------------------------------------------------------------
# Scratch databases and the `linli` command


def _linli_env(overrides: dict[str, str]) -> dict[str, str]:
    """The caller's environment without any Linli setting of its own (no shared Redis, database,
    pause), plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    return {**env, "DJANGO_SETTINGS_MODULE": "linli.settings", "LINLI_SECRET_KEY": "fault-test-key", **overrides}


def _linli_run(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own module with fixed arguments
        [sys.executable, "-m", "linli.cli", *args],
        cwd=ROOT,
        env=_linli_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Store:
    """One scratch database and the Linli home its processes use."""

    name: str
    home: Path
    url: str  # LINLI_DATABASE_URL; empty for SQLite in LINLI_HOME
    vendor: str
    maintenance: str = ""  # PostgreSQL: the URL of the server's 'postgres' database
    sqlite_path: Path | None = None
    log: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {"LINLI_HOME": str(self.home), "LINLI_DATABASE_URL": self.url}

    @contextlib.contextmanager
    def connect(self):
        if self.vendor == "sqlite":
            con = sqlite3.connect(self.sqlite_path, timeout=30)
        else:
            con = psycopg.connect(self.url, autocommit=True)
        try:
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def step(self, label: str):
        """Note how long a step took (printed with ``pytest -s``)."""
        started = time.monotonic()
        yield
        self.log.append(f"{self.name} {label}: {time.monotonic() - started:.1f} s")

    def rows(self, query: str, params=()) -> list[tuple]:
        """Rows of ``query``, its parameters written ``%s`` for either vendor."""
        if self.vendor == "sqlite":
            query = query.replace("%s", "?")
        with self.connect() as con:
            return [tuple(row) for row in con.execute(query, params).fetchall()]


class Vendor:
    """Makes the seed from the test database and copies of it."""

    vendor = ""

    def __init__(self, base: Path):
        self.base = base
        self.base.mkdir(parents=True, exist_ok=True)

    def seed(self) -> Store: ...

    def copy(self, seed: Store, name: str) -> Store: ...

    def cleanup(self) -> None: ...


class SqliteVendor(Vendor):
    vendor = "sqlite"

    def _store(self, name: str) -> Store:
        home = self.base / name
        home.mkdir()
        return Store(name, home, "", "sqlite", sqlite_path=home / "linli.sqlite3")

    def seed(self) -> Store:
        store = self._store("seed")
        connection.ensure_connection()
        target = sqlite3.connect(store.sqlite_path)
        connection.connection.backup(target)  # the test database as migrated, into a file
        target.close()
        return store

    def copy(self, seed: Store, name: str) -> Store:
        store = self._store(name)
        source, target = sqlite3.connect(seed.sqlite_path), sqlite3.connect(store.sqlite_path)
        source.backup(target)
        source.close()
        target.close()
        return store


class PostgresVendor(Vendor):
    vendor = "postgresql"

    def __init__(self, base: Path):
        super().__init__(base)
        params = connection.settings_dict
        self.user, self.password = params.get("USER") or "", params.get("PASSWORD") or ""
        self.host, self.port = params.get("HOST") or "127.0.0.1", str(params.get("PORT") or 5432)
        self.maintenance = self._url("postgres")
        self.created: list[str] = []

    def _url(self, database: str) -> str:
        auth = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if self.password else "")
        return f"postgres://{auth}@{self.host}:{self.port}/{database}"

    def _create(self, name: str, template: str) -> Store:
        database = f"linli_fault_{name}_{os.getpid()}"
        with psycopg.connect(self.maintenance, autocommit=True) as con:
            con.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
            deadline = time.monotonic() + 30
            while True:  # the template must have no other session; a closing one may linger briefly
                free_template(con, template)
                try:
                    con.execute(
                        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                            sql.Identifier(database), sql.Identifier(template)
                        )
                    )
                    break
                except psycopg.errors.ObjectInUse:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        self.created.append(database)
        home = self.base / name
        home.mkdir()
        return Store(database, home, self._url(database), "postgresql", maintenance=self.maintenance)

    def seed(self) -> Store:
        test_database = connection.settings_dict["NAME"]
        connections.close_all()  # CREATE DATABASE … TEMPLATE needs the template to itself
        return self._create("seed", test_database)

    def copy(self, seed: Store, name: str) -> Store:
        return self._create(name, seed.name)

    def cleanup(self) -> None:
        with psycopg.connect(self.maintenance, autocommit=True) as con:
            for database in self.created:
                con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))

    def wait_sessions_gone(self, store: Store, seconds: float = 30) -> None:
        """A killed client's server process ends when it next talks to the client (at once when
        idle, after its statement when busy); wait for it, so the next run starts as a rerun does."""
        deadline = time.monotonic() + seconds
        while self.sessions(store):
            assert time.monotonic() < deadline, f"sessions of the killed import linger on {store.name}"
            time.sleep(0.05)

    @staticmethod
    def sessions(store: Store) -> list[tuple]:
        with psycopg.connect(store.maintenance, autocommit=True) as con:
            return con.execute(
                "SELECT pid, state, xact_start IS NOT NULL, query FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                [store.name],
            ).fetchall()


def _import_hierarchy(store: Store, files: CityFiles) -> None:
    """`linli import` for the three hierarchy files, through its management command in one process."""
    calls = "; ".join(f"call_command('import_data', {kind!r}, {str(path)!r})" for kind, path in files.hierarchy.items())
    done = _linli_run(store.env, "shell", "-c", f"from django.core.management import call_command; {calls}")
    assert done.returncode == 0, done.stderr
    assert _batches(store) == [(kind, "done") for kind in HIERARCHY], done.stdout


def _batches(store: Store, kind: str = "%") -> list[tuple]:
    return store.rows("SELECT kind, status FROM core_importbatch WHERE kind LIKE %s ORDER BY id", [kind])


# ---------------------------------------------------------------------------------------------
# What a database holds, vendor-neutral

# Domain tables the residents import writes, by their business columns: a plain column, or an id
# the import assigns with what it points to, read as that row's natural key ("batch": A numbers its
# completed runs after its killed ones, so a batch is read as kind, file, status and rows). The
# hierarchy's ids come with the seed, alike in A and B, so they are compared as they are.
PLACE = ("district_id", "street_id", "community_id", "grid_id", "compound_id", "building_id")
DOMAIN = {
    "people_resident": (
        *("id_number", "name", "name_pinyin", "sex", "birth_date", "phone", "residence_type", "tags", "extra"),
        "registered",
        ("household_id", "household"),
        *PLACE,
        ("source_batch_id", "batch"),
        ("merged_into_id", "resident"),
    ),
    "geo_household": ("unit", "room", *PLACE),
    "people_keygroupmembership": (("resident_id", "resident"), '"group"', "source", "since", *PLACE),
    # subject is random per code; since and computed_at are times
    "healthcode_healthcode": (("person_id", "resident"), "colour", "reasons", "policy_version"),
    "people_nodecount": (
        *("level", "residents", "households", "elderly_alone", "chronic", "pregnant", "disabled"),
        *("low_income", "child", "special_care", "node_id"),
    ),
    "core_changelog": (
        *("user_id", "source", "action", "model", "object_repr", "before", "after"),
        ("batch_id", "batch"),
        "CASE WHEN t.model = 'people.resident' THEN (SELECT id_number FROM people_resident WHERE id = t.object_id) "
        "ELSE CAST(t.object_id AS text) END",
    ),
    "core_importrejection": (
        *("kind", "row_number", "reason", '"column"', "detail", "key_value", "data", "row_hash", "times_seen"),
        *("status", "resolved_by_id"),
        ("batch_id", "batch"),
        ("last_batch_id", "batch"),
    ),
}
NATURAL_KEY = {
    "resident": ("people_resident", "id_number"),
    "household": ("geo_household", "building_id, unit, room"),
    "batch": ("core_importbatch", "kind, filename, status, rows"),
}
# No natural key twice (open rejects: the same row refused again is counted, not stored again).
NATURAL_KEYS = {
    "people_resident": "id_number",
    "geo_household": "building_id, unit, room",
    "people_keygroupmembership": 'resident_id, "group", source',
    "people_nodecount": "level, node_id",
    "healthcode_healthcode": "person_id",
    "core_importrejection": "kind, row_hash, status",
}
# Rows of core_importbatch differ by design (A has its killed runs); they are compared on their own.
NOT_COUNTED = {"core_importbatch", "sqlite_sequence"}


def domain_sql(table: str) -> str:
    """SELECT the table's business columns, surrogate ids joined to the natural keys they point to."""
    columns, joins = [], []
    for n, column in enumerate(DOMAIN[table]):
        if isinstance(column, str):
            columns.append(column if column.startswith("CASE") else f"t.{column}")
            continue
        name, target = column
        other, key = NATURAL_KEY[target]
        joins.append(f"LEFT JOIN {other} j{n} ON j{n}.id = t.{name}")
        columns += [f"j{n}.{part.strip()}" for part in key.split(",")]
    return f"SELECT {', '.join(columns)} FROM {table} t {' '.join(joins)}"


def _households(store: Store) -> dict[int, tuple]:
    return {i: (b, u, r) for i, b, u, r in store.rows("SELECT id, building_id, unit, room FROM geo_household")}


def _canonical(value, households: dict[int, tuple]):
    """A JSON value as sorted text, a household id in it (a change's before and after) as its key."""
    data = json.loads(value) if isinstance(value, str | bytes) else value
    if isinstance(data, dict) and "household_id" in data:
        data = {**data, "household_id": households.get(data["household_id"], data["household_id"])}
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


def snapshot(store: Store) -> dict[str, tuple[int, str]]:
    """Every table's row count, and (count, checksum over the business columns) of the domain tables."""
    with store.step("snapshot"):
        return _snapshot(store)


def _snapshot(store: Store) -> dict[str, tuple[int, str]]:
    if store.vendor == "sqlite":
        catalogue = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        catalogue = (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE'"
        )
    households = _households(store)
    out: dict[str, tuple[int, str]] = {}
    with store.connect() as con:
        for (table,) in con.execute(catalogue).fetchall():
            if table not in NOT_COUNTED:
                out[table] = (con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0], "")
        for table in DOMAIN:
            rows = con.execute(domain_sql(table)).fetchall()
            if table == "core_changelog":  # before and after may name a household by its id
                rows = [
                    (*row[:5], _canonical(row[5], households), _canonical(row[6], households), *row[7:]) for row in rows
                ]
            digest = hashlib.sha256()
            for line in sorted(map(repr, rows)):
                digest.update(line.encode())
                digest.update(b"\n")
            out[table] = (len(rows), digest.hexdigest())
    return out


def duplicates(store: Store) -> dict[str, int]:
    found = {}
    for table, key in NATURAL_KEYS.items():
        (n,) = store.rows(f"SELECT COUNT(*) FROM (SELECT {key} FROM {table} GROUP BY {key} HAVING COUNT(*) > 1) d")[0]
        if n:
            found[table] = n
    return found


def done_summaries(store: Store) -> list[tuple]:
    return [
        tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in row)
        for row in store.rows(
            "SELECT filename, rows, inserted, updated, unchanged, rejected, linked FROM core_importbatch "
            "WHERE kind = 'residents' AND status = 'done' ORDER BY id"
        )
    ]


def _differences(left: dict, right: dict) -> dict:
    return {t: (left.get(t), right.get(t)) for t in sorted(set(left) | set(right)) if left.get(t) != right.get(t)}


# ---------------------------------------------------------------------------------------------
# Runs: clean, and killed at a point


def run_clean(store: Store, path: Path) -> dict:
    with store.step(f"import {path.name}"):
        done = _linli_run(store.env, *IMPORT, str(path), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _start(store: Store, path: Path, pause: bool = False) -> subprocess.Popen:
    env = store.env | ({"LINLI_IMPORT_PAUSE_AT": f"{PAUSE}:600"} if pause else {})
    return subprocess.Popen(  # noqa: S603 - our own module with fixed arguments
        [sys.executable, "-m", "linli.cli", *IMPORT, str(path)],
        cwd=ROOT,
        env=_linli_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _poll(process: subprocess.Popen, probe, what: str, interval: float = 0.002):
    """Call ``probe`` until it answers something true; fail if the import ends first."""
    deadline = time.monotonic() + KILL_TIMEOUT
    while True:
        found = probe()
        if found:
            return found
        if process.poll() is not None:
            raise AssertionError(f"the import ended (exit {process.returncode}) before {what}: {process.stderr.read()}")
        assert time.monotonic() < deadline, f"no {what} within {KILL_TIMEOUT} s"
        time.sleep(interval)


# the staging table being loaded (COPY) or prepared for the merge (parents, households, targets)
STAGING_SQL = re.compile(r'^\s*(COPY|UPDATE|SELECT .* FROM)\s+"?stage_residents\b', re.I | re.S)
MERGE_SQL = re.compile(
    r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"?(people_|geo_|healthcode_|core_changelog|core_importrejection)', re.I
)


@contextlib.contextmanager
def _pg_statement(store: Store, pattern: re.Pattern):
    """A probe answering the import session's statement when it matches inside an open transaction."""
    with psycopg.connect(store.maintenance, autocommit=True) as con:

        def probe():
            for (query,) in con.execute(
                "SELECT query FROM pg_stat_activity WHERE datname = %s AND xact_start IS NOT NULL "
                "AND backend_type = 'client backend'",
                [store.name],
            ).fetchall():
                if pattern.match(query or ""):
                    return query[:70]
            return None

        yield probe


@contextlib.contextmanager
def _sqlite_transaction_open(store: Store, after_batch: int):
    """A probe answering once the run's batch row is committed and the import holds the write lock:
    its transaction is open, and the first thing it does is load the staging table."""
    con = sqlite3.connect(store.sqlite_path, timeout=0, isolation_level=None)

    def probe():
        try:
            (running,) = con.execute("SELECT MAX(id) FROM core_importbatch WHERE status = 'running'").fetchone()
        except sqlite3.OperationalError:  # busy for a moment (a checkpoint): look again
            return None
        if not running or running <= after_batch:
            return None
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # database is locked
            return "the import's transaction holds the write lock (staging)"
        con.execute("ROLLBACK")
        return None

    try:
        yield probe
    finally:
        con.close()


def _paused(process: subprocess.Popen) -> str:
    """Read the import's stderr until the pause hook says it has reached its stage."""
    deadline = time.monotonic() + KILL_TIMEOUT
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 1.0)
        if not ready:
            continue
        line = process.stderr.readline()
        if not line:
            raise AssertionError(f"the import ended before pausing: {''.join(seen)}")
        seen.append(line)
        if f"paused at {PAUSE}" in line:
            return f"paused at {PAUSE} (LINLI_IMPORT_PAUSE_AT)"
    raise AssertionError(f"the import did not pause within {KILL_TIMEOUT} s: {''.join(seen)}")


def run_killed(store: Store, vendor: Vendor, path: Path, point: str, before: dict) -> str:
    """Start the import, SIGKILL it at ``point``; check that the database still holds ``before``."""
    last = store.rows("SELECT COALESCE(MAX(id), 0) FROM core_importbatch")[0][0]
    started = time.monotonic()
    process = _start(store, path, pause=point == PAUSE)
    try:
        if point == PAUSE:
            where = _paused(process)
        elif store.vendor == "sqlite":
            assert point == "staging", point
            with _sqlite_transaction_open(store, last) as probe:
                where = _poll(process, probe, "its transaction")
        else:
            with _pg_statement(store, STAGING_SQL if point == "staging" else MERGE_SQL) as probe:
                where = _poll(process, probe, f"the {point} statements")
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    if isinstance(vendor, PostgresVendor):
        vendor.wait_sessions_gone(store)
    killed = store.rows(f"SELECT id, status FROM core_importbatch WHERE id > {int(last)} ORDER BY id")
    assert [status for _, status in killed][-1:] == [ImportStatus.RUNNING], killed  # until a later run looks
    assert _differences(snapshot(store), before) == {}, f"a half state after a kill at {point} ({where})"
    store.log.append(f"{store.name} {path.name}: killed at {point} after {time.monotonic() - started:.1f} s: {where}")
    return where


# ---------------------------------------------------------------------------------------------
# The test


def _killed_then_rerun(store: Store, vendor: Vendor, files: CityFiles) -> list[dict]:
    merge = "merge" if store.vendor == "postgresql" else "staging"  # SQLite cannot be watched merging
    run_killed(store, vendor, files.first, "staging", snapshot(store))
    run_clean(store, files.first)
    after_first = snapshot(store)
    run_killed(store, vendor, files.second, merge, after_first)
    run_killed(store, vendor, files.second, PAUSE, after_first)  # killed twice in a row
    run_clean(store, files.second)
    return [after_first, snapshot(store)]


def _clean(store: Store, files: CityFiles) -> list[dict]:
    run_clean(store, files.first)
    after_first = snapshot(store)
    run_clean(store, files.second)
    return [after_first, snapshot(store)]


def _fault_run(vendor: Vendor, city_files: CityFiles) -> None:
    started, seed, a, b = time.monotonic(), None, None, None
    try:
        seed = vendor.seed()
        with seed.step("hierarchy"):
            _import_hierarchy(seed, city_files)
        a, b = vendor.copy(seed, "a"), vendor.copy(seed, "b")
        with ThreadPoolExecutor(max_workers=1) as pool:
            clean = pool.submit(_clean, b, city_files)
            killed = _killed_then_rerun(a, vendor, city_files)
            expected = clean.result()
        for phase, (got, want) in enumerate(zip(killed, expected, strict=True), start=1):
            assert _differences(got, want) == {}, f"after file {phase}, A (killed, rerun) differs from B (clean)"
            counts = ", ".join(f"{t} {want[t][0]}" for t in DOMAIN)
            a.log.append(f"after file {phase} A = B: {len(want)} tables' counts; checksums of {counts}")
        assert expected[0]["people_resident"][0] == RESIDENTS  # every bad row refused
        assert expected[1]["people_resident"][0] == RESIDENTS + NEWCOMERS + 1  # and the corrected one
        assert [t for t in DOMAIN if expected[0][t] == expected[1][t]] == []  # file 2 changes every one
        assert duplicates(a) == {} and duplicates(b) == {}
        assert done_summaries(a) == done_summaries(b)
        runs = [status for _, status in _batches(a, "residents")]
        assert runs == ["failed", "done", "failed", "failed", "done"], runs
        errors = a.rows("SELECT error FROM core_importbatch WHERE status = 'failed'")
        with translation.override(settings.LANGUAGE_CODE):  # as the `linli import` runs wrote it
            assert {e for (e,) in errors} == {str(liveness.ABANDONED)}
        assert [status for _, status in _batches(b, "residents")] == ["done", "done"]
    finally:
        vendor.cleanup()
        kills = [*(seed.log if seed else []), *(a.log if a else []), *(b.log if b else [])]
        print(f"\n{vendor.vendor}: {time.monotonic() - started:.1f} s", *kills, sep="\n  ")  # with -s


# Each copies the test database, so each runs in its half of `make test` (test-sqlite, test-postgres).
# Transactional: the copy needs the test database free of an open transaction (SQLite's backup waits
# for ever on one) and, on PostgreSQL, of any session. Nothing is written to it.
@pytest.mark.skipif(connection.vendor != "sqlite", reason="copies the SQLite test database")
@pytest.mark.django_db(transaction=True)
def test_killed_imports_rerun_to_a_clean_result_on_sqlite(city_files, tmp_path):
    _fault_run(SqliteVendor(tmp_path / "stores"), city_files)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="copies the PostgreSQL test database")
@pytest.mark.django_db(transaction=True)
def test_killed_imports_rerun_to_a_clean_result_on_postgresql(city_files, tmp_path):
    _fault_run(PostgresVendor(tmp_path / "stores"), city_files)


# ---------------------------------------------------------------------------------------------
# The runner's part, in process: a run whose process is gone is marked, a live one is not


@pytest.mark.django_db
def test_an_import_marks_runs_whose_process_is_gone():
    def running():
        return ImportBatch.objects.create(kind="residents", source="import", status=ImportStatus.RUNNING)

    dead, mine, elsewhere = running(), running(), running()
    liveness.hold(mine.pk)  # as an import in another thread of this process
    try:
        with _held_by_another_session(elsewhere.pk):
            gone = liveness.mark_abandoned()
    finally:
        liveness.release(mine.pk)
    held_elsewhere = connection.vendor == "postgresql"
    assert set(gone) == {dead.pk} | (set() if held_elsewhere else {elsewhere.pk})
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (ImportStatus.FAILED, str(liveness.ABANDONED)) and dead.finished_at
    assert ImportBatch.objects.get(pk=mine.pk).status == ImportStatus.RUNNING


@contextlib.contextmanager
def _held_by_another_session(batch_id: int):
    """PostgreSQL: the batch's advisory lock held by another session. (The SQLite test database
    lives in this process's memory, where no other process can be running an import.)"""
    if connection.vendor != "postgresql":
        yield
        return
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [liveness.LOCK_CLASS, batch_id])
        yield
