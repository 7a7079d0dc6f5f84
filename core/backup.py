"""Backups of a Linli installation: one archive with the database and the files that are state (issue #11).

An archive is a gzip-compressed tar file whose first member is ``manifest.json``: the Linli and Django
versions, when it was made, the database vendor, the migrations applied to the database copied (and
their heads per app), a fingerprint of the secret key, and every other member with its size and
SHA-256. The members are:

- ``database/linli.sqlite3``: an online copy through SQLite's backup API (a consistent snapshot
  taken in one step; in WAL mode the server's writers go on meanwhile), or
  ``database/linli.pgdump``: ``pg_dump --format=custom`` (one consistent snapshot too), credentials
  passed in the environment (``PGPASSWORD``), never on the command line;
- ``presence/…``: the presence store (``LINLI_PRESENCE_DIR``): the DuckDB file, copied while holding
  DuckDB's own read lock so no writer changes it mid-copy, and the published tracing index; not the
  Spark Parquet exports (a cache rebuilt on demand) nor unfinished scratch folders;
- ``media/…``: uploads (``LINLI_MEDIA_DIR``);
- ``home/…``: the files in ``LINLI_HOME`` that are state: the generated secret key (the health-code
  signing keys live in the database, sealed with it: healthcode.keys), the city's own linkage model
  and the demo logins. Not the Huey queue file (pending background jobs; the jobs staff see are
  database rows), collected static files or report outputs.

The presence store is copied before the database: the store keeps the id of the last gate check it
took in (gates.presence), so it must never be ahead of the database it is restored beside.

A restore checks everything it can before it changes anything: the manifest, the database vendor
(an archive is restored only into the vendor it came from), that the code knows every migration in
it, that the target database holds no data (unless forced) and every member's size and checksum.
Then it replaces the database (SQLite: through the backup API again, so even an open database is
swapped whole; PostgreSQL: ``pg_restore --clean --if-exists --no-owner --single-transaction``) and
the folders, and runs ``migrate`` when the archive is older than the code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import django
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

FORMAT = "linli-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
COMPRESS_LEVEL = 1  # gzip: three times as fast as level 6 for ~10% more bytes (demo database: 50 against 45 MB)
CHUNK = 1024 * 1024
DATABASE_FILES = {"sqlite": "database/linli.sqlite3", "postgresql": "database/linli.pgdump"}
VENDOR_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# files in LINLI_HOME that are state (see the module docstring for what is left out, and why)
HOME_FILES = ("secret_key", "linkage_model.json", "demo-logins.json")
FOLDERS = ("presence", "media")
PRESENCE_DATABASE = "presence.duckdb"
PRESENCE_CURRENT = "CURRENT"  # names the published index folder (tracing.index)
PRESENCE_CACHES = ("spark",)  # Parquet exports for the Spark engine, rebuilt from the store on demand
# where pg_dump and pg_restore are looked for when they are not on PATH (Debian, Red Hat)
PG_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin")
# Tables `migrate` fills by itself: a database whose only rows are in these holds no data of its own
# (core.tests.test_backup checks a freshly migrated database against this list).
SEEDED_BY_MIGRATE = frozenset({"django_migrations", "django_content_type", "auth_permission", "workforce_course"})


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


Log = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    seconds: float

    @property
    def size(self) -> int:
        return self.path.stat().st_size


@dataclass
class RestoreResult:
    manifest: dict
    seconds: float
    migrations_applied: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- where the state is -----------------------------------------------------------------------------


def vendor() -> str:
    return connections[DEFAULT_DB_ALIAS].vendor


def _sqlite_path() -> Path:
    return Path(settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"]).resolve()


def folders() -> dict[str, Path]:
    return {
        "presence": Path(settings.LINLI_PRESENCE_DIR).resolve(),
        "media": Path(settings.MEDIA_ROOT).resolve(),
    }


def _check_layout() -> None:
    """A folder that is backed up and restored whole must not hold the home, the database or the other."""
    home = Path(settings.LINLI_HOME).resolve()
    guarded = {"LINLI_HOME": home}
    if vendor() == "sqlite":
        guarded["the SQLite database"] = _sqlite_path()
    roots = folders()
    for name, root in roots.items():
        others = {**guarded, **{f"the {o} folder": p for o, p in roots.items() if o != name}}
        for label, other in others.items():
            if other == root or root in other.parents:
                variable = "LINLI_PRESENCE_DIR" if name == "presence" else "LINLI_MEDIA_DIR"
                raise BackupError(f"{variable} ({root}) contains {label} ({other}); give it a folder of its own")


# --- files: copy, hash, place -------------------------------------------------------------------------


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stage_file(source: Path, staging: Path, member: str, *, link: bool = False) -> dict:
    """Put ``source`` at ``staging/member`` (a hard link where allowed: uploads are written once and
    never changed in place) and describe it for the manifest."""
    target = staging / member
    target.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(source, target)
        except OSError:  # another file system, or links not allowed: copy
            shutil.copyfile(source, target)
    else:
        shutil.copyfile(source, target)
    return {"path": member, "size": target.stat().st_size, "sha256": _sha256_of(target)}


def _walk(root: Path, skip: Callable[[Path], bool] = lambda path: False) -> Iterator[Path]:
    """Regular files under ``root`` (symbolic links are not followed), in a stable order."""
    for folder, dirnames, filenames in os.walk(root):
        base = Path(folder)
        dirnames[:] = sorted(d for d in dirnames if not skip(base / d) and not (base / d).is_symlink())
        for name in sorted(filenames):
            path = base / name
            if not skip(path) and path.is_file() and not path.is_symlink():
                yield path


def _member(folder: str, root: Path, path: Path) -> str:
    return str(PurePosixPath(folder, *path.relative_to(root).parts))


# --- the presence store -----------------------------------------------------------------------------


@contextlib.contextmanager
def _presence_read_lock(database: Path, wait_seconds: float, log: Log) -> Iterator[object]:
    """DuckDB's shared lock on the store: no writer (a scans import, the gate-check push) can change
    the file while it is held. A writer holding it is waited for, up to ``wait_seconds``."""
    import duckdb

    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            con = duckdb.connect(str(database), read_only=True)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise BackupError(f"cannot read the presence store {database}: {error}") from error
            if time.monotonic() >= deadline:
                raise BackupError(
                    f"the presence store {database} was being written for more than {wait_seconds:.0f} s "
                    "(a scans import?); try again later or give --wait more seconds"
                ) from error
            if not told:
                log("waiting for the presence store's writer to finish…")
                told = True
            time.sleep(0.5)
    try:
        yield con
    finally:
        con.close()


def _stage_presence(staging: Path, wait_seconds: float, log: Log) -> tuple[list[dict], list[str]]:
    root = folders()["presence"]
    if not root.is_dir():
        return [], []
    entries: list[dict] = []
    warnings: list[str] = []
    database = root / PRESENCE_DATABASE
    index_folder: str | None = None
    store_version = index_version = None
    with contextlib.ExitStack() as stack:
        if database.exists():
            con = stack.enter_context(_presence_read_lock(database, wait_seconds, log))
            for suffix in ("", ".wal"):  # the write-ahead log too, if a writer left one
                path = database.with_name(database.name + suffix)
                if path.exists():
                    entries.append(_stage_file(path, staging, _member("presence", root, path)))
            with contextlib.suppress(Exception):  # a store without the meta table has version 0
                rows = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchall()
                store_version = int(rows[0][0]) if rows else 0
        # the published index: CURRENT names its folder, which never changes once published
        current = root / PRESENCE_CURRENT
        if current.is_file():
            try:
                published = json.loads(current.read_text())
                index_folder, index_version = str(published["directory"]), int(published["version"])
            except (ValueError, KeyError, TypeError) as error:
                raise BackupError(f"the presence index pointer {current} is unreadable: {error}") from error
            entries.append(_stage_file(current, staging, _member("presence", root, current)))
    if store_version is not None and index_version is not None and store_version != index_version:
        warnings.append(
            f"the presence index (version {index_version}) is behind the presence store (version {store_version}): "
            "a scans import was publishing; the next import or gate-check push publishes it again"
        )

    def skip(path: Path) -> bool:
        relative = path.relative_to(root)
        top = relative.parts[0]
        if top.startswith(".") or top in PRESENCE_CACHES or path.suffix == ".tmp":
            return True  # scratch folders, half-written pointers, caches
        if top == PRESENCE_CURRENT or top.startswith(PRESENCE_DATABASE):
            return True  # staged above, under the lock
        # older published indexes are kept only for readers still on them
        return top.startswith("index-") and top != index_folder

    for path in _walk(root, skip):
        entries.append(_stage_file(path, staging, _member("presence", root, path), link=True))
    return entries, warnings


# --- databases --------------------------------------------------------------------------------------


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database through the backup API, in one step: a single
    read transaction (WAL lets writers go on), written as one self-contained file."""
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # no -wal beside the copy: one file is the database
    finally:
        dst.close()
        src.close()


