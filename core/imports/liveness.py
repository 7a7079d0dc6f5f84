"""Whether the process that started an import is still at it (issue #11, fault-tolerant imports).

A batch row is written as ``running`` before the import's transaction, so that a failure can be
recorded; a process killed part-way (SIGKILL, out of memory, a power cut) leaves its transaction
rolled back but that row ``running`` for ever. Each import therefore holds a lock for its batch
that the database server or the operating system lets go of when the process or its connection
dies, and the next import marks the batches whose lock nobody holds as failed.

- PostgreSQL: a session advisory lock per batch, released by the server when the session ends
  (so it needs a session per client: not a pooler in transaction mode).
- SQLite: an ``flock`` on a file per batch beside the database file, released by the kernel when
  the process dies. An in-memory database is private to its process: there a batch is alive
  while this process holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.choices import ImportStatus

ABANDONED = _(
    "Abandoned: the process running this import ended before it finished (killed or crashed); nothing was kept."
)

LOCK_CLASS = 0x4C494D50  # the first key of our advisory locks ("LIMP"); the second is the batch id

_held: dict[int, int | None] = {}  # batches this process runs -> the lock file's descriptor (SQLite file)


def hold(batch_id: int) -> None:
    """Take this process's lock for the batch; call inside the transaction that creates its row,
    so that no other process sees the row before the lock is held."""
    fd = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, batch_id])
    elif not connection.is_in_memory_db():
        fd = os.open(_lock_file(batch_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:  # free unless a live process runs a batch of this number, which would be a bug
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
    _held[batch_id] = fd


def release(batch_id: int) -> None:
    """Let go of the batch's lock once its row says done or failed."""
    if batch_id not in _held:
        return
    fd = _held.pop(batch_id)
    if connection.vendor == "postgresql":
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, batch_id])
    elif fd is not None:
        with contextlib.suppress(OSError):
            _lock_file(batch_id).unlink()
        os.close(fd)


def mark_abandoned() -> list[int]:
    """Mark every ``running`` batch whose process is gone as failed; return their ids."""
    from core.models import ImportBatch

    running = ImportBatch.objects.filter(status=ImportStatus.RUNNING).values_list("pk", flat=True)
    gone = [pk for pk in running if pk not in _held and not _alive(pk)]
    for pk in gone:
        ImportBatch.objects.filter(pk=pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED, error=str(ABANDONED), finished_at=timezone.now()
        )
    return gone


def _alive(batch_id: int) -> bool:
    """Whether another process (or session) holds the batch's lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, batch_id])
            if not cursor.fetchone()[0]:
                return True
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, batch_id])
        return False
    if connection.is_in_memory_db():
        return False
    path = _lock_file(batch_id)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # and with it the lock it may have taken
    with contextlib.suppress(OSError):
        path.unlink()
    return False


def _lock_file(batch_id: int) -> Path:
    database = Path(connection.settings_dict["NAME"])
    folder = database.with_name(f"{database.name}.import-locks")
    folder.mkdir(exist_ok=True)
    return folder / f"{batch_id}.lock"
