"""The gate app (issue #5 item 4): its pages, the static files it needs offline, and its JavaScript
run in Node against the server's own code: offline verdicts equal healthcode.tokens.Verifier's,
local decisions equal gates.services' for the same records, the vendored decoder reads a real code."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import random
import re
import shutil
import struct
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import segno
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone, translation

from core.choices import StaffRole
from gates import views_app
from gates.choices import CheckRejectReason, ClosureRule, Direction, RefusalReason
from gates.services import do_close, ensure_gate
from healthcode.choices import Colour, Verdict
from healthcode.services import code_for, do_revoke_token, mint
from healthcode.tokens import DOMAIN, PREFIX, Claims, sign, verifier_from_document

JS = Path(__file__).parent / "js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not on PATH")


def run_node(script: str, *args: str, stdin: dict | None = None) -> dict:
    done = subprocess.run(  # noqa: S603 - node (from PATH) on our own scripts
        [NODE, str(JS / script), *args],
        input=json.dumps(stdin) if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def json_script(html: str, element_id: str) -> dict:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found, element_id
    return json.loads(found.group(1))


# --- pages -----------------------------------------------------------------------------------------


@pytest.fixture
def gates(city):
    compounds = sorted(city.compounds.values(), key=lambda c: c.code)
    home = ensure_gate(compounds[0], code="G1", name="东门")
    elsewhere = ensure_gate(compounds[-1], code="G9", name="西门")  # the other district
    return home, elsewhere


@pytest.fixture
def volunteer(city, gates):
    return city.staff("gatevol", StaffRole.CADRE, gates[0].compound)


def test_pages_need_login(client, gates):
    for url in (reverse("gateapp:list"), reverse("gateapp:app", args=["G1"])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_list_shows_the_gates_in_scope_only(client, volunteer, gates):
    client.force_login(volunteer)
    response = client.get(reverse("gateapp:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "东门" in html and reverse("gateapp:app", args=["G1"]) in html
    assert "西门" not in html and "G9" not in html


def test_a_gate_out_of_scope_inactive_or_unknown_is_404(client, volunteer, gates):
    client.force_login(volunteer)
    assert client.get(reverse("gateapp:app", args=["G9"])).status_code == 404
    assert client.get(reverse("gateapp:app", args=["NOPE"])).status_code == 404
    home = gates[0]
    home.active = False
    home.save()
    assert client.get(reverse("gateapp:app", args=["G1"])).status_code == 404
    assert "东门" not in client.get(reverse("gateapp:list")).content.decode()


def test_the_app_page_carries_its_urls_strings_and_csrf_cookie(client, volunteer, gates):
    client.force_login(volunteer)
    response = client.get(reverse("gateapp:app", args=["G1"]))
    assert response.status_code == 200
    html = response.content.decode()
    app = json_script(html, "gate-app-config")
    assert app["gate"] == "G1" and app["user"] == volunteer.pk
    assert app["config_url"] == "/api/gates/G1/config" and app["config_url"] in html
    assert resolve(app["lookup_url"]).url_name == "lookup"
    assert resolve(app["checks_url"]).url_name == "record"
    assert resolve(app["sw_url"]).url_name == "sw" and app["sw_scope"] == "/gate/"
    assert app["decoder_url"] == static("gates/vendor/barcode-detector/barcode-detector.js")
    assert app["wasm_url"] == static("gates/vendor/zxing-wasm/zxing_reader.wasm")
    assert app["fever_threshold_c"] == pytest.approx(37.3)
    assert f'src="{static("gates/gate.js")}"' in html and 'type="module"' in html
    assert "csrftoken" in response.cookies and "csrfmiddlewaretoken" in html
    strings = json_script(html, "gate-strings")
    # every code the server or the verifier can answer with has a text
    assert set(strings["verdicts"]) == set(Verdict.values)
    assert set(strings["refusals"]) == set(RefusalReason.values)
    assert set(strings["rejects"]) == set(CheckRejectReason.values)
    assert set(strings["directions"]) == set(Direction.values)
    assert set(strings["colours"]) == set(Colour.values)
    assert set(strings["warnings"]) >= {"colour_unknown", "yellow_own_compound", "closure_building", "approval_unknown"}
    # the texts gate.js uses all exist (T.name in the script)
    used = set(re.findall(r"\bT\.(\w+)", (Path(finders.find("gates/gate.js"))).read_text()))
    assert used <= set(strings), used - set(strings)


def test_the_strings_follow_the_language(client, volunteer, gates):
    client.force_login(volunteer)
    for language in ("zh-hans", "en"):
        html = client.get(reverse("gateapp:app", args=["G1"]), {"lang": language}).content.decode()
        strings = json_script(html, "gate-strings")
        with translation.override(language):
            assert strings["colours"]["red"] == str(Colour.RED.label)
            assert strings["refusals"]["fever"] == str(RefusalReason.FEVER.label)
    assert strings["online"] == "Online"  # English source strings


def test_the_page_shows_no_personal_data(client, volunteer, gates, city):
    client.force_login(volunteer)
    html = client.get(reverse("gateapp:app", args=["G1"])).content.decode()
    for person in list(city.residents.values())[:6]:
        assert person.name not in html and person.id_number not in html


# --- the service worker and the static files ------------------------------------------------------


def test_the_service_worker_is_served_under_gate_with_the_shell(client, tmp_path):
    response = client.get(reverse("gateapp:sw"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/gate/"
    assert "no-cache" in response["Cache-Control"]
    text = response.content.decode()
    shell = json.loads(re.search(r"^const SHELL = (.*);$", text, re.M).group(1))
    assert shell == [static(name) for name in views_app.SHELL]
    assert re.search(r'^const VERSION = "[0-9a-f]{16}";$', text, re.M)
    assert 'const SCOPE = "/gate/";' in text
    assert 'addEventListener("fetch"' in text
    if NODE:  # the assembled script parses
        (tmp_path / "sw.js").write_text(text)
        checked = subprocess.run([NODE, "--check", str(tmp_path / "sw.js")], capture_output=True, text=True)  # noqa: S603
        assert checked.returncode == 0, checked.stderr
    # a changed shell file makes a new version (phones refresh their cache)
    first = views_app._service_worker_text((("a", 1, 1),), ("/s/a",), "/gate/")
    second = views_app._service_worker_text((("a", 1, 2),), ("/s/a",), "/gate/")
    assert first.splitlines()[0] != second.splitlines()[0]


def test_the_static_files_exist():
    vendor = "gates/vendor/"
    names = [
        *views_app.SHELL,
        views_app.SERVICE_WORKER,
        vendor + "README.md",
        vendor + "barcode-detector/LICENSE",
        vendor + "zxing-wasm/LICENSE",
        vendor + "zxing-wasm/LICENSE.Apache-2.0",
        vendor + "noble/LICENSE.noble-ed25519",
        vendor + "noble/LICENSE.noble-hashes",
    ]
    for name in names:
        assert finders.find(name), name
    readme = Path(finders.find(vendor + "README.md")).read_text()
    for pinned in (
        "barcode-detector",
        "3.2.2",
        "zxing-wasm",
        "3.1.3",
        "@noble/ed25519",
        "3.2.0",
        "@noble/hashes",
        "2.4.0",
    ):
        assert pinned in readme
    # the vendored wasm is the one the ponyfill was built for, and the README records the files
    bundle = Path(finders.find(vendor + "barcode-detector/barcode-detector.js")).read_text()
    expected = re.search(r'var fe = "([0-9a-f]{64})"', bundle).group(1)
    assert re.search(r"\bfe as ZXING_WASM_SHA256\b", bundle)
    for name in ("zxing-wasm/zxing_reader.wasm", "barcode-detector/barcode-detector.js", "noble/ed25519.js"):
        digest = hashlib.sha256(Path(finders.find(vendor + name)).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in readme, name
        if name.endswith(".wasm"):
            assert digest == expected
    # no CDN at runtime: the app points the ponyfill at its own copy of the wasm
    assert "setZXingModuleOverrides" in Path(finders.find("gates/scan.js")).read_text()


# --- the contract the page relies on: session + CSRF ----------------------------------------------


def test_the_api_accepts_the_session_with_the_csrf_header(volunteer, gates, city):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(volunteer)
    browser.get(reverse("gateapp:app", args=["G1"]))
    token = browser.cookies["csrftoken"].value
    config = browser.get("/api/gates/G1/config")
    assert config.status_code == 200 and config.json()["code"] == "G1"
    resident = next(p for p in city.residents.values() if p.compound_id == gates[0].compound_id)
    record = {
        "client_id": str(uuid.uuid4()),
        "gate": "G1",
        "token": None,
        "id_number": resident.id_number,
        "direction": "in",
        "identity_checked": True,
        "temperature": 36.6,
        "mask": True,
        "at": timezone.now().isoformat(),
        "offline": True,
    }
    body = json.dumps({"checks": [record]})
    refused = browser.post("/api/gates/checks", body, content_type="application/json")
    assert refused.status_code == 403  # without the header the session cannot post
    sent = browser.post("/api/gates/checks", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert sent.status_code == 200
    (result,) = sent.json()["results"]
    assert result["status"] == "recorded" and result["client_id"] == record["client_id"]
    again = browser.post("/api/gates/checks", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert again.json()["results"][0]["status"] == "duplicate"


# --- the offline verifier (gates/static/gates/verify.js) against healthcode.tokens ----------------


def raw_public(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign_raw(key: Ed25519PrivateKey, payload: bytes) -> str:
    return PREFIX + base64.urlsafe_b64encode(payload + key.sign(DOMAIN + payload)).rstrip(b"=").decode()


def flip(token: str, index: int) -> str:
    """One character changed to another base64url character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:index] + alphabet[(alphabet.index(token[index]) + 1) % 64] + token[index + 1 :]


