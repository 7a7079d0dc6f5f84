"""The staff pages and the XLSX ledger: scoped to the jurisdiction (out of it answers 404),
recording needs supplies.manage_supplies, negative stock is refused on the page with the reason."""

from __future__ import annotations

import io

from django.conf import settings
from django.test import Client
from openpyxl import load_workbook

from supplies.choices import MovementKind
from supplies.models import Movement, Stock
from supplies.services import do_record_movement, do_set_level, do_transfer
from supplies.tests.conftest import supplies_staff


def login(user) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # messages asserted in English (Chinese first)
    assert client.login(username=user.username, password="pw-" + user.username)
    return client


def test_the_list_shows_my_depots_with_shortfalls_first(reserves, worker, district_staff):
    do_set_level(reserves.district, reserves.n95, 0)
    do_set_level(reserves.hospital, reserves.n95, 5)  # short: 0 < 5
    page = login(district_staff).get("/supplies/")
    assert page.status_code == 200
    names = [d.name for d in page.context["page"]]
    assert names == ["金银潭物资库", "江岸区储备库", "江岸社区物资点"]  # the city's and 武昌's are not his
    assert [d.name for d in login(worker).get("/supplies/").context["page"]] == ["江岸社区物资点"]


def test_depot_page_stock_history_and_scope(reserves, worker):
    stock = do_set_level(reserves.community, reserves.n95, 100)
    do_record_movement(stock, MovementKind.RECEIPT, 40, reference="入库-7")
    client = login(worker)
    page = client.get(f"/supplies/depots/{reserves.community.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "N95口罩" in html and "sup-short" in html and "入库-7" in html
    history = client.get(f"/supplies/stocks/{stock.pk}/")
    assert history.status_code == 200 and "入库-7" in history.content.decode()

    other = do_set_level(reserves.other_community, reserves.n95, 1)
    for url in (
        f"/supplies/depots/{reserves.other_community.pk}/",
        f"/supplies/depots/{reserves.other_community.pk}/ledger.xlsx",
        f"/supplies/stocks/{other.pk}/",
        f"/supplies/depots/{reserves.city.pk}/",
        "/supplies/depots/999999/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/supplies/depots/{reserves.other_community.pk}/", {"action": "level"}).status_code == 404


def test_recording_on_the_page(reserves, worker):
    stock = do_set_level(reserves.community, reserves.n95, 0)
    client = login(worker)
    url = f"/supplies/depots/{reserves.community.pk}/"
    ok = client.post(url, {"action": "movement", "kind": "receipt", "item": reserves.n95.pk, "quantity": 30})
    assert ok.status_code == 302
    refused = client.post(url, {"action": "movement", "kind": "issue", "item": reserves.n95.pk, "quantity": 31})
    assert refused.status_code == 400 and "negative" in refused.content.decode()
    stock.refresh_from_db()
    assert stock.quantity == 30 and Movement.objects.filter(stock=stock).count() == 1
    level = client.post(url, {"action": "level", "item": reserves.suits.pk, "minimum": 12})
    assert level.status_code == 302
    assert Stock.objects.get(depot=reserves.community, item=reserves.suits).minimum == 12


def test_transfer_on_the_page_only_to_depots_in_scope(reserves, district_staff):
    stock = do_set_level(reserves.district, reserves.n95, 0)
    do_record_movement(stock, MovementKind.RECEIPT, 100)
    client = login(district_staff)
    url = f"/supplies/depots/{reserves.district.pk}/"
    data = {"action": "transfer", "item": reserves.n95.pk, "quantity": 25}
    assert client.post(url, data | {"target": reserves.other_community.pk}).status_code == 400  # not his
    assert client.post(url, data | {"target": reserves.hospital.pk}).status_code == 302
    assert Stock.objects.get(depot=reserves.hospital, item=reserves.n95).quantity == 25


def test_without_the_permission_the_page_reads_but_does_not_record(city, reserves):
    reader = supplies_staff(city, "gw", "grid_worker", city.grid("420102"), manage=False)
    # a grid's worker sees no depot: depots sit at the community or above
    assert login(reader).get(f"/supplies/depots/{reserves.community.pk}/").status_code == 404
    cadre = supplies_staff(city, "cm", "grid_worker", city.divisions["420102001001"], manage=False)
    client = login(cadre)
    assert client.get(f"/supplies/depots/{reserves.community.pk}/").status_code == 200
    post = client.post(f"/supplies/depots/{reserves.community.pk}/", {"action": "level"})
    assert post.status_code == 403


def test_the_xlsx_ledger_has_the_stock_and_the_movements(reserves, district_staff):
    stock = do_set_level(reserves.district, reserves.n95, 500)
    do_record_movement(stock, MovementKind.RECEIPT, 800, reference="入库-1")
    do_record_movement(stock, MovementKind.ISSUE, 100)
    do_transfer(reserves.district, reserves.community, reserves.n95, 300, reference="调拨-1")
    do_set_level(reserves.district, reserves.suits, 10)
    response = login(district_staff).get(f"/supplies/depots/{reserves.district.pk}/ledger.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    stock_rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert stock_rows[2:] == [
        ("N95", "N95口罩", "Masks", "只", 400, 500, 100),
        ("SUIT", "防护服", "Protective suits", "套", 0, 10, 10),
    ]
    moves = list(book.worksheets[1].iter_rows(values_only=True))[1:]
    assert [(m[4], m[5], m[6], m[7], m[8]) for m in moves] == [
        ("Receipt", 800, 800, "入库-1", None),
        ("Issue", -100, 700, None, None),
        ("Transfer out", -300, 400, "调拨-1", "江岸社区物资点"),
    ]
