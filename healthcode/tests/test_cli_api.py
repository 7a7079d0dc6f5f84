"""``linli healthcode`` / ``linli verify`` (online and offline) and the health-code API."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from cases.choices import Category
from cases.services import do_identify
from core.models import ReadLog
from healthcode.keys import rotate

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command(*args, stdout=out)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, json.loads(out.getvalue())


def tamper(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def test_healthcode_shows_colour_reasons_and_a_token_that_verifies(city, tmp_path):
    person = next(iter(city.residents.values()))
    do_identify(person, Category.CONFIRMED, None)
    svg = tmp_path / "code.svg"
    _, shown = run("healthcode", person.id_number, "--json", "--svg", str(svg))
    assert shown["colour"] == "red" and [r["rule"] for r in shown["reasons"]] == ["confirmed"]
    assert shown["person"]["id_number"] != person.id_number and "<svg" in svg.read_text()
    assert ReadLog.objects.filter(object_id=person.pk).exists()
    status, verdict = run("verify", shown["token"], "--json")
    assert (status, verdict["verdict"], verdict["colour"]) == (0, "valid", "red")
    status, verdict = run("verify", tamper(shown["token"]), "--json")
    assert (status, verdict["verdict"]) == (1, "forged")


def test_offline_verification_needs_only_the_published_documents(city, client, tmp_path):
    person = next(iter(city.residents.values()))
    _, shown = run("healthcode", person.id_number, "--json")
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(client.get("/api/healthcode/keys").content.decode())
    status, verdict = run("verify", shown["token"], "--json", "--offline", str(keys_file))
    assert (status, verdict["verdict"], verdict["offline"]) == (0, "valid", True)
    _, verdict = run("verify", tamper(shown["token"]), "--json", "--offline", str(keys_file))
    assert verdict["verdict"] == "forged"
    # a rotated key: old tokens still verify with the new document; new ones need it
    rotate(force=True)
    _, fresh = run("healthcode", person.id_number, "--json")
    _, verdict = run("verify", fresh["token"], "--json", "--offline", str(keys_file))
    assert verdict["verdict"] == "unknown_key"
    keys_file.write_text(client.get("/api/healthcode/keys").content.decode())
    for token in (shown["token"], fresh["token"]):
        assert run("verify", token, "--json", "--offline", str(keys_file))[1]["verdict"] == "valid"


def test_the_api_publishes_keys_to_anyone_but_verifies_and_reads_only_for_staff(city, client):
    person = next(iter(city.residents.values()))
    _, shown = run("healthcode", person.id_number, "--json")
    assert client.get("/api/healthcode/keys").status_code == 200
    assert (
        client.post("/api/healthcode/verify", {"token": shown["token"]}, content_type="application/json").status_code
        == 401
    )
    grid_worker = city.staff("gw", "grid_worker", person.grid)
    client.force_login(grid_worker)
    answer = client.post("/api/healthcode/verify", {"token": shown["token"]}, content_type="application/json").json()
    assert answer["verdict"] == "valid" and answer["colour"] == "green"
    assert client.get(f"/api/healthcode/people/{person.pk}").json()["colour"] == "green"
    outsider = next(r for r in city.residents.values() if r.district_id != person.district_id)
    assert client.get(f"/api/healthcode/people/{outsider.pk}").status_code == 404


def test_a_revoked_token_is_refused_and_the_revocation_lapses_with_the_token(city):
    import datetime as dt

    from django.utils import timezone

    from healthcode.jobs import nightly
    from healthcode.models import Revocation

    person = next(iter(city.residents.values()))
    _, shown = run("healthcode", person.id_number, "--json")
    serial = run("verify", shown["token"], "--json")[1]["serial"]
    call_command("revoke_token", serial, "--reason", "phone lost", stdout=StringIO())
    assert run("verify", shown["token"], "--json")[1]["verdict"] == "revoked"
    Revocation.objects.update(keep_until=timezone.now() - dt.timedelta(seconds=1))
    assert nightly()["revocations_pruned"] == 1
