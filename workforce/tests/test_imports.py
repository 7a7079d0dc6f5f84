"""The three import kinds: workers (with their posts), duty_roster and training_completions; every
bad row kept with its reason, and a second import of the same file changing nothing."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from core.models import ImportRejection
from workforce.models import Completion, DutyDay, Post, Worker
from workforce.tests.conftest import G1, G2, W1, import_rows, worker_rows


def test_workers_are_placed_on_their_grid_with_a_post(city, staffing):
    w = staffing.workers["JA-02"]
    assert (w.kind, w.organisation) == ("cadre", "武汉市财政局")
    assert w.grid.code == G1 and w.community.code == "420102001001" and w.street.code == "420102001000"
    assert w.district.code == "420102000000"
    assert Post.objects.filter(worker=w, ends_on__isnull=True, grid=w.grid).count() == 1
    again = import_rows("workers", worker_rows())
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    assert Post.objects.count() == 5


def test_a_worker_moved_to_another_grid_closes_the_old_post(city, staffing):
    today = timezone.localdate()
    rows = worker_rows()
    rows[0] = rows[0] | {"grid_code": G2, "since": today.isoformat()}
    batch = import_rows("workers", rows)
    assert batch.updated == 1
    posts = list(Post.objects.filter(worker__code="JA-01").order_by("pk").select_related("grid"))
    assert [(p.grid.code, p.ends_on) for p in posts] == [(G1, today), (G2, None)]
    assert Worker.objects.get(code="JA-01").grid.code == G2
    # a 'since' older than the open post: the post closes on its own first day, never before it
    moved_back = import_rows("workers", [rows[0] | {"grid_code": G1, "since": "2020-01-01"}])
    assert moved_back.updated == 1
    closed = Post.objects.get(worker__code="JA-01", grid__code=G2)
    assert closed.ends_on == closed.starts_on == today


def test_a_worker_may_be_linked_to_a_staff_login(city, staffing):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("wangwei")
    rows = worker_rows()
    rows[0] = rows[0] | {"login": "wangwei"}
    rows[1] = rows[1] | {"login": "nobody-here"}
    rows[2] = rows[2] | {"login": "wangwei"}
    batch = import_rows("workers", rows)
    assert batch.rejected == {"unknown_login": 1, "login_taken": 1}
    assert Worker.objects.get(code="JA-01").user.username == "wangwei"
    stolen = import_rows("workers", [worker_rows()[3] | {"login": "wangwei"}])
    assert stolen.rejected == {"login_taken": 1}
    unchanged = import_rows("workers", worker_rows())  # no login column: the link stays
    assert unchanged.updated == 0 and Worker.objects.get(code="JA-01").user is not None


def test_bad_worker_rows_are_kept_with_reasons(city):
    future = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    rows = [
        {"worker_code": "X-1", "name": "甲", "kind": "wizard", "grid_code": G1, "phone": "", "since": ""},
        {
            "worker_code": "X-2",
            "name": "乙",
            "kind": "网格员",
            "grid_code": "420102001001099",
            "phone": "",
            "since": "",
        },
        {"worker_code": "X-3", "name": "丙", "kind": "网格员", "grid_code": G1, "phone": "12345", "since": ""},
        {"worker_code": "X-4", "name": "丁", "kind": "网格员", "grid_code": G1, "phone": "", "since": future},
        {"worker_code": "X-5", "name": "戊", "kind": "网格员", "grid_code": G1, "phone": "", "since": ""},
        {"worker_code": "X-5", "name": "戊", "kind": "网格员", "grid_code": G2, "phone": "", "since": ""},
    ]
    batch = import_rows("workers", rows)
    assert batch.inserted == 1
    assert batch.rejected == {
        "invalid_value": 1,
        "unknown_grid": 1,
        "invalid_phone": 1,
        "future_date": 1,
        "duplicate_key_in_file": 1,
    }
    assert ImportRejection.objects.filter(kind="workers").count() == 5


def test_duty_roster_rejects_and_idempotency(city, staffing):
    yesterday = staffing.yesterday
    tomorrow = (yesterday + dt.timedelta(days=2)).isoformat()
    day = yesterday.isoformat()
    rows = [
        {"worker_code": "JA-01", "date": day, "grid_code": G1, "hours": "10"},
        {"worker_code": "JA-02", "date": day, "grid_code": G1, "hours": "7.25"},
        {"worker_code": "NOBODY", "date": day, "grid_code": G1, "hours": "8"},
        {"worker_code": "JA-03", "date": day, "grid_code": "420102001001777", "hours": "8"},
        {"worker_code": "JA-04", "date": day, "grid_code": G2, "hours": "25"},
        {
            "worker_code": "JA-04",
            "date": (yesterday - dt.timedelta(days=1)).isoformat(),
            "grid_code": G2,
            "hours": "-1",
        },
        {"worker_code": "WC-01", "date": tomorrow, "grid_code": W1, "hours": "8"},
        {"worker_code": "JA-01", "date": day, "grid_code": G2, "hours": "9"},
        {"worker_code": "JA-03", "date": "2020-02-30", "grid_code": G2, "hours": "8"},
        {"worker_code": "JA-03", "date": day, "grid_code": G2, "hours": "many"},
    ]
    batch = import_rows("duty_roster", rows)
    assert batch.inserted == 2
    assert batch.rejected == {
        "unknown_worker": 1,
        "unknown_grid": 1,
        "hours_out_of_range": 2,
        "future_date": 1,
        "duplicate_key_in_file": 1,
        "invalid_date": 1,
        "invalid_number": 1,
    }
    kept = ImportRejection.objects.get(kind="duty_roster", reason="hours_out_of_range", detail="25")
    assert kept.data["hours"] == "25" and "between 0 and 24" in kept.sentence
    assert DutyDay.objects.get(worker__code="JA-01").hours == 10
    assert float(DutyDay.objects.get(worker__code="JA-02").hours) == 7.3  # kept to the tenth
    duty = DutyDay.objects.get(worker__code="JA-01")
    assert (duty.grid.code, duty.street.code, duty.district.code) == (G1, "420102001000", "420102000000")
    again = import_rows("duty_roster", rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert DutyDay.objects.count() == 2


def test_training_completions(city, staffing):
    rows = [
        {"worker_code": "JA-01", "course_code": "CW2020-01", "completed_on": "2020-03-02", "score": "92.5"},
        {"worker_code": "JA-01", "course_code": "CW2020-02", "completed_on": "2020-03-03", "score": ""},
        {"worker_code": "JA-01", "course_code": "NOPE-9", "completed_on": "2020-03-03", "score": "80"},
        {"worker_code": "GHOST", "course_code": "CW2020-01", "completed_on": "2020-03-03", "score": "80"},
        {"worker_code": "JA-02", "course_code": "CW2020-01", "completed_on": "2020-03-03", "score": "101"},
        {"worker_code": "JA-02", "course_code": "CW2020-02", "completed_on": "2099-01-01", "score": "90"},
    ]
    batch = import_rows("training_completions", rows)
    assert batch.inserted == 2
    assert batch.rejected == {"unknown_course": 1, "unknown_worker": 1, "invalid_number": 1, "future_date": 1}
    assert Completion.objects.get(course__code="CW2020-01").score == 92.5
    again = import_rows("training_completions", rows)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)


def test_the_six_2020_courses_are_seeded(db):
    from workforce.courses import ensure_2020_courses
    from workforce.models import Course

    assert list(Course.objects.values_list("code", flat=True)) == [f"CW2020-0{n}" for n in range(1, 7)]
    Course.objects.filter(code="CW2020-03").update(hours=3)
    ensure_2020_courses()  # after a later migrate: nothing doubled, an edit kept
    assert Course.objects.count() == 6 and Course.objects.get(code="CW2020-03").hours == 3
