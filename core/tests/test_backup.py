"""`linli backup` and `linli restore` (issue #11), on SQLite and on PostgreSQL, as an operator runs them.

The round trips run the console command in subprocesses against scratch installations (their own
LINLI_HOME and database), never the test database: a city is built in the test database, committed,
and copied to the scratch database (SQLite's backup API; a PostgreSQL template), which is much
faster than migrating a new database. Refusals are checked in-process: they stop before anything
is touched.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from core import backup
from people.models import Resident
from tests_support.servers import free_template

ROOT = Path(__file__).resolve().parents[2]
CHECKED_TABLES = ("people_resident", "geo_division", "auth_user", "healthcode_signingkey", "core_importbatch")
PHOTO = os.urandom(50_000)

on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="the test database is not SQLite")
# The round trip copies the test database (a template) to a scratch one, so it needs the suite's
# PostgreSQL half (LINLI_DATABASE_URL=postgres://…): under `make test` that half runs it.
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the test database is not PostgreSQL (run with LINLI_DATABASE_URL=$LINLI_TEST_POSTGRES_URL)",
)


# --- helpers ------------------------------------------------------------------------------------------


def _linli(home: Path, database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LINLI_HOME": str(home), "LINLI_DATABASE_URL": database_url}
    for variable in ("LINLI_SECRET_KEY", "LINLI_PRESENCE_DIR", "LINLI_MEDIA_DIR"):
        env.pop(variable, None)  # everything under the scratch home
    return subprocess.run(  # noqa: S603 - our own command with fixed arguments
        [sys.executable, "-m", "linli.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _state_files(home: Path, settings) -> None:
    """A presence store with its published index (and a cache and a scratch folder that are no state),
    an upload and a linkage model, all under ``home``."""
    from tracing import index, store

    settings.LINLI_PRESENCE_DIR = home / "presence"
    with store.writing() as con:
        store.sync_venues(con)
        store.sync_households(con)
        store.bump_version(con)
    index.publish()
    (home / "presence" / "spark" / "v1").mkdir(parents=True)
    (home / "presence" / "spark" / "v1" / "stays.parquet").write_bytes(b"cache")
    (home / "presence" / ".index-00000002-1-1").mkdir()
    (home / "media" / "help" / "2026").mkdir(parents=True)
    (home / "media" / "help" / "2026" / "photo.jpg").write_bytes(PHOTO)
    (home / "linkage_model.json").write_text('{"model": "ours"}')


def _city_with_keys(city) -> None:
    from healthcode.keys import rotate

    rotate(force=True)  # a signing key: sealed state in the database
    assert Resident.objects.count() > 10


def _files_under(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def _rewrite(archive: Path, out: Path, *, manifest=None, member=None, change=None, extra=None) -> Path:
    """A copy of ``archive`` with its manifest edited, one member's bytes changed or one more member."""
    members = _members(archive)
    if manifest is not None:
        members["manifest.json"] = json.dumps(manifest(json.loads(members["manifest.json"]))).encode()
    if member is not None:
        members[member] = change(members[member])
    if extra is not None:
        members[extra[0]] = extra[1]
    with tarfile.open(out, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def _sqlite_snapshot(path: Path) -> tuple[dict[str, int], dict[str, str]]:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        sums = {
            t: hashlib.sha256(repr(db.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall()).encode()).hexdigest()
            for t in CHECKED_TABLES
        }
    return counts, sums


def _pg_snapshot(url: str) -> tuple[dict[str, int], dict[str, str]]:
    import psycopg

    with psycopg.connect(url) as db:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        sums = {
            t: db.execute(
                f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM \"{t}\" x"
            ).fetchone()[0]
            for t in CHECKED_TABLES
        }
    return counts, sums


def _check_archive(archive: Path, vendor: str) -> dict:
    assert archive.stat().st_mode & 0o777 == 0o600  # personal data: owner only
    assert not [p.name for p in archive.parent.iterdir() if p.name.startswith(".")]  # no partial file or staging
    members = _members(archive)
    assert next(iter(members)) == "manifest.json"  # first: read before anything else
    manifest = json.loads(members["manifest.json"])
    assert manifest["database"]["vendor"] == vendor
    assert manifest["linli_version"] and manifest["created_at"].endswith("+00:00")
    assert "0001_initial" in manifest["migrations"]["applied"]["people"]
    assert manifest["migrations"]["heads"]["people"] == [max(manifest["migrations"]["applied"]["people"])]
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(members) - {"manifest.json"}
    for name, entry in listed.items():
        assert entry["size"] == len(members[name]) and entry["sha256"] == hashlib.sha256(members[name]).hexdigest()
    assert manifest["database"]["path"] in listed
    assert {"home/secret_key", "home/linkage_model.json", "media/help/2026/photo.jpg"} <= set(listed)
    presence = {name for name in listed if name.startswith("presence/")}
    assert {"presence/presence.duckdb", "presence/CURRENT", "presence/index-00000001/p_ptr.npy"} <= presence
    assert not [name for name in presence if "spark" in name or "/." in name]  # caches and scratch are no state
    assert manifest["warnings"] == []
    return manifest


def _refusals(archive: Path, tmp_path: Path, settings) -> None:
    """Each refused before anything is touched: the test database (which holds the city) and the
    in-process folders stay as they are."""
    settings.LINLI_HOME = tmp_path / "inprocess"
    settings.MEDIA_ROOT = tmp_path / "inprocess" / "media"
    settings.LINLI_PRESENCE_DIR = tmp_path / "inprocess" / "presence"
    residents = Resident.objects.count()

    with pytest.raises(CommandError, match=r"not empty .*--force"):
        call_command("restore", str(archive))

    tampered = _rewrite(
        archive, tmp_path / "tampered.tar.gz", member="media/help/2026/photo.jpg", change=lambda b: b[:-1] + b"x"
    )
    with pytest.raises(CommandError, match=r"checksum of media/help/2026/photo\.jpg does not match"):
        call_command("restore", str(tampered), "--force")
    smuggled = _rewrite(archive, tmp_path / "smuggled.tar.gz", extra=("media/extra.bin", b"not listed"))
    with pytest.raises(backup.BackupError, match="does not list"):
        backup.unpack(smuggled, tmp_path / "unpacked")

    def newer(manifest):
        manifest["migrations"]["applied"]["core"].append("9999_from_the_future")
        return manifest

    with pytest.raises(CommandError, match=r"newer code .*core\.9999_from_the_future"):
        call_command("restore", str(_rewrite(archive, tmp_path / "newer.tar.gz", manifest=newer)), "--force")

    def other_vendor(manifest):
        other = "postgresql" if manifest["database"]["vendor"] == "sqlite" else "sqlite"
        old_path, new_path = manifest["database"]["path"], backup.DATABASE_FILES[other]
        manifest["database"] |= {"vendor": other, "path": new_path}
        for entry in manifest["files"]:
            if entry["path"] == old_path:
                entry["path"] = new_path
        return manifest

    with pytest.raises(CommandError, match="restoring across database vendors is not supported"):
        call_command("restore", str(_rewrite(archive, tmp_path / "vendor.tar.gz", manifest=other_vendor)), "--force")

    assert Resident.objects.count() == residents
    assert not (tmp_path / "inprocess" / "media").exists()
    assert not [p for p in (tmp_path / "inprocess").iterdir() if p.name.startswith(".linli-restore-")]


# --- the round trips ----------------------------------------------------------------------------------


@on_sqlite
@pytest.mark.django_db(transaction=True)
def test_sqlite_backup_and_restore(city, tmp_path, settings):
    _city_with_keys(city)
    home = tmp_path / "home"
    home.mkdir()
    _state_files(home, settings)
    connection.ensure_connection()
    with sqlite3.connect(home / "linli.sqlite3") as scratch:
        connection.connection.backup(scratch)  # the committed city, already migrated
    before = _sqlite_snapshot(home / "linli.sqlite3")
    secret = "s" * 60
    (home / "secret_key").write_text(secret)

    (tmp_path / "out").mkdir()
    made = _linli(home, "", "backup", "--out", str(tmp_path / "out"))
    assert made.returncode == 0, made.stderr
    (archive,) = (tmp_path / "out").glob("linli-backup-*.tar.gz")
    _check_archive(archive, "sqlite")

    # a new machine: an empty home, no database yet
    fresh = tmp_path / "fresh"
    restored = _linli(fresh, "", "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert "warning" not in restored.stderr
    assert _sqlite_snapshot(fresh / "linli.sqlite3") == before
    assert (fresh / "secret_key").read_text() == secret
    assert _files_under(fresh / "media") == _files_under(home / "media")
    expected_presence = {k: v for k, v in _files_under(home / "presence").items() if not k.startswith(("spark", "."))}
    assert _files_under(fresh / "presence") == expected_presence
    assert (fresh / "presence" / "presence.duckdb").exists()

    # the old machine, changed since, put back (a database holding data needs --force: _refusals)
    with sqlite3.connect(home / "linli.sqlite3") as db:
        db.execute("DELETE FROM people_resident")
        db.execute("UPDATE geo_division SET name = name || '改'")
    (home / "media" / "help" / "2026" / "photo.jpg").unlink()
    (home / "presence" / "stray.bin").write_bytes(b"x")
    (home / "linkage_model.json").write_text("{}")
    forced = _linli(home, "", "restore", str(archive), "--force")
    assert forced.returncode == 0, forced.stderr
    assert _sqlite_snapshot(home / "linli.sqlite3") == before
    assert (home / "media" / "help" / "2026" / "photo.jpg").read_bytes() == PHOTO
    assert (home / "linkage_model.json").read_text() == '{"model": "ours"}'
    assert _files_under(home / "presence") == expected_presence  # no stray file, no cache
    assert not [p.name for p in home.iterdir() if p.name.startswith((".linli-restore-", ".presence", ".media"))]

    _refusals(archive, tmp_path, settings)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_postgresql_backup_and_restore(city, tmp_path, settings):
    import psycopg
    from psycopg import sql

    _city_with_keys(city)
    home = tmp_path / "home"
    home.mkdir()
    _state_files(home, settings)
    config = connection.settings_dict
    user, password = quote(config["USER"] or "", safe=""), quote(config["PASSWORD"] or "", safe="")
    server = f"postgres://{user}:{password}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}"
    scratch, fresh_db = f"linli_backup_scratch_{os.getpid()}", f"linli_backup_fresh_{os.getpid()}"
    connections.close_all()  # a template database may have no other sessions
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        for name in (scratch, fresh_db):
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        free_template(admin, config["NAME"])
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(scratch), sql.Identifier(config["NAME"]))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(fresh_db)))
    try:
        url = f"{server}/{scratch}"
        before = _pg_snapshot(url)
        made = _linli(home, url, "backup", "--out", str(tmp_path / "linli.tar.gz"))
        assert made.returncode == 0, made.stderr
        archive = tmp_path / "linli.tar.gz"
        _check_archive(archive, "postgresql")

        fresh = tmp_path / "fresh"
        restored = _linli(fresh, f"{server}/{fresh_db}", "restore", str(archive))
        assert restored.returncode == 0, restored.stderr
        assert "warning" not in restored.stderr
        assert _pg_snapshot(f"{server}/{fresh_db}") == before
        assert _files_under(fresh / "media") == _files_under(home / "media")
        assert _files_under(fresh / "presence") == {
            k: v for k, v in _files_under(home / "presence").items() if not k.startswith(("spark", "."))
        }

        with psycopg.connect(url) as db:
            db.execute("TRUNCATE people_resident CASCADE")
            db.execute("UPDATE geo_division SET name = name || '改'")
            # as a newer schema might have: a foreign key the archive does not know, which would stop
            # pg_restore --clean dropping the table it references
            db.execute(
                "ALTER TABLE geo_division ADD CONSTRAINT newer_fk "
                "FOREIGN KEY (id) REFERENCES people_resident (id) NOT VALID"
            )
        (home / "media" / "help" / "2026" / "photo.jpg").unlink()
        forced = _linli(home, url, "restore", str(archive), "--force")
        assert forced.returncode == 0, forced.stderr
        assert _pg_snapshot(url) == before
        assert (home / "media" / "help" / "2026" / "photo.jpg").read_bytes() == PHOTO
        with psycopg.connect(url) as db:
            assert db.execute("SELECT count(*) FROM pg_constraint WHERE conname = 'newer_fk'").fetchone()[0] == 0
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            for name in (scratch, fresh_db):
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    _refusals(archive, tmp_path, settings)