def pg_tool(name: str) -> str:
    """The path of a PostgreSQL client program (pg_dump, pg_restore): PATH first, then the versioned
    folders Debian and Red Hat install them in, newest first."""
    found = shutil.which(name)
    if found:
        return found
    candidates = [path for pattern in PG_BIN_GLOBS for path in Path("/").glob(f"{pattern.lstrip('/')}/{name}")]

    def major(path: Path) -> int:
        digits = re.sub(r"\D", "", path.parent.parent.name)
        return int(digits or 0)

    for candidate in sorted(candidates, key=major, reverse=True):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    raise BackupError(
        f"{name} is not installed: PostgreSQL backups need the PostgreSQL client programs "
        "(apt-get install postgresql-client; the same major version as the server or newer)"
    )


def _pg_environment(options_extra: str = "") -> dict[str, str]:
    """libpq's variables for the configured database: the password travels here, not in argv. Other
    PG* variables are inherited, as Django's own connection (libpq too) sees them."""
    config = settings.DATABASES[DEFAULT_DB_ALIAS]
    environment = dict(os.environ)
    values = {
        "PGHOST": config.get("HOST"),
        "PGPORT": config.get("PORT"),
        "PGUSER": config.get("USER"),
        "PGPASSWORD": config.get("PASSWORD"),
        "PGDATABASE": config.get("NAME"),
    }
    options = config.get("OPTIONS") or {}
    for option, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
        ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ):
        values[variable] = options.get(option)
    environment.update({k: str(v) for k, v in values.items() if v not in (None, "")})
    environment.setdefault("PGCONNECT_TIMEOUT", "10")
    environment["PGAPPNAME"] = "linli backup"
    if options_extra:
        environment["PGOPTIONS"] = f"{environment.get('PGOPTIONS', '')} {options_extra}".strip()
    return environment


