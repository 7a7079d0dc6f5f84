"""An alert in a real browser (Chromium, 1366×768): the district's epidemiologist finds it in the
list, sees its series drawn against the expected values and its community on the map, verifies it
and opens an investigation. Screenshots are saved in the test's folder."""

from __future__ import annotations

import pytest

from ewarn.models import Alert
from ewarn.services import do_run_day
from ewarn.tests.support import DAY, sales_history
from tests_support.browser import staff_page
from tests_support.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_epidemiologist_verifies_an_alert(city, epidemiologist, quick_scan, live_server, chromium, screenshots):
    sales_history({DAY: 120})
    do_run_day(DAY)
    alert = Alert.objects.get(kind="temporal")
    context, page = staff_page(chromium, live_server, epidemiologist.username)
    page.goto(f"{live_server.url}/ewarn/")
    page.screenshot(path=str(screenshots / "alerts.png"), full_page=True)
    page.click(f"a[href='/ewarn/alerts/{alert.pk}/']")
    page.wait_for_selector("#ewarn-chart canvas")  # ECharts drew the series
    page.wait_for_selector("#ewarn-map path.leaflet-interactive")  # Leaflet drew the community
    assert page.evaluate("document.querySelector('#ewarn-chart canvas').width") > 600
    page.screenshot(path=str(screenshots / "alert.png"), full_page=True)
    page.fill("form[action$='/verify/'] textarea[name=note]", "两所幼儿园发热聚集")
    page.check("form[action$='/verify/'] input[name=investigate]")
    page.click("form[action$='/verify/'] button[type=submit]")
    wait_for(lambda: Alert.objects.filter(pk=alert.pk, status="verified").exclude(investigation=None).exists())
    page.screenshot(path=str(screenshots / "verified.png"), full_page=True)
    context.close()