# --- rules --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_freshly_migrated_database_counts_as_empty():
    """What `migrate` puts in a database by itself is no data: a restore into it needs no --force
    (a new migration that seeds a table belongs in backup.SEEDED_BY_MIGRATE)."""
    assert backup.tables_with_data() == []


def test_an_archive_older_than_the_code_is_migrated_after_restoring():
    applied = {app: sorted(n for a, n in backup.known_migrations() if a == app) for app in ("people", "core")}
    applied["people"] = applied["people"][:-1]
    manifest = {"database": {"vendor": connection.vendor}, "migrations": {"applied": applied}}
    behind = backup.check_compatible(manifest)
    assert max(n for a, n in backup.known_migrations() if a == "people") in {name for app, name in behind}


def test_the_manifest_keeps_members_inside_the_archive(tmp_path):
    def archive_with(paths: list[str]) -> Path:
        manifest = {
            "format": backup.FORMAT,
            "format_version": 1,
            "database": {"vendor": "sqlite", "path": "database/linli.sqlite3"},
            "migrations": {"applied": {}},
            "files": [{"path": p, "size": 0, "sha256": hashlib.sha256(b"").hexdigest()} for p in paths],
        }
        out = tmp_path / f"a{len(list(tmp_path.iterdir()))}.tar.gz"
        with tarfile.open(out, "w:gz") as tar:
            payload = json.dumps(manifest).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        return out

    assert backup.read_manifest(archive_with(["database/linli.sqlite3", "media/a/b.jpg"]))
    for bad in ("media/../../etc/passwd", "/etc/passwd", "home/.bashrc", "static/x.css", "media/./x", "media"):
        with pytest.raises(backup.BackupError, match="outside the archive's layout"):
            backup.read_manifest(archive_with(["database/linli.sqlite3", bad]))
    with pytest.raises(backup.BackupError, match="database is not in the file list"):
        backup.read_manifest(archive_with(["media/a.jpg"]))
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(backup.BackupError, match="not a readable Linli backup"):
        backup.read_manifest(tmp_path / "junk.tar.gz")


