"""The versioned policy table and background jobs (Huey: SQLite embedded, Redis in production)."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.test import Client
from django.utils import timezone

from core.jobs import enqueue, job
from core.models import Job, PolicyVersion
from core.policy import do_update_policy, policy

pytestmark = pytest.mark.django_db


def test_defaults_then_versions_with_history(django_user_model):
    assert policy().fever_threshold_c == 37.3 and policy().version is None
    admin = django_user_model.objects.create_user("policy_admin")
    first = do_update_policy({"close_contact_quarantine_days": 21}, admin, "14+7 (later editions)")
    assert policy().close_contact_quarantine_days == 21 and policy().version == first.number
    future = do_update_policy(
        {"close_contact_quarantine_days": 7}, admin, "9th edition", effective_from=timezone.now() + dt.timedelta(days=1)
    )
    assert policy().close_contact_quarantine_days == 21
    assert policy(timezone.now() + dt.timedelta(days=2)).close_contact_quarantine_days == 7
    assert future.values["fever_threshold_c"] == 37.3  # untouched keys carry over
    assert PolicyVersion.objects.count() == 2


@pytest.mark.parametrize(
    "changes",
    [
        {"fever_threshold_c": "hot"},
        {"nonsense": 1},
        {"task_deadline_hours": {"notify": -2}},
        {"ewarn_levels": "district"},  # a list item takes a list
        {"ewarn_levels": ["district", "town"]},  # of allowed values
    ],
)
def test_bad_policy_values_are_refused(changes):
    with pytest.raises(ValueError):
        do_update_policy(changes, None, "bad")
    assert not PolicyVersion.objects.exists()


def test_policy_page(city):
    admin = city.staff("pol_admin", "administrator", city.divisions["420100000000"])
    worker = city.staff("pol_grid", "grid_worker", city.grid("420102", 1))
    client = Client()
    client.force_login(worker)
    assert "37.3" in client.get("/policy/").content.decode()
    assert client.post("/policy/", {"fever_threshold_c": "37.5", "note": "x"}).status_code == 403
    client.force_login(admin)
    client.post("/policy/", {"fever_threshold_c": "37.5", "note": "stricter"})
    assert policy().fever_threshold_c == 37.5
    assert "stricter" in client.get("/policy/").content.decode()
    # a list shows as JSON and comes back as a list, so saving the page again keeps it
    page = client.get("/policy/").content.decode()
    assert "[&quot;district&quot;, &quot;street&quot;]" in page
    client.post("/policy/", {"ewarn_levels": '["district", "street", "community"]', "note": "finer"})
    assert policy().ewarn_levels == ["district", "street", "community"]


@job("tests.add")
def _add(a: int, b: int) -> int:
    return a + b


@job("tests.fail")
def _fail() -> None:
    raise RuntimeError("boom")


def test_jobs_are_recorded():
    done = enqueue("tests.add", a=2, b=3)
    assert (done.status, done.result) == ("done", 5) and done.started_at and done.finished_at
    failed = enqueue("tests.fail")
    assert failed.status == "failed" and "boom" in failed.error
    assert Job.objects.count() == 2


def test_jobs_run_through_redis():
    """Production runs jobs through Redis; a consumer on another queue executes what was enqueued."""
    redis = pytest.importorskip("redis")
    url = os.environ.get("LINLI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running")
    from huey import RedisHuey

    queue = RedisHuey("linli-test", url=url, immediate=False)
    queue.flush()
    seen = []

    @queue.task()
    def remember(value):
        seen.append(value)
        return value * 2

    result = remember(21)
    assert queue.pending_count() == 1
    task = queue.dequeue()
    queue.execute(task)
    assert seen == [21] and result.get() == 42
    queue.flush()


@pytest.mark.parametrize("detectors", [{"cidras": {}}, {"cidars": {"percentil": 90}}, {"cidars": 90}, {}])
def test_an_app_refuses_values_it_cannot_run(detectors):
    """ewarn registers a check: an unknown detector or parameter is refused when saved."""
    with pytest.raises(ValueError):
        do_update_policy({"ewarn_detectors": detectors}, None, "typo")
    do_update_policy({"ewarn_detectors": {"ears_c3": {"min_sigma": 1.5}}}, None, "fine")
    assert policy().ewarn_detectors == {"ears_c3": {"min_sigma": 1.5}}