def _run_pg(argv: list[str], what: str, options_extra: str = "") -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(  # noqa: S603 - a PostgreSQL client program with arguments we build
            argv, env=_pg_environment(options_extra), capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise BackupError(f"cannot run {argv[0]}: {error}") from error
    if done.returncode != 0:
        detail = "\n".join(done.stderr.strip().splitlines()[-20:])
        raise BackupError(f"{what} failed (exit code {done.returncode}):\n{detail}")
    return done


def _applied_by_connection() -> dict[str, list[str]]:
    connection = connections[DEFAULT_DB_ALIAS]
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return {}
    return _by_app(recorder.applied_migrations())


def _by_app(keys) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in keys:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def _stage_database(staging: Path, log: Log) -> tuple[dict, dict[str, list[str]], str]:
    """The database's copy in ``staging``; its manifest entry, its applied migrations, its server version."""
    kind = vendor()
    member = DATABASE_FILES[kind]
    target = staging / member
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        source = _sqlite_path()
        if not source.exists():
            raise BackupError(f"there is no database at {source}; run `linli migrate` first")
        log(f"copying the SQLite database {source}…")
        copy_sqlite(source, target)
        with contextlib.closing(sqlite3.connect(str(target))) as copy:
            try:
                rows = copy.execute("SELECT app, name FROM django_migrations").fetchall()
            except sqlite3.OperationalError:
                rows = []
        applied = _by_app(rows)
        server = sqlite3.sqlite_version
    else:
        pg_dump = pg_tool("pg_dump")
        applied = _applied_by_connection()
        connection = connections[DEFAULT_DB_ALIAS]
        server = str(connection.pg_version)
        log(f"dumping the PostgreSQL database {settings.DATABASES[DEFAULT_DB_ALIAS]['NAME']}…")
        # uncompressed: the archive compresses everything once; a lock wait has a limit, not forever
        _run_pg(
            [
                pg_dump,
                "--format=custom",
                "--compress=0",
                "--no-password",
                "--lock-wait-timeout=60s",
                f"--file={target}",
            ],
            "pg_dump",
        )
        if _applied_by_connection() != applied:
            raise BackupError("migrations were applied while the backup ran; run the backup again")
    if not applied:
        raise BackupError("the database has no Linli tables (no migration applied); there is nothing to back up")
    return {"path": member, "size": target.stat().st_size, "sha256": _sha256_of(target)}, applied, server


def _heads(applied: dict[str, list[str]]) -> dict[str, list[str]]:
    """Per app, the applied migrations no other applied migration of the app builds on."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    heads = {}
    for app, names in applied.items():
        present = set(names)
        tops = []
        for name in names:
            node = graph.node_map.get((app, name))
            children = {child[1] for child in node.children if child[0] == app} if node else set()
            if not children & present:
                tops.append(name)
        heads[app] = tops
    return heads


def secret_fingerprint(secret: str) -> str:
    """Tells whether two installations share a secret key, without showing it."""
    return hashlib.sha256(b"linli-backup-secret-key:" + secret.encode()).hexdigest()[:16]


def _linli_version() -> str:
    try:
        return importlib.metadata.version("linli")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --- backup -----------------------------------------------------------------------------------------


def default_archive_name(now: dt.datetime | None = None) -> str:
    now = (now or timezone.now()).astimezone(dt.UTC)
    return f"linli-backup-{now:%Y%m%dT%H%M%SZ}.tar.gz"


def create_backup(out: Path | str | None = None, *, wait_seconds: float = 600, log: Log = _quiet) -> BackupResult:
    """Write one archive of this installation to ``out`` (a file, or a folder for a new archive)."""
    started = time.monotonic()
    _check_layout()
    if vendor() == "postgresql":
        pg_tool("pg_dump")  # fail before any work when it is missing
    path = Path(out) if out else Path.cwd()
    if path.is_dir():
        path = path / default_archive_name()
    path = path.resolve()
    if not path.parent.is_dir():
        raise BackupError(f"the folder {path.parent} does not exist")
    for name, root in folders().items():
        if path.parent == root or root in path.parent.parents:
            raise BackupError(f"write the archive outside the {name} folder ({root}), which it backs up")
    # staged copies beside the archive, not in /tmp: they are as large as the database and the store
    staging = Path(tempfile.mkdtemp(prefix=".linli-backup-", dir=path.parent))
    try:
        log("copying the presence store…")
        entries, warnings = _stage_presence(staging, wait_seconds, log)
        media = folders()["media"]
        if media.is_dir():
            log("copying the uploads…")
            entries += [_stage_file(p, staging, _member("media", media, p), link=True) for p in _walk(media)]
        home = Path(settings.LINLI_HOME)
        secret_file = home / "secret_key"
        from_file = secret_file.is_file() and secret_file.read_text().strip() == settings.SECRET_KEY
        kept = [n for n in HOME_FILES if (home / n).is_file() and (n != "secret_key" or from_file)]
        entries += [_stage_file(home / name, staging, f"home/{name}") for name in kept]
        database, applied, server = _stage_database(staging, log)
        if not from_file:
            warnings.append(
                "the secret key comes from LINLI_SECRET_KEY, not a file, so it is not in the archive: keep it; "
                "the health-code signing keys in the database are sealed with it"
            )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "linli_version": _linli_version(),
            "django_version": django.get_version(),
            "created_at": timezone.now().astimezone(dt.UTC).isoformat(),
            "host": socket.gethostname(),
            "database": {"vendor": vendor(), "server_version": server, "path": database["path"]},
            "migrations": {"heads": _heads(applied), "applied": applied},
            "secret_key": {"in_archive": from_file, "fingerprint": secret_fingerprint(settings.SECRET_KEY)},
            "folders": {name: str(root) for name, root in folders().items()} | {"home": str(home.resolve())},
            "files": [database, *entries],
            "warnings": warnings,
        }
        log(f"writing {path}…")
        _write_archive(path, staging, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BackupResult(path=path, manifest=manifest, seconds=time.monotonic() - started)


def _write_archive(path: Path, staging: Path, manifest: dict) -> None:
    """The tar file, written to a temporary name beside ``path`` and renamed over it when complete;
    owner-only (0600) from the start: it holds personal data and the secret key."""
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    mtime = int(time.time())
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=COMPRESS_LEVEL, format=tarfile.PAX_FORMAT) as tar:
                payload = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                tar.addfile(_tarinfo(MANIFEST, len(payload), mtime), io.BytesIO(payload))
                for entry in manifest["files"]:
                    with (staging / entry["path"]).open("rb") as handle:
                        tar.addfile(_tarinfo(entry["path"], entry["size"], mtime), handle)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    _fsync_folder(path.parent)


def _tarinfo(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o600
    return info


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- reading and checking an archive ----------------------------------------------------------------


@contextlib.contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(path, mode="r|gz") as tar:
            yield tar
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise BackupError(f"no such file: {path}") from error
        raise BackupError(f"{path} is not a readable Linli backup (damaged or not a .tar.gz): {error}") from error


def _read_manifest_member(tar: tarfile.TarFile, path: Path) -> bytes:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isreg():
        raise BackupError(f"{path} is not a Linli backup: it does not start with {MANIFEST}")
    if first.size > MAX_MANIFEST_BYTES:
        raise BackupError(f"{path}: the manifest is implausibly large ({first.size} bytes)")
    handle = tar.extractfile(first)
    assert handle is not None  # a regular member
    return handle.read()


def read_manifest(path: Path | str) -> dict:
    """The archive's manifest, checked for shape (its members' checksums are checked by ``unpack``)."""
    path = Path(path)
    with _open_archive(path) as tar:
        payload = _read_manifest_member(tar, path)
    return _parse_manifest(payload, path)


def _parse_manifest(payload: bytes, path: Path) -> dict:
    try:
        manifest = json.loads(payload)
    except ValueError as error:
        raise BackupError(f"{path}: the manifest is not JSON: {error}") from error

    def bad(why: str) -> BackupError:
        return BackupError(f"{path}: the manifest is not valid ({why}); the archive is damaged or was altered")

    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise bad("not a Linli backup manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise bad("no format version")
    if version > FORMAT_VERSION:
        raise BackupError(
            f"{path} was written by a newer Linli ({manifest.get('linli_version')}, archive format {version}); "
            "upgrade Linli to restore it"
        )
    database = manifest.get("database")
    if not isinstance(database, dict) or database.get("vendor") not in DATABASE_FILES:
        raise bad("unknown database vendor")
    if database.get("path") != DATABASE_FILES[database["vendor"]]:
        raise bad("unexpected database member")
    migrations = manifest.get("migrations")
    applied = migrations.get("applied") if isinstance(migrations, dict) else None
    if not isinstance(applied, dict) or not all(
        isinstance(app, str) and isinstance(names, list) and all(isinstance(n, str) for n in names)
        for app, names in applied.items()
    ):
        raise bad("no list of applied migrations")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise bad("no file list")
    seen = set()
    for entry in files:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("size"), int)
            and entry["size"] >= 0
            and isinstance(entry.get("sha256"), str)
            and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
        ):
            raise bad(f"a malformed file entry: {entry!r:.200}")
        member = entry["path"]
        if not _allowed_member(member, database["path"]) or member in seen:
            raise bad(f"a file outside the archive's layout or listed twice: {member!r:.200}")
        seen.add(member)
    if database["path"] not in seen:
        raise bad("the database is not in the file list")
    return manifest


def _allowed_member(member: str, database_member: str) -> bool:
    """Only relative paths under the archive's own folders; nothing that could climb out of them."""
    if "\\" in member or "\x00" in member or member.startswith("/"):
        return False
    parts = PurePosixPath(member).parts
    if not parts or any(part in ("", ".", "..") for part in parts) or "/".join(parts) != member:
        return False
    if parts[0] == "database":
        return member == database_member
    if parts[0] == "home":
        return len(parts) == 2 and parts[1] in HOME_FILES
    return parts[0] in FOLDERS and len(parts) >= 2


