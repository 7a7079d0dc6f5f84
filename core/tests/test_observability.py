"""Production mode's plumbing: masked structured logs, request ids, metrics, client addresses behind
a proxy, the configuration check, and jobs that survive their worker (issue #11)."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings

from core.config import TESTING_VARIABLES, VARIABLES, production_problems, unknown_variables
from core.jobs import MAX_ATTEMPTS, enqueue, job, recover_abandoned, run_job_now
from core.logs import JsonFormatter, MaskIdentifiers, mask_identifiers
from core.middleware import client_ip
from core.models import CanaryMark, Job, JobStatus
from tests_support.city import valid_id

ROOT = Path(__file__).resolve().parents[2]
ID_NUMBER = valid_id("420102", "19900101", 123)


def test_identity_and_phone_numbers_are_masked_in_any_text():
    text = f"Not Found: /people/search/?q={ID_NUMBER}&phone=13812345678 rows=123456789012345678901"
    masked = mask_identifiers(text)
    assert ID_NUMBER not in masked and "13812345678" not in masked
    assert f"{ID_NUMBER[:4]}**********{ID_NUMBER[-4:]}" in masked and "138****5678" in masked
    assert "123456789012345678901" in masked  # a longer run of digits is not an identifier


def _log_line(logger_name: str, message: str, *args, exc: BaseException | None = None) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskIdentifiers())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        if exc is None:
            logger.warning(message, *args, extra={"kind": "residents"})
        else:
            try:
                raise exc
            except type(exc):
                logger.exception(message, *args)
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue())


def test_json_log_lines_are_masked_with_their_arguments_and_tracebacks():
    entry = _log_line("django.request", "Not Found: %s", f"/people/search/?q={ID_NUMBER}")
    assert entry["level"] == "WARNING" and entry["logger"] == "django.request" and entry["kind"] == "residents"
    assert ID_NUMBER not in json.dumps(entry) and ID_NUMBER[-4:] in entry["message"]
    failed = _log_line("core.imports", "import failed", exc=ValueError(f"bad phone 13912345678 for {ID_NUMBER}"))
    assert "13912345678" not in failed["exception"] and ID_NUMBER not in failed["exception"]
    assert "ValueError" in failed["exception"]


@pytest.mark.django_db
def test_every_request_has_an_id_and_is_counted_by_route(city):
    client = Client()
    answer = client.get("/healthz", HTTP_X_REQUEST_ID="proxy-abc-12345")
    assert answer["X-Request-ID"] == "proxy-abc-12345"
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/healthz", HTTP_X_REQUEST_ID="<bad>")["X-Request-ID"])
    worker = city.staff("obs_grid", "grid_worker", city.grid("420102", 1))
    client.force_login(worker)
    person = next(iter(city.residents.values()))
    client.get(f"/people/residents/{person.pk}/")
    scraped = client.get("/metrics").content.decode()
    assert re.search(r'linli_http_requests_total\{method="GET",route="healthz",status="200"\} [1-9]', scraped)
    assert 'route="people/residents/<int:pk>/"' in scraped  # the pattern, never the id
    assert f"/{person.pk}/" not in scraped
    assert "linli_http_request_duration_seconds_bucket" in scraped and "linli_jobs_by_status" in scraped


@pytest.mark.django_db
def test_metrics_answer_only_allowed_addresses_or_the_token():
    assert Client(REMOTE_ADDR="10.9.8.7").get("/metrics").status_code == 404
    with override_settings(LINLI_METRICS_TOKEN="scrape-secret-0123456789"):
        assert Client(REMOTE_ADDR="10.9.8.7").get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
        allowed = Client(REMOTE_ADDR="10.9.8.7").get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789")
        assert allowed.status_code == 200


def test_client_address_behind_a_trusted_proxy():
    class Request:
        def __init__(self, peer: str, forwarded: str = "") -> None:
            self.META = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded}

    with override_settings(LINLI_TRUSTED_PROXIES=frozenset({"10.0.0.2"})):
        assert client_ip(Request("10.0.0.2", "203.0.113.9, 10.0.0.2")) == "203.0.113.9"
        # a client cannot choose its address by sending the header itself to an untrusted hop
        assert client_ip(Request("198.51.100.7", "203.0.113.9")) == "198.51.100.7"
        assert client_ip(Request("10.0.0.2", "1.1.1.1, 203.0.113.9")) == "203.0.113.9"


def test_configuration_check_names_every_problem_and_misspelt_variables():
    problems = {p.variable: p for p in production_problems({"LINLI_SECURE_COOKIE": "true"}, connect=False)}
    assert "did you mean LINLI_SECURE_COOKIES" in problems["LINLI_SECURE_COOKIE"].message
    for variable in ("LINLI_SECRET_KEY", "LINLI_ALLOWED_HOSTS", "LINLI_REDIS_URL"):
        assert problems[variable].fatal, variable
    assert ("LINLI_DATABASE_URL" in problems) == (settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"))
    assert not problems["LINLI_SECURE_COOKIES"].fatal
    assert unknown_variables({"LINLI_HOME": "/x", "LINLI_TEST_POSTGRES_URL": "pg", "PATH": "/bin"}) == []


def test_every_variable_the_code_reads_is_known_and_documented():
    readers = re.compile(
        r"""(?:environ(?:\.get|\.setdefault)?\(?\[?|getenv\(|_env_(?:bool|int)\()\s*["'](LINLI_[A-Z0-9_]+)"""
    )
    read = set()
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "benchmarks" in path.parts:
            continue
        read |= set(readers.findall(path.read_text(encoding="utf-8")))
    assert read - set(VARIABLES) - TESTING_VARIABLES == set(), "add these to core.config.VARIABLES and the README"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    undocumented = {name for name in VARIABLES if f"`{name}`" not in readme}
    assert undocumented == set(), "document these in the README's configuration table"


# --- jobs that outlive their worker ------------------------------------------------------------


@job("core.test_writes_then_fails")
def _writes_then_fails(marker: str) -> None:
    CanaryMark.objects.create(marker=marker)
    raise RuntimeError("after writing")


@pytest.mark.django_db
def test_a_failed_job_leaves_no_side_effect_and_a_done_job_is_not_run_again():
    failed = enqueue("core.test_writes_then_fails", marker="half")
    assert failed.status == JobStatus.FAILED and "after writing" in failed.error
    assert not CanaryMark.objects.filter(marker="half").exists()  # rolled back with the job
    done = enqueue("core.canary", marker="once")
    assert done.status == JobStatus.DONE and done.attempts == 1
    run_job_now(done.pk)  # delivered again: claimed already, not run
    assert CanaryMark.objects.filter(marker="once").count() == 1


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_retried_once_then_failed():
    process = subprocess.Popen(["true"])  # noqa: S607
    process.wait()
    dead = f"{socket.gethostname()}:{process.pid}:1"
    abandoned = Job.objects.create(name="core.canary", arguments={"marker": "died"}, status=JobStatus.RUNNING)
    Job.objects.filter(pk=abandoned.pk).update(worker=dead, attempts=1)
    alive = Job.objects.create(name="core.canary", arguments={"marker": "alive"}, status=JobStatus.RUNNING)
    Job.objects.filter(pk=alive.pk).update(worker=f"{socket.gethostname()}:1:", attempts=1)  # pid 1 lives

    outcome = recover_abandoned()
    assert outcome == {"retried": [abandoned.pk], "failed": []}
    abandoned.refresh_from_db()
    assert abandoned.status == JobStatus.DONE and abandoned.attempts == 2  # jobs run immediately in tests
    assert CanaryMark.objects.filter(marker="died").count() == 1
    assert Job.objects.get(pk=alive.pk).status == JobStatus.RUNNING

    Job.objects.filter(pk=abandoned.pk).update(status=JobStatus.RUNNING, worker=dead, attempts=MAX_ATTEMPTS)
    assert recover_abandoned() == {"retried": [], "failed": [abandoned.pk]}
    abandoned.refresh_from_db()
    assert abandoned.status == JobStatus.FAILED and "not retried again" in abandoned.error


def test_settings_log_configuration_masks_every_handler():
    for handler in settings.LOGGING["handlers"].values():
        assert "mask" in handler["filters"]


@pytest.mark.django_db
def test_sign_in_attempts_are_kept_for_the_retention_period_then_deleted():
    import datetime as dt

    from django.utils import timezone

    from core.models import LoginAttempt

    now = timezone.now()
    LoginAttempt.objects.create(username="old", ip="10.0.0.1", succeeded=False, at=now - dt.timedelta(days=181))
    LoginAttempt.objects.create(username="kept", ip="10.0.0.1", succeeded=False, at=now - dt.timedelta(days=179))
    done = enqueue("core.prune_login_attempts")
    assert done.status == JobStatus.DONE and done.result == 1
    assert list(LoginAttempt.objects.values_list("username", flat=True)) == ["kept"]
