"""The done-when on the demo data: the programme shows progress against its targets. The district
user's progress page shows started and finished against the district's target with the numbers the
database holds; a second set-up changes nothing."""

from __future__ import annotations

import datetime as dt
import re

from geo.models import Compound
from renovation import demo
from renovation.models import Programme, Project, Work, YearTarget
from renovation.tests.conftest import JIANGAN, OLD_A, OLD_B, OLD_C
from tests_support.clients import staff_client

TODAY = dt.date(2026, 11, 29)


def test_demo_programme_shows_progress_against_target(city):
    Compound.objects.filter(code__in=[OLD_A, OLD_B, OLD_C]).update(built_year=1990)
    lines: list[str] = []
    made = demo.set_up(log=lines.append, today=TODAY)
    assert made["projects"] == 3 and made["rejected"] == 0 and made["works"] >= 9
    programme = Programme.objects.get(code=demo.DEMO_CODE)
    assert (programme.first_year, programme.last_year) == (2024, 2026)
    assert Work.objects.count() == made["works"]
    assert "2026:" in lines[0]

    jiangan = city.divisions[JIANGAN]
    target = YearTarget.objects.get(programme=programme, year=2026, district=jiangan)
    assert target.to_start == 1 and target.to_finish == 1  # 2 old compounds over 3 years, rounded up
    live = Project.objects.filter(district=jiangan).exclude(status="cancelled")
    started = live.filter(started_on__year=2026).count()
    finished = live.filter(finished_on__year=2026).count()
    user = city.staff("district", "district", jiangan)
    page = staff_client(user).get("/renovation/", {"year": 2026})
    assert page.status_code == 200
    html = page.content.decode()
    row = re.search(rf'data-code="{JIANGAN}">(.*?)</tr>', html, re.S).group(1)
    assert f'<td class="num started">{started} / {target.to_start} (' in row
    assert f'<td class="num finished">{finished} / {target.to_finish} (' in row
    assert "武昌区" not in html  # the district user sees their district only

    assert demo.set_up(log=lines.append, today=TODAY) == {"projects": 0}
    assert Project.objects.count() == 3