def unpack(path: Path | str, staging: Path, manifest: dict | None = None) -> dict:
    """Extract the archive's members into ``staging``, checking each against the manifest: the exact
    set of files, each of its size and SHA-256. Raises BackupError at the first difference."""
    path = Path(path)
    with _open_archive(path) as tar:
        payload = _read_manifest_member(tar, path)
        found = _parse_manifest(payload, path)
        if manifest is not None and found != manifest:
            raise BackupError(f"{path} changed while it was being read")
        expected = {entry["path"]: entry for entry in found["files"]}
        seen: set[str] = set()
        while (member := tar.next()) is not None:  # a stream: iterating again would start at the manifest
            entry = expected.get(member.name)
            if entry is None or member.name in seen:
                raise BackupError(
                    f"{path} holds a member its manifest does not list ({member.name!r:.200}); "
                    "the archive is damaged or was altered, nothing was restored"
                )
            if not member.isreg():
                raise BackupError(f"{path}: {member.name} is not a regular file; nothing was restored")
            seen.add(member.name)
            handle = tar.extractfile(member)
            assert handle is not None  # a regular member
            target = staging / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest, size = hashlib.sha256(), 0
            with open(target, "xb") as out:  # exclusive: nothing is overwritten
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
                raise BackupError(
                    f"{path}: the checksum of {member.name} does not match its manifest; "
                    "the archive is damaged or was altered, nothing was restored"
                )
        missing = sorted(set(expected) - seen)
        if missing:
            raise BackupError(f"{path} is incomplete: {', '.join(missing[:5])} missing; nothing was restored")
    return found


