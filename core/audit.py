"""The two audit layers: the change log (written on every ORM save/delete of a ChangeLoggedModel)
and the read log (written by the views and API that show, list, search or export person records).

The acting user and channel come from a context variable set by the request middleware, the API
auth and the import runner, so the mechanics need no arguments threaded through business code.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, models
from django.db.models import F
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from core.choices import ChangeAction, ChangeSource, ReadAction


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    source: str
    path: str = ""
    ip: str | None = None
    batch_id: int | None = None


SYSTEM_ACTOR = Actor(user_id=None, source=ChangeSource.SYSTEM)
_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar("linli_actor", default=SYSTEM_ACTOR)


def current_actor() -> Actor:
    return _actor.get()


@contextlib.contextmanager
def acting_as(user, source: str, path: str = "", ip: str | None = None, batch_id: int | None = None) -> Iterator[None]:
    """Attribute every change and read inside the block to ``user`` via ``source``."""
    user_id = getattr(user, "pk", None) if user is not None and getattr(user, "is_authenticated", False) else None
    token = _actor.set(Actor(user_id=user_id, source=source, path=path[:300], ip=ip, batch_id=batch_id))
    try:
        yield
    finally:
        _actor.reset(token)


def _jsonable(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def snapshot(instance: models.Model) -> dict:
    """Field values of a row as JSON-ready data (foreign keys by id)."""
    return {
        field.attname: _jsonable(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if field.attname not in {"created_at", "updated_at"}
    }


def _on_pre_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        instance._linli_before = None
        return
    before = sender._default_manager.filter(pk=instance.pk).first()
    instance._linli_before = snapshot(before) if before is not None else None


def _on_post_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    from core.models import ChangeLog

    after = snapshot(instance)
    before = None if created else getattr(instance, "_linli_before", None)
    if before is not None:
        changed = {k for k in after if before.get(k) != after[k]}
        if not changed:
            return
        before = {k: before.get(k) for k in sorted(changed)}
        after = {k: after[k] for k in sorted(changed)}
    actor = current_actor()
    ChangeLog.objects.create(
        user_id=actor.user_id,
        source=actor.source,
        action=ChangeAction.CREATE if created or before is None else ChangeAction.UPDATE,
        model=sender._meta.label_lower,
        object_id=instance.pk,
        object_repr=str(instance)[:200],
        before=before,
        after=after,
        batch_id=actor.batch_id,
    )


def _on_post_delete(sender, instance, **kwargs):
    from core.models import ChangeLog

    actor = current_actor()
    ChangeLog.objects.create(
        user_id=actor.user_id,
        source=actor.source,
        action=ChangeAction.DELETE,
        model=sender._meta.label_lower,
        object_id=instance.pk,
        object_repr=str(instance)[:200],
        before=snapshot(instance),
        after=None,
        batch_id=actor.batch_id,
    )


def connect_change_logging(model: type[models.Model]) -> None:
    uid = f"linli-changelog-{model._meta.label_lower}"
    pre_save.connect(_on_pre_save, sender=model, dispatch_uid=uid + "-pre")
    post_save.connect(_on_post_save, sender=model, dispatch_uid=uid + "-post")
    post_delete.connect(_on_post_delete, sender=model, dispatch_uid=uid + "-del")


# --- read log ----------------------------------------------------------------------------------


def log_reads(user, action: ReadAction | str, model: type[models.Model], object_ids: Iterable[int]) -> int:
    """Record that ``user`` saw these records. Returns the number of rows written."""
    from core.models import ReadLog

    actor = current_actor()
    now = timezone.now()
    rows = [
        ReadLog(
            at=now,
            user_id=getattr(user, "pk", None),
            action=action,
            model=model._meta.label_lower,
            object_id=object_id,
            path=actor.path,
            ip=actor.ip,
        )
        for object_id in object_ids
    ]
    ReadLog.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def log_reads_of_queryset(user, action: ReadAction | str, queryset: models.QuerySet) -> int:
    """Set-based read log for exports: one INSERT … SELECT over the exported rows' ids."""
    from core.models import ReadLog

    actor = current_actor()
    ids = queryset.order_by().annotate(read_id=F("pk")).values("read_id")
    id_sql, id_params = ids.query.sql_with_params()
    sql = (
        f"INSERT INTO {ReadLog._meta.db_table} (at, user_id, action, model, object_id, path, ip) "
        f"SELECT %s, %s, %s, %s, ids.read_id, %s, %s FROM ({id_sql}) AS ids"
    )
    params = [
        timezone.now(),
        getattr(user, "pk", None),
        str(action),
        queryset.model._meta.label_lower,
        actor.path,
        actor.ip,
        *id_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