@pytest.fixture(scope="module")
def token_world():
    """Keys, a revocation list and tokens, each with the verdict healthcode.tokens must give."""
    now = int(time.time())
    current, retired, spent, stranger = (Ed25519PrivateKey.generate() for _ in range(4))
    keys_doc = {
        "keys": [
            {
                "kid": "0a0b0c0d",
                "public_key": raw_public(current),
                "created_at": now - 86400,
                "signs_until": None,
                "verify_until": None,
            },
            {
                "kid": "1a1b1c1d",
                "public_key": raw_public(retired),
                "created_at": now - 9000,
                "signs_until": now - 3000,
                "verify_until": now + 3600,
            },
            {
                "kid": "2a2b2c2d",
                "public_key": raw_public(spent),
                "created_at": now - 9000,
                "signs_until": now - 3000,
                "verify_until": now - 61,
            },
        ]
    }
    revocations = {"version": 3, "generated_at": now, "serials": ["00000000dead"], "subjects": {"cc" * 12: now - 10}}
    rng = random.Random(5)

    def claims(kid="0a0b0c0d", colour="green", issued=now - 60, expires=now + 600, subject=None, serial=None):
        return Claims(
            kid, subject or rng.randbytes(12).hex(), colour, issued, expires, serial or rng.randbytes(6).hex()
        )

    valid = sign(current, claims())
    body = valid[len(PREFIX) :]
    cases = {
        "valid green": (valid, Verdict.VALID, "green"),
        "valid yellow": (sign(current, claims(colour="yellow")), Verdict.VALID, "yellow"),
        "valid red": (sign(current, claims(colour="red")), Verdict.VALID, "red"),
        "tampered subject": (flip(valid, len(PREFIX) + 10), Verdict.FORGED, None),
        "tampered signature": (flip(valid, len(valid) - 5), Verdict.FORGED, None),
        "signed by another key": (sign(stranger, claims()), Verdict.FORGED, None),
        "unknown kid": (sign(stranger, claims(kid="deadbeef")), Verdict.UNKNOWN_KEY, None),
        "expired": (sign(current, claims(issued=now - 4000, expires=now - 100)), Verdict.EXPIRED, None),
        "expired within the skew": (sign(current, claims(issued=now - 4000, expires=now - 30)), Verdict.VALID, "green"),
        "issued in the future": (sign(current, claims(issued=now + 120, expires=now + 900)), Verdict.EXPIRED, None),
        "expires before issued": (sign(current, claims(issued=now, expires=now - 1)), Verdict.FORGED, None),
        "retired key, signed before": (
            sign(retired, claims(kid="1a1b1c1d", issued=now - 3600)),
            Verdict.VALID,
            "green",
        ),
        "retired key, signed after": (sign(retired, claims(kid="1a1b1c1d", issued=now - 2900)), Verdict.FORGED, None),
        "key past verify_until": (sign(spent, claims(kid="2a2b2c2d", issued=now - 4000)), Verdict.EXPIRED, None),
        "revoked serial": (sign(current, claims(serial="00000000dead")), Verdict.REVOKED, None),
        "subject revoked after issue": (
            sign(current, claims(subject="cc" * 12, issued=now - 100)),
            Verdict.REVOKED,
            None,
        ),
        "subject reissued after revocation": (
            sign(current, claims(subject="cc" * 12, issued=now - 5)),
            Verdict.VALID,
            "green",
        ),
        "empty": ("", Verdict.MALFORMED, None),
        "prefix only": (PREFIX, Verdict.MALFORMED, None),
        "other prefix": ("LL2:" + body, Verdict.MALFORMED, None),
        "truncated": (valid[:-4], Verdict.MALFORMED, None),
        "too long": (valid + "AAAA", Verdict.MALFORMED, None),
        "non-ascii": (valid[:-1] + "é", Verdict.MALFORMED, None),
        "version 2": (
            sign_raw(
                current,
                struct.pack(">B4s12sBII6s", 2, bytes.fromhex("0a0b0c0d"), b"\1" * 12, 0, now, now + 600, b"\2" * 6),
            ),
            Verdict.MALFORMED,
            None,
        ),
        "colour byte 3": (
            sign_raw(
                current,
                struct.pack(">B4s12sBII6s", 1, bytes.fromhex("0a0b0c0d"), b"\1" * 12, 3, now, now + 600, b"\2" * 6),
            ),
            Verdict.MALFORMED,
            None,
        ),
        # what Python's lenient base64 accepts, the browser must accept too
        "trailing whitespace": (valid + " \n", Verdict.VALID, "green"),
        "standard alphabet": (PREFIX + body.replace("-", "+").replace("_", "/"), Verdict.VALID, "green"),
        "junk inside": (PREFIX + body[:50] + "!*" + body[50:], Verdict.VALID, "green"),
        "padded": (valid + "==", Verdict.VALID, "green"),
        "leading space": (" " + valid, Verdict.MALFORMED, None),
    }
    # and random damage: replaced, dropped and inserted characters, whatever the verdict
    junk = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= !.\t"
    for n in range(300):
        chars = list(valid)
        for _ in range(rng.choice((1, 1, 2, 3))):
            at = rng.randrange(len(PREFIX) - 1, len(chars) + 1)
            op = rng.choice(("replace", "drop", "insert"))
            if op == "replace" and at < len(chars):
                chars[at] = rng.choice(junk)
            elif op == "drop" and at < len(chars):
                del chars[at]
            else:
                chars.insert(at, rng.choice(junk))
        cases[f"random {n}"] = ("".join(chars), None, None)
    config = {
        "code": "G1",
        "fever_threshold_c": 37.3,
        "closures": [],
        "approved_exit_subjects": {},
        **keys_doc,
        "revocations": revocations,
    }
    return {"now": now, "config": config, "cases": cases, "python": verifier_from_document(keys_doc, revocations)}