def known_migrations(loader: MigrationLoader | None = None) -> set[tuple[str, str]]:
    """Every migration this code has, and every one its squashed migrations replace."""
    loader = loader or MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(tuple(key) for key in migration.replaces or ())
    return known


def check_compatible(manifest: dict) -> list[tuple[str, str]]:
    """Refuse an archive of another vendor or from newer code; the migrations the code has beyond it."""
    archive_vendor, here = manifest["database"]["vendor"], vendor()
    if archive_vendor != here:
        raise BackupError(
            f"this archive holds a {VENDOR_NAMES[archive_vendor]} database and the configured database is "
            f"{VENDOR_NAMES[here]}: restoring across database vendors is not supported. Restore it into a "
            f"{VENDOR_NAMES[archive_vendor]} installation (LINLI_DATABASE_URL), or move the data with "
            "`linli dumpdata` / `linli loaddata`"
        )
    applied = {(app, name) for app, names in manifest["migrations"]["applied"].items() for name in names}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = known_migrations(loader)
    unknown = sorted(applied - known)
    if unknown:
        listed = ", ".join(f"{app}.{name}" for app, name in unknown[:8]) + (" …" if len(unknown) > 8 else "")
        raise BackupError(
            f"this archive comes from newer code (Linli {manifest.get('linli_version')}): its database has "
            f"{len(unknown)} migration(s) this code does not know ({listed}). Upgrade Linli to that version "
            "or later, then restore"
        )
    return sorted(key for key in loader.graph.leaf_nodes() if key not in applied)


