"""The sampler's page (issue #6 item 2): the sites a user may use, the page and what it hands to
sample.js, its JSON views (session and CSRF, the same answers as the API), and sample.js in Node."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import segno
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client
from django.urls import reverse

from campaigns.models import PoolMember, Tube
from campaigns.tests.test_api import make_campaign, make_sampler, make_sites, people

NODE = shutil.which("node")


@pytest.fixture
def sites(city):
    return make_sites()


@pytest.fixture
def campaign(city):
    return make_campaign()


@pytest.fixture
def sampler(city):
    return make_sampler(city)


def json_script(html: str, element_id: str) -> dict:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found, element_id
    return json.loads(found.group(1))


@pytest.fixture
def browser(sampler) -> Client:
    """The sampler's phone: logged in, English, CSRF checked as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(sampler)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def post_json(client: Client, url: str, data: dict, csrf: str | None):
    headers = {"X-CSRFToken": csrf} if csrf else {}
    return client.post(url, json.dumps(data), content_type="application/json", headers=headers)


def test_pages_need_login(client, sites):
    for url in (reverse("sampling:list"), reverse("sampling:site", args=["S1"])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    answer = client.post(reverse("sampling:swab", args=["S1"]), "{}", content_type="application/json")
    assert answer.status_code == 401


def test_the_list_shows_the_sites_the_user_may_use(browser, sites):
    html = browser.get(reverse("sampling:list")).content.decode()
    assert "江岸一号采样点" in html and reverse("sampling:site", args=["S1"]) in html
    assert "武昌一号采样点" not in html and reverse("sampling:site", args=["S2"]) not in html
    assert browser.get(reverse("sampling:site", args=["S2"])).status_code == 404
    assert browser.get(reverse("sampling:site", args=["NOPE"])).status_code == 404
    response = post_json(browser, reverse("sampling:swab", args=["S2"]), {"tube": "X", "id_number": "1"}, None)
    assert response.status_code in (403, 404)  # CSRF first, scope after: never recorded
    assert not PoolMember.objects.exists()


def test_the_page_carries_its_urls_strings_and_csrf_cookie(browser, sites, campaign):
    response = browser.get(reverse("sampling:site", args=["S1"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "江岸一号采样点" in html and "Step 1: the tube" in html and "Step 2: the people" in html
    assert "全员核酸检测" in html and "5 people per tube" in html
    app = json_script(html, "sample-app-config")
    assert app["site"] == "S1" and app["pool_size"] == 5
    assert app["swab_url"] == reverse("sampling:swab", args=["S1"])
    assert app["tube_url"] == reverse("sampling:tube", args=["S1"])
    assert app["close_url"] == reverse("sampling:close", args=["S1"])
    assert app["scan_url"] == static("gates/scan.js") and app["rules_url"] == static("gates/rules.js")
    assert app["decoder_url"] == static("gates/vendor/barcode-detector/barcode-detector.js")
    assert app["code_prefix"] == "LL1:"
    assert f'src="{static("campaigns/sample.js")}"' in html and 'type="module"' in html
    assert "csrftoken" in response.cookies
    strings = json_script(html, "sample-strings")
    script = Path(finders.find("campaigns/sample.js")).read_text()
    used = set(re.findall(r"\bT\.(\w+)", script))
    assert used <= set(strings), used - set(strings)
    # every element sample.js looks up is on the page
    elements = set(re.findall(r'\$\("([\w-]+)"\)', script)) | set(re.findall(r'"(step-[\w-]+)"', script))
    assert len(elements) > 15 and {e for e in elements if f'id="{e}"' not in html} == set()
    assert strings["recorded"] == "Recorded: {person}"


def test_the_page_warns_when_no_campaign_covers_the_site(browser, sites):
    html = browser.get(reverse("sampling:site", args=["S1"])).content.decode()
    assert "No testing campaign covers this site today" in html


def test_the_json_views_record_swabs_and_close_the_tube(browser, city, sites, campaign):
    page = browser.get(reverse("sampling:site", args=["S1"]))
    csrf = page.cookies["csrftoken"].value
    swab_url, tube_url, close_url = (reverse(f"sampling:{name}", args=["S1"]) for name in ("swab", "tube", "close"))
    ids = people(city)

    new = browser.get(tube_url, {"tube": "P1"}).json()
    assert (new["status"], new["members"], new["capacity"], new["closed"]) == ("new", 0, 5, False)

    assert post_json(browser, swab_url, {"tube": "P1", "id_number": ids[0]}, None).status_code == 403
    assert not PoolMember.objects.exists()
    body = post_json(browser, swab_url, {"tube": "P1", "id_number": ids[0]}, csrf).json()
    assert body["outcome"] == "recorded" and (body["members"], body["capacity"]) == (1, 5)
    assert body["person"] == city.residents[ids[0]].masked_name
    again = post_json(browser, swab_url, {"tube": "P1", "id_number": ids[0]}, csrf).json()
    assert again["outcome"] == "duplicate" and again["members"] == 1
    post_json(browser, swab_url, {"tube": "P1", "id_number": ids[1]}, csrf)
    assert browser.get(tube_url, {"tube": "P1"}).json()["members"] == 2
    assert post_json(browser, swab_url, {"tube": "P1"}, csrf).status_code == 400
    assert post_json(browser, swab_url, {"id_number": ids[2]}, csrf).json()["detail"] == "Scan the tube first."

    closed = post_json(browser, close_url, {"tube": "P1"}, csrf).json()
    assert (closed["status"], closed["members"]) == ("closed", 2)
    assert Tube.objects.get(code="P1").status == "closed"
    shown = browser.get(tube_url, {"tube": "P1"}).json()
    assert shown["closed"] and shown["message"] == "Tube P1 is already closed; take a new tube."
    refused = post_json(browser, swab_url, {"tube": "P1", "id_number": ids[2]}, csrf).json()
    assert (refused["outcome"], refused["reason"]) == ("rejected", "tube_closed")
    missing = post_json(browser, close_url, {"tube": "NEVER"}, csrf)
    assert missing.status_code == 404 and "nothing to close" in missing.json()["detail"]


# --- sample.js in Node -------------------------------------------------------------------------------

NODE_SCRIPT = """
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

const input = JSON.parse(readFileSync(0, "utf8"));
globalThis.DOMRectReadOnly ??= class {
  constructor(x, y, width, height) { Object.assign(this, { x, y, width, height }); }
};
delete globalThis.BarcodeDetector;
const WASM_URL = "/static/gates/vendor/zxing-wasm/zxing_reader.wasm";
globalThis.fetch = async (url) => {
  if (String(url) !== WASM_URL) return new Response("not found", { status: 404 });
  return new Response(await readFile(input.wasm), { headers: { "Content-Type": "application/wasm" } });
};
const sample = await import(pathToFileURL(input.sample).href);
const views = input.bodies.map((body) => sample.outcomeView(body, input.strings));
const detector = await sample.tubeDetector({ decoder: pathToFileURL(input.decoder).href, wasm: WASM_URL });
const blob = new Blob([await readFile(input.label)], { type: "image/png" });
const read = (await detector.detect(blob)).map((code) => code.rawValue);
process.stdout.write(JSON.stringify({ views, read }));
"""


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_sample_js_words_the_answers_and_reads_a_tube_label(browser, sites, campaign, tmp_path):
    strings = json_script(browser.get(reverse("sampling:site", args=["S1"])).content.decode(), "sample-strings")
    label = tmp_path / "tube.png"
    segno.make("TUBE-000123", error="m").save(str(label), scale=6, border=4)
    script = tmp_path / "run.mjs"
    script.write_text(NODE_SCRIPT)
    swab = {"tube": "P1", "members": 3, "capacity": 5, "closed": False, "reason": "", "message": "", "person": "张*"}
    bodies = [
        {**swab, "outcome": "recorded"},
        {**swab, "outcome": "recorded", "members": 5, "closed": True},
        {**swab, "outcome": "duplicate"},
        {**swab, "outcome": "rejected", "reason": "tube_closed", "message": "Tube P1 is already closed."},
        {**swab, "outcome": "rejected", "reason": "person_in_two_tubes", "message": "Already in tube P0."},
    ]
    stdin = {
        "sample": finders.find("campaigns/sample.js"),
        "decoder": finders.find("gates/vendor/barcode-detector/barcode-detector.js"),
        "wasm": finders.find("gates/vendor/zxing-wasm/zxing_reader.wasm"),
        "label": str(label),
        "strings": strings,
        "bodies": bodies,
    }
    done = subprocess.run(  # noqa: S603 - node (from PATH) on our own script
        [NODE, str(script)], input=json.dumps(stdin), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    views = result["views"]
    assert [(v["kind"], v["newTube"]) for v in views] == [
        ("recorded", False),
        ("recorded", True),
        ("duplicate", False),
        ("rejected", True),
        ("rejected", False),
    ]
    assert views[0]["text"] == "Recorded: 张*"
    assert views[1]["text"] == "Recorded: 张* Tube P1 is full (5 of 5) and closed. Seal it and take a new tube."
    assert views[2]["text"] == "Already in this tube: 张*"
    assert views[4]["text"] == "张* · Already in tube P0." and views[4]["members"] == 3
    assert result["read"] == ["TUBE-000123"]
