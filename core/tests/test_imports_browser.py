"""An import in a real browser (Chromium, 1366×768): a community worker uploads a residents file
with good and bad rows on the imports page, reads the summary (rows, inserted, updated, unchanged,
rejected by reason), opens the rejected rows, exports them, and corrects one and resubmits it.
Screenshots of each page are saved in the test's folder."""

from __future__ import annotations

import csv
import io

import pytest

from core.choices import RejectStatus
from core.models import ImportBatch, ImportRejection
from people.models import Resident
from tests_support.browser import staff_page
from tests_support.city import to_csv, valid_id
from tests_support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

BUILDING = "420102001001001-01-01"


def resident(city, **overrides) -> dict:
    row = dict(city.resident_rows[0])
    row.update(overrides)
    return row


def upload_rows(city) -> list[dict]:
    """Three good rows (new, changed, as before) and four bad ones, each for a different reason."""
    wrong_check = valid_id("420102", "19900101", 13)
    wrong_check = wrong_check[:-1] + ("1" if wrong_check[-1] != "1" else "2")
    return [
        resident(city, id_number=valid_id("420102", "19900101", 11), name="新住户", room="301", tags=""),
        dict(city.resident_rows[1], phone="13900000001"),
        dict(city.resident_rows[2]),
        resident(city, id_number=valid_id("420102", "19900101", 15), name="楼栋错", building_code="NOWHERE"),
        resident(city, id_number=wrong_check, name="校验错"),
        resident(city, id_number=valid_id("420102", "19900101", 17), name="性别错", sex="F"),  # odd: male
        resident(city, id_number=valid_id("420102", "19900101", 19), name="电话错", phone="12345"),
    ]


def card(page, label: str) -> str:
    return page.locator(".cards .card").filter(has=page.locator(".l", has_text=label)).locator(".n").inner_text()


def test_a_community_worker_imports_residents_and_corrects_a_rejected_row(city, live_server, chromium, screenshots):
    worker = city.staff("cw", "community_worker", city.divisions["420102001001"])
    rows = upload_rows(city)
    context, page = staff_page(chromium, live_server, "cw", accept_downloads=True)

    # the imports page, reached from the menu (shown to those who may import)
    page.click("header nav a[href='/imports/']")
    page.wait_for_url("**/imports/")
    page.select_option("select[name=kind]", "residents")
    page.set_input_files(
        "input[name=file]", files=[{"name": "居民.csv", "mimeType": "text/csv", "buffer": to_csv(rows)}]
    )
    page.screenshot(path=str(screenshots / "1-upload.png"), full_page=True)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/imports/*/")

    batch = ImportBatch.objects.get(user=worker)
    assert (batch.kind, batch.source, batch.status, batch.filename) == ("residents", "web", "done", "居民.csv")
    assert (batch.rows, batch.inserted, batch.updated, batch.unchanged) == (7, 1, 1, 1)
    assert batch.rejected == {
        "unknown_parent": 1,
        "id_number_checksum": 1,
        "sex_conflicts_with_id": 1,
        "invalid_phone": 1,
    }
    assert page.url.endswith(f"/imports/{batch.pk}/")

    # the summary
    assert "居民.csv" in page.locator("h1").inner_text()
    summary = {label: card(page, label) for label in ("读取行数", "新增", "更新", "未变", "被拒")}
    assert summary == {"读取行数": "7", "新增": "1", "更新": "1", "未变": "1", "被拒": "4"}
    by_reason = page.locator("main table").first.locator("tbody tr")
    counts = dict(
        zip(by_reason.locator("code").all_inner_texts(), by_reason.locator("td.num").all_inner_texts(), strict=True)
    )
    assert counts == {
        "id_number_checksum": "1",
        "invalid_phone": "1",
        "sex_conflicts_with_id": "1",
        "unknown_parent": "1",
    }
    page.screenshot(path=str(screenshots / "2-summary.png"), full_page=True)

    # the rejected rows, in file order with their sentences (row 1 is the header: data rows from 2)
    rejected = page.locator("main table").nth(1).locator("tbody tr")
    assert rejected.locator("td:first-child a").all_inner_texts() == ["5", "6", "7", "8"]
    nowhere = rejected.filter(has_text="NOWHERE")
    assert nowhere.locator("td:first-child").inner_text() == "5"
    assert "NOWHERE" in nowhere.locator("td:nth-child(2)").inner_text()  # the sentence names the code

    # the export: the rows as sent, ready to correct
    with page.expect_download() as download:
        page.click(f"a[href='/imports/{batch.pk}/rejects.csv']")
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert [(r["row"], r["reason"]) for r in exported] == [
        ("5", "unknown_parent"),
        ("6", "id_number_checksum"),
        ("7", "sex_conflicts_with_id"),
        ("8", "invalid_phone"),
    ]

    # one rejected row opened, corrected and resubmitted
    nowhere.locator("td:first-child a").click()
    page.wait_for_url("**/imports/rejects/*/")
    page.screenshot(path=str(screenshots / "3-rejected-row.png"), full_page=True)
    field = page.locator("tr", has=page.locator("th", has_text="building_code")).locator("input")
    assert field.input_value() == "NOWHERE"
    field.fill(BUILDING)
    page.click("main form button[type=submit]:not([name=dismiss])")
    page.wait_for_url(f"**/imports/{batch.pk}/")
    assert page.locator(".messages li").inner_text() == "修改后的行已成功导入。"
    page.screenshot(path=str(screenshots / "4-after-correction.png"), full_page=True)
    wait_for(lambda: Resident.objects.filter(name="楼栋错", building__code=BUILDING).exists())
    reject = ImportRejection.objects.get(batch=batch, reason="unknown_parent")
    assert reject.status == RejectStatus.RESOLVED and reject.resolved_by == worker
    assert ImportRejection.objects.filter(batch=batch, status=RejectStatus.OPEN).count() == 3
    assert Resident.objects.filter(name="新住户").exists() and not Resident.objects.filter(name="电话错").exists()

    # the list of imports shows both the upload and the resubmission
    page.goto(f"{live_server.url}/imports/")
    assert page.locator(f"main table a[href='/imports/{batch.pk}/']").count() == 1
    assert ImportBatch.objects.filter(user=worker).count() == 2
    page.screenshot(path=str(screenshots / "5-imports.png"), full_page=True)
    context.close()