def tables_with_data() -> list[str]:
    """Tables of the configured database holding rows `migrate` did not put there (empty: none)."""
    connection = connections[DEFAULT_DB_ALIAS]
    holding = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor, include_views=False):
            if table in SEEDED_BY_MIGRATE or table.startswith("sqlite_"):
                continue
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
            if cursor.fetchone() is not None:
                holding.append(table)
    return holding


# --- restore ----------------------------------------------------------------------------------------


def restore_backup(path: Path | str, *, force: bool = False, log: Log = _quiet) -> RestoreResult:
    """Restore an archive over this installation (see the module docstring for the checks first)."""
    started = time.monotonic()
    path = Path(path)
    _check_layout()
    manifest = read_manifest(path)
    behind = check_compatible(manifest)
    if manifest["database"]["vendor"] == "postgresql":
        pg_tool("pg_restore")
    if not force:
        holding = tables_with_data()
        if holding:
            shown = ", ".join(holding[:5]) + (" …" if len(holding) > 5 else "")
            raise BackupError(
                f"the configured database is not empty ({len(holding)} tables hold data: {shown}); a restore "
                "replaces everything in it. Run again with --force to replace it"
            )
    if behind:
        log(f"the archive is older than this code: {len(behind)} app(s) will be migrated after the restore")
    home = Path(settings.LINLI_HOME)
    home.mkdir(parents=True, exist_ok=True)
    secret_file = home / "secret_key"
    secret_from_file = secret_file.is_file() and secret_file.read_text().strip() == settings.SECRET_KEY
    staging = Path(tempfile.mkdtemp(prefix=".linli-restore-", dir=home))
    try:
        log(f"checking {path}…")
        unpack(path, staging, manifest)
        log("restoring the database…")
        _restore_database(manifest, staging, log)
        log("restoring the files…")
        _restore_folders(staging)
        _restore_home_files(staging, home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result = RestoreResult(manifest=manifest, seconds=0.0)
    result.migrations_applied = _migrate_if_behind(log)
    secret_now = secret_file.read_text().strip() if secret_from_file and secret_file.is_file() else settings.SECRET_KEY
    if secret_fingerprint(secret_now) != manifest.get("secret_key", {}).get("fingerprint"):
        result.warnings.append(
            "the secret key differs from the backed-up installation's: sessions end, and the health-code signing "
            "keys in the database cannot be unsealed. Set LINLI_SECRET_KEY to the old key, or make a new signing "
            "key with `linli healthcode_keys --rotate`"
        )
    result.seconds = time.monotonic() - started
    return result


def _restore_database(manifest: dict, staging: Path, log: Log) -> None:
    copy = staging / manifest["database"]["path"]
    connections.close_all()
    if manifest["database"]["vendor"] == "sqlite":
        _restore_sqlite(copy, _sqlite_path())
    else:
        _restore_postgresql(copy, log)
    connections.close_all()


def _restore_sqlite(copy: Path, target: Path) -> None:
    """Write the copy into the configured database through the backup API: one write transaction,
    so even a database other processes have open changes whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(str(copy))
    dst = sqlite3.connect(str(target), timeout=30)
    try:
        source_page = src.execute("PRAGMA page_size").fetchone()[0]
        target_page = dst.execute("PRAGMA page_size").fetchone()[0]
        if source_page != target_page and dst.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            dst.execute("PRAGMA journal_mode=DELETE")  # WAL cannot change page size; Linli turns WAL on again
        src.backup(dst)
    except sqlite3.Error as error:
        raise BackupError(f"cannot write the SQLite database {target}: {error}") from error
    finally:
        dst.close()
        src.close()


_TOC_TABLE = re.compile(r"^\d+;\s+\d+\s+\d+\s+TABLE\s+(\S+)\s+(\S+)\s")
_TOC_FOREIGN_KEY = re.compile(r"^\d+;\s+\d+\s+\d+\s+FK CONSTRAINT\s+(\S+)\s+(\S+)\s+(\S+)\s")


def _restore_postgresql(dump: Path, log: Log) -> None:
    pg_restore = pg_tool("pg_restore")
    listing = _run_pg([pg_restore, "--list", str(dump)], "pg_restore --list").stdout.splitlines()
    tables = {match.group(2) for line in listing if (match := _TOC_TABLE.match(line))}
    foreign_keys = {(match.group(2), match.group(3)) for line in listing if (match := _TOC_FOREIGN_KEY.match(line))}
    # pg_restore --clean drops only what the archive holds. What a newer schema than the archive's has
    # besides (tables; foreign keys between the archive's tables, which would stop it dropping the
    # referenced table) goes first, or the restore would fail and `migrate` find it in its way.
    connection = connections[DEFAULT_DB_ALIAS]
    ours = set(connection.introspection.django_table_names(only_existing=True)) | {"django_migrations"}
    with transaction.atomic(), connection.cursor() as cursor:
        extra_tables = sorted(ours - tables)
        cursor.execute(
            "SELECT cl.relname, con.conname FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid "
            "WHERE con.contype = 'f' AND cl.relnamespace = current_schema()::regnamespace"
        )
        extra_keys = sorted(
            (table, name)
            for table, name in cursor.fetchall()
            if table in ours and table not in extra_tables and (table, name) not in foreign_keys
        )
        if extra_tables or extra_keys:
            log(f"dropping {len(extra_tables)} table(s) and {len(extra_keys)} foreign key(s) the archive does not have")
        quote = connection.ops.quote_name
        for table in extra_tables:
            cursor.execute(f"DROP TABLE IF EXISTS {quote(table)} CASCADE")
        for table, name in extra_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT IF EXISTS {quote(name)}")
    connections.close_all()
    name = settings.DATABASES[DEFAULT_DB_ALIAS]["NAME"]
    _run_pg(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--no-password",
            f"--dbname={name}",
            str(dump),
        ],
        "pg_restore (in one transaction: nothing it did was kept)",
        options_extra="-c lock_timeout=120s",  # a session still holding a table fails the restore, not hangs it
    )


def _restore_folders(staging: Path) -> None:
    """Each folder becomes the archive's (empty when the archive has none of it): moved into place
    beside the old one, which is removed once the new one stands."""
    for name, target in folders().items():
        staged = staging / name
        staged.mkdir(parents=True, exist_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        tag = f"{os.getpid()}-{time.monotonic_ns()}"
        incoming = target.with_name(f".{target.name}.restoring-{tag}")
        outgoing = target.with_name(f".{target.name}.replaced-{tag}")
        shutil.move(str(staged), str(incoming))  # a rename on one file system, a copy across two
        if target.exists():
            os.replace(target, outgoing)
        os.replace(incoming, target)
        shutil.rmtree(outgoing, ignore_errors=True)


def _restore_home_files(staging: Path, home: Path) -> None:
    for name in HOME_FILES:
        staged, target = staging / "home" / name, home / name
        if staged.is_file():
            staged.chmod(0o600)
            os.replace(staged, target)
        elif name != "secret_key":  # a secret key not in the archive came from LINLI_SECRET_KEY: keep ours
            target.unlink(missing_ok=True)


def _migrate_if_behind(log: Log) -> list[str]:
    from django.core.management import call_command

    connections.close_all()
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        return []
    log(f"applying {len(plan)} migration(s) the archive predates…")
    call_command("migrate", interactive=False, verbosity=0)
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