@needs_node
@pytest.mark.parametrize("fallback", [False, True], ids=["webcrypto", "noble"])
def test_offline_verdicts_equal_the_servers(token_world, fallback):
    names = list(token_world["cases"])
    tokens = [token_world["cases"][n][0] for n in names]
    out = run_node(
        "verify_cli.mjs",
        stdin={
            "config": token_world["config"],
            "now": token_world["now"],
            "tokens": tokens,
            "force_fallback": fallback,
        },
    )
    assert out["backend"] == ("noble" if fallback else "webcrypto")
    verdicts = {}
    for name, token, got in zip(names, tokens, out["results"], strict=True):
        want, colour = token_world["cases"][name][1:]
        python = token_world["python"].verify(token, token_world["now"])
        assert got["verdict"] == python.verdict, (name, token)
        assert got["colour"] == python.colour, name
        if want is not None:
            assert got["verdict"] == want, name
            assert got["colour"] == colour, name
        verdicts[got["verdict"]] = verdicts.get(got["verdict"], 0) + 1
    assert set(verdicts) == set(Verdict.values)  # the random damage alone finds several verdicts


@needs_node
def test_the_node_unit_tests_pass():
    done = subprocess.run(  # noqa: S603 - node (from PATH) on our own scripts
        [NODE, "--test", str(JS / "queue.test.mjs"), str(JS / "rules.test.mjs")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^# pass [1-9]\d*$", done.stdout, re.M) and re.search(r"^# fail 0$", done.stdout, re.M)


@needs_node
def test_the_vendored_decoder_reads_a_health_code(tmp_path):
    key = Ed25519PrivateKey.generate()
    now = int(time.time())
    token = sign(key, Claims("0a0b0c0d", "ab" * 12, "yellow", now - 60, now + 600, "01" * 6))
    image = io.BytesIO()
    segno.make(token, error="m", micro=False).save(image, kind="png", scale=4, border=4)
    path = tmp_path / "code.png"
    path.write_bytes(image.getvalue())
    blank = tmp_path / "blank.png"
    blank_image = io.BytesIO()
    segno.make("x", micro=False).save(blank_image, kind="png", scale=4, border=40, dark="white")
    blank.write_bytes(blank_image.getvalue())
    out = run_node("decode_cli.mjs", str(path), str(blank))
    assert out["native"] is False  # Node has no BarcodeDetector: the ponyfill did the work
    assert out["texts"] == [[token], []]
    assert out["wasm_requests"] == ["/static/gates/vendor/zxing-wasm/zxing_reader.wasm"]  # ours, not a CDN's


# --- the local decision (rules.js) against the server's, on the same records ----------------------


@needs_node
def test_the_offline_decision_equals_the_servers(client, volunteer, gates, city):
    """Records made at the gate, decided by the app offline (only the token and the cached config)
    and by the server when they sync: the same decision and the same reason."""
    client.force_login(volunteer)
    home = gates[0]
    people = [p for p in city.residents.values() if p.compound_id == home.compound_id]
    tokens = [mint(code_for(person))[0] for person in people[:8]]
    revoked_token, revoked_claims = mint(code_for(people[8]))
    do_revoke_token(revoked_claims.serial, "lost phone")
    now = timezone.now()

    def record(token, **extra):
        return {
            "client_id": str(uuid.uuid4()),
            "gate": home.code,
            "token": token,
            "id_number": None,
            "direction": "in",
            "identity_checked": True,
            "temperature": 36.5,
            "mask": True,
            "at": now.isoformat(),
            "offline": True,
        } | extra

    open_gate = [
        record(tokens[0]),
        record(tokens[1], identity_checked=False),
        record(tokens[2], mask=False),
        record(tokens[3], temperature=37.3),
        record(tokens[4], temperature=37.2, direction="out"),
        record(revoked_token),
        record(None, id_number=people[5].id_number, direction="pass"),
    ]
    do_close(
        home.compound,
        rule=ClosureRule.SEALED,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=14),
        reason="case",
        user=volunteer,
    )
    closed = [
        record(tokens[5], direction="out"),
        record(tokens[6], direction="in"),
        record(tokens[7], direction="pass"),
    ]
    decided = {}
    for batch in (open_gate, closed):
        config = client.get(f"/api/gates/{home.code}/config").json()
        local = run_node(
            "decide_cli.mjs",
            stdin={"config": config, "now": int(now.timestamp()), "checks": [{"record": r} for r in batch]},
        )
        sent = client.post("/api/gates/checks", {"checks": batch}, content_type="application/json")
        assert sent.status_code == 200
        for rec, mine, theirs in zip(batch, local["decisions"], sent.json()["results"], strict=True):
            assert theirs["status"] == "recorded", theirs
            assert (mine["decision"], mine["refusal"] or "") == (theirs["decision"], theirs["refusal"]), (
                rec,
                mine,
                theirs,
            )
            assert mine["fever"] == theirs["fever"]
            decided[theirs["refusal"] or "allow"] = rec
    assert set(decided) == {"allow", "identity", "no_mask", "fever", "bad_code", "exit_not_approved", "entry_closed"}


@needs_node
def test_id_number_validation_equals_the_servers(city):
    from people.identity import check_character, is_valid_id_number

    rng = random.Random(11)
    numbers = list(city.residents)[:10]
    for _ in range(200):
        first17 = (
            "".join(rng.choice("0123456789") for _ in range(6))
            + str(rng.randint(1880, 2030))
            + f"{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}{rng.randint(0, 999):03d}"
        )
        numbers.append(first17 + (check_character(first17) if rng.random() < 0.8 else rng.choice("0123456789X")))
    numbers += [n.lower() for n in numbers[:5]] + [" " + numbers[0] + " ", numbers[0][:17], ""]
    out = run_node("decide_cli.mjs", stdin={"config": {}, "now": 0, "id_numbers": numbers})
    assert out["id_valid"] == [is_valid_id_number(n) for n in numbers]
    assert 0 < sum(out["id_valid"]) < len(numbers)
