"""The demo (issue #12 item 1, done when): a school applies, is inspected and opens; a district's
resumption rate is shown. The demo leaves the school's application with the street; the street
login inspects and decides through HTTP, and the district's rate changes."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from core.imports.runner import run_import
from reopening import demo
from reopening.choices import ApplicationStatus, UnitStatus
from reopening.models import ReopeningApplication, StaffReport, Unit, UnitStatusChange
from reopening.tests.conftest import VENUES
from tasks.choices import TaskStatus
from tests_support.city import to_csv
from tests_support.clients import staff_client


def test_the_demo_school_applies_is_inspected_and_opens(city):
    assert not run_import("venues", to_csv(VENUES), filename="venues.csv").rejected
    street = city.staff("street", "street", city.divisions["420102001000"])
    lines: list[str] = []
    made = demo.set_up(log=lines.append)
    assert made["units"] == Unit.objects.count() > 2 and made["application"] is not None
    assert "awaiting inspection" in lines[-1] and not any("rejected" in line for line in lines)
    school = Unit.objects.get(code="S420102000001")  # the street's school
    application = ReopeningApplication.objects.get(pk=made["application"])
    assert application.unit == school and application.status == ApplicationStatus.SUBMITTED
    assert all(e.evidence.exists() for e in application.entries.all())
    assert application.task.assignee == street and application.task.status == TaskStatus.DISPATCHED
    assert school.status == UnitStatus.APPLYING
    contact = get_user_model().objects.get(username="school")
    assert school.contacts.filter(user=contact).exists() and contact.has_perm("reopening.apply_reopening")
    assert UnitStatusChange.objects.filter(source="import").exists() and StaffReport.objects.exists()

    counts = (Unit.objects.count(), UnitStatusChange.objects.count(), StaffReport.objects.count())
    again = demo.set_up(log=lines.append)
    assert again["units"] == 0 and again["application"] is None
    assert (Unit.objects.count(), UnitStatusChange.objects.count(), StaffReport.objects.count()) == counts

    client = staff_client(street)
    district = str(school.district_id)

    def district_rate():
        rows = client.get("/reopening/rates/").context["rows"]
        return next(r for r in rows if r.key == district)

    before = district_rate()
    inspect = f"/reopening/applications/{application.pk}/inspect/"
    assert client.get(inspect).status_code == 200
    for item in application.checklist:
        assert client.post(inspect, {"action": "verdict", "item": item, "verdict": "approved"}).status_code == 302
    assert (
        client.post(inspect, {"action": "decide", "decision": "approve", "reason": "现场核查合格"}).status_code == 302
    )
    school.refresh_from_db()
    application.refresh_from_db()
    assert school.status == UnitStatus.OPEN and application.task.status == TaskStatus.CLOSED
    after = district_rate()
    assert after.open == before.open + 1 and after.units == before.units
    assert after.open_share > before.open_share
