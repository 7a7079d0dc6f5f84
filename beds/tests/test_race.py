"""Two plans racing for one bed (issue #8, bad input): each locks the facility row before counting,
so exactly one reservation wins and the other gets NoBedError. Real concurrency needs row locks and
two connections: PostgreSQL only (SQLite serialises whole-database writes and would prove nothing).
"""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from beds.models import Facility, Stay
from beds.services import NoBedError, do_reserve_bed
from beds.tests.support import facility
from people.models import Resident


@pytest.mark.django_db(transaction=True)
def test_two_plans_racing_for_the_last_bed(city):
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL has the row locks two concurrent connections race on")
    last = facility("FC1", approved=10, open_=10, occupied=9)
    a, b = Resident.objects.order_by("id")[:2]
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def plan(name: str, person: Resident) -> None:
        try:
            start.wait(timeout=10)
            do_reserve_bed(last, person, "confirmed", reference=name)
            outcomes[name] = "reserved"
        except NoBedError:
            outcomes[name] = "no bed"
        except Exception as exc:  # reported by the assertion below
            outcomes[name] = repr(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=plan, args=(n, p)) for n, p in (("plan-a", a), ("plan-b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["no bed", "reserved"], outcomes
    assert Stay.objects.filter(facility=last, status="reserved").count() == 1
    last = Facility.objects.get(pk=last.pk)
    assert (last.beds_reserved, last.beds_free) == (1, 0)
