"""Real servers for production-mode tests: a private PostgreSQL instance (so a test may restart it
without touching the shared one), ``linli`` commands and ``linli serve`` as subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINLI = ROOT / ".venv" / "bin" / "linli"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian layout), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on its own port, trusted on loopback. initdb refuses to run
    as root, so as root the cluster belongs to the ``postgres`` account."""

    def __init__(self) -> None:
        binaries = postgres_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL server binaries are not installed")
        self.bin = binaries
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="linli-pg-"))
        self.data = self.folder / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *argv: str) -> None:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)  # noqa: S603

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def restart(self) -> None:
        """A fast restart: open connections are cut, as when the server crashes or is upgraded."""
        # with its log file again: otherwise the new server would hold this call's output pipe open
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-l", str(self.folder / "log"), "-w", "restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def linli(env: dict[str, str], *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """Run a ``linli`` command with ``env`` laid over a clean copy of the environment."""
    return subprocess.run(  # noqa: S603 - our own command
        [str(LINLI), *args], env=env, capture_output=True, text=True, timeout=timeout, check=check, cwd=ROOT
    )


def python(env: dict[str, str], script: str, timeout: float = 120) -> str:
    """Run ``script`` with Django set up by the script itself, in a fresh interpreter of this
    checkout against ``env``'s database; its standard output."""
    return subprocess.run(  # noqa: S603 - this checkout's interpreter, our script
        [str(ROOT / ".venv" / "bin" / "python"), "-c", script],
        env=env | {"DJANGO_SETTINGS_MODULE": "linli.settings", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
        cwd=ROOT,
    ).stdout.strip()


def clean_environment(**overrides: str) -> dict[str, str]:
    """This process's environment without Linli's own variables (the test run's database, home and
    settings must not leak into a server under test), plus ``overrides``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_", "DJANGO_", "PROMETHEUS_"))}
    return base | overrides


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is an answer the test looks at
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 5) -> tuple[int, dict, bytes]:
    """GET without following redirects: (status, headers with lower-case names, body)."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback URLs of the test
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def post_json(url: str, body: dict, key: str, timeout: float = 5) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - loopback URLs of the test
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw or b"{}")
        except ValueError:
            return error.code, {"raw": raw.decode(errors="replace")[:200]}


@contextlib.contextmanager
def process(env: dict[str, str], *args: str, log: Path) -> Iterator[subprocess.Popen]:
    """A long-running ``linli`` command (serve, run_huey) in its own process group, its output in
    ``log``; killed with its children on exit."""
    with open(log, "ab") as out:
        child = subprocess.Popen(  # noqa: S603 - our own command
            [str(LINLI), *args], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
    try:
        yield child
    finally:
        stop_group(child)


def stop_group(child: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, sig)
    try:
        child.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)


def wait_until_ready(base: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            status, _headers, body = get(f"{base}/readyz", timeout=2)
            last = body
            if status == 200:
                return json.loads(body)
        except OSError as error:
            last = error
        time.sleep(0.3)
    raise TimeoutError(f"{base} not ready: {last!r}")


def free_template(admin, database: str) -> None:
    """End the other sessions of ``database`` so that it can be a CREATE DATABASE … TEMPLATE:
    connections left by threads of earlier tests in this process (whose threads are gone) would
    otherwise refuse the copy. ``admin`` is a psycopg connection to another database."""
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [database],
    )