def test_a_missing_pg_dump_is_named(monkeypatch):
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    monkeypatch.setattr(backup, "PG_BIN_GLOBS", ())
    with pytest.raises(backup.BackupError, match=r"pg_dump is not installed.*postgresql-client"):
        backup.pg_tool("pg_dump")


def test_the_sqlite_copy_is_consistent_while_a_writer_writes(tmp_path):
    """The copy is one snapshot: a writer keeps a counter equal to its row count in every
    transaction, and the copy agrees with itself however the two interleave."""
    source = tmp_path / "live.sqlite3"
    with sqlite3.connect(source) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, payload TEXT)")
        db.execute("CREATE TABLE tally (n INTEGER)")
        db.execute("INSERT INTO tally VALUES (0)")
    stop = threading.Event()

    def write():
        db = sqlite3.connect(source, timeout=30)
        while not stop.is_set():
            with db:
                db.executemany("INSERT INTO item (payload) VALUES (?)", [("x" * 200,)] * 50)
                db.execute("UPDATE tally SET n = n + 50")
        db.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for attempt in range(5):
            copy = tmp_path / f"copy{attempt}.sqlite3"
            backup.copy_sqlite(source, copy)
            with sqlite3.connect(copy) as db:
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                assert (
                    db.execute("SELECT n FROM tally").fetchone()[0]
                    == db.execute("SELECT count(*) FROM item").fetchone()[0]
                )
            assert not copy.with_name(copy.name + "-wal").exists()
    finally:
        stop.set()
        writer.join()


def test_folders_that_would_swallow_each_other_are_refused(tmp_path, settings):
    settings.LINLI_HOME = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LINLI_PRESENCE_DIR = tmp_path / "presence"
    (tmp_path / "media").mkdir()
    with pytest.raises(backup.BackupError, match="outside the media folder"):
        backup.create_backup(tmp_path / "media" / "linli.tar.gz")
    settings.MEDIA_ROOT = tmp_path  # restored whole, it would replace the home
    with pytest.raises(backup.BackupError, match=r"LINLI_MEDIA_DIR .* contains LINLI_HOME"):
        backup.create_backup(tmp_path / "linli.tar.gz")
    assert list(tmp_path.glob("*.tar.gz")) == []
