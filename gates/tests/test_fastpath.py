"""The fast path in front of Django answers exactly like the documented API, and group commit
records every concurrent request's checks once."""

from __future__ import annotations

import io
import json
import threading
import uuid

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from core.models import ApiToken, ReadLog
from gates.batching import CheckBatcher
from gates.models import GateCheck
from gates.services import ensure_gate
from healthcode.services import code_for, mint
from linli.fastpath import FastPath

APP = FastPath(get_wsgi_application())


def call(path: str, body, token: str | None = None, ip: str = "10.1.2.3") -> tuple[str, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": ip,
        "wsgi.errors": io.StringIO(),
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    answer = {}

    def start_response(status, headers):
        answer["status"] = status

    # as django.test.Client does: the handler's signals must not close the test's connection
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(APP(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], json.loads(content) if content else {}


@pytest.fixture
def device(city):
    compound = next(iter(city.compounds.values()))
    gate = ensure_gate(compound, code="G-FAST", name="北门")
    person = next(r for r in city.residents.values() if r.compound_id == compound.pk)
    user = city.staff("gate-device", "grid_worker", person.grid)
    _, key = ApiToken.issue(user, "gate phone")
    return gate, person, key


def record(gate, person) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "gate": gate.code,
        "token": mint(code_for(person))[0],
        "direction": "in",
        "identity_checked": True,
        "temperature": 36.4,
        "mask": True,
    }


@pytest.mark.django_db
def test_verify_answers_like_the_api(device, client):
    _gate, person, key = device
    token = mint(code_for(person))[0]
    status, fast = call("/api/healthcode/verify", {"token": token}, key)
    slow = client.post(
        "/api/healthcode/verify", {"token": token}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    ).json()
    assert status == "200 OK" and fast == slow and fast["verdict"] == "valid"


@pytest.mark.django_db
def test_checks_are_recorded_once_and_anything_else_goes_to_django(device):
    gate, person, key = device
    item = record(gate, person)
    status, first = call("/api/gates/checks", {"checks": [item]}, key)
    assert status == "200 OK" and first["results"][0]["status"] == "recorded"
    assert call("/api/gates/checks", {"checks": [item]}, key)[1]["results"][0]["status"] == "duplicate"
    assert GateCheck.objects.count() == 1
    # the read is the device's, from its address, even though the write may run in the batcher's thread
    reads = ReadLog.objects.filter(object_id=person.pk, action="gate")  # the record and its resend
    assert {(r.user.username, r.ip, r.path) for r in reads} == {("gate-device", "10.1.2.3", "/api/gates/checks")}
    assert reads.count() == 2
    assert ApiToken.objects.get(user__username="gate-device").last_used_at is not None
    assert call("/api/gates/checks", {"checks": [item]})[0][:3] in ("401", "403")  # Django answers as usual
    assert call("/api/gates/checks", {"checks": [item]}, "wrong")[0][:3] in ("401", "403")
    assert call("/api/gates/checks", b"{not json", key)[0][:3] in ("400", "422")
    assert call("/api/gates/checks", {"checks": "x"}, key)[0].startswith("422")


@pytest.mark.django_db(transaction=True)
def test_group_commit_records_every_concurrent_request_once(device):
    gate, person, _key = device
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="gate-device")
    batcher = CheckBatcher(wait_ms=20)
    items = [record(gate, person) for _ in range(24)]
    results: list = [None] * len(items)

    def send(i: int) -> None:
        results[i] = batcher.submit(user, [items[i]])[0].status

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(items))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == ["recorded"] * len(items)
        assert GateCheck.objects.count() == len(items)
        # written in the batcher's thread, still attributed to the device's user
        paths = set(ReadLog.objects.filter(action="gate").values_list("user__username", "path"))
        assert paths == {("gate-device", "/api/gates/checks")}
        assert [o.status for o in batcher.submit(user, items[:3])] == ["duplicate"] * 3
    finally:
        batcher.stop()


def test_nul_character_is_refused_as_invalid_not_retried(device):
    """PostgreSQL cannot store NUL: the fast path hands the body to Django, whose schema answers 422
    (a 503 "send again" would have the device resend a record that can never be stored)."""
    gate, person, key = device
    bad = record(gate, person) | {"client_id": "abc\x00def"}
    status, _ = call("/api/gates/checks", {"checks": [bad]}, key)
    assert status.startswith("422")
    assert not GateCheck.objects.filter(gate=gate).exists()
