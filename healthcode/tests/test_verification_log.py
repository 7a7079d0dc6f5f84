"""The verification log: batched, written behind the request when asked, nothing lost on a failure."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from healthcode.models import Verification
from healthcode.services import VerificationLog


def row() -> tuple:
    return (timezone.now(), "valid", "green", "0a0b0c0d", "a1b2c3d4e5f6", None, "api")


@pytest.mark.django_db
def test_the_request_that_fills_a_batch_writes_it():
    log = VerificationLog(write_behind=False)
    for _ in range(log.BATCH - 1):
        log.add(row())
    assert Verification.objects.count() == 0
    log.add(row())
    assert Verification.objects.count() == log.BATCH
    first = Verification.objects.first()
    assert abs((timezone.now() - first.at).total_seconds()) < 60 and first.serial == "a1b2c3d4e5f6"


@pytest.mark.django_db(transaction=True)
def test_written_behind_by_a_thread():
    log = VerificationLog(write_behind=True)
    for _ in range(log.BATCH):
        log.add(row())
    deadline = time.monotonic() + 10
    while Verification.objects.count() < log.BATCH and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Verification.objects.count() == log.BATCH


@pytest.mark.django_db
def test_rows_are_kept_when_the_insert_fails(monkeypatch):
    log = VerificationLog(write_behind=False)
    log.add(row())

    def broken(*args, **kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr("healthcode.services._db_row", broken)
    with pytest.raises(RuntimeError):
        log.flush()
    monkeypatch.undo()
    assert log.flush() == 1 and Verification.objects.count() == 1
