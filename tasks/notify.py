"""Telling people about their tasks: a small sender protocol, the in-app inbox and a console log.

The senders in use are named by ``settings.LINLI_NOTIFY_SENDERS`` (dotted paths) when that setting
exists, else by :data:`SENDERS`; tests override either. An SMS or WeCom sender is one more class
with a ``send`` method.

Single actions call :func:`notify` (every sender, one message). Set-based paths (bulk actions, the
overdue sweep) write inbox rows themselves with one INSERT … SELECT when the inbox sender is in use
(:func:`inbox_in_use`) — one row per task, or one digest row for a user given more than
:data:`EACH_UP_TO` tasks at once — and give the other senders one digest per user
(:func:`send_digests`), so a sweep of 300,000 tasks does not make 300,000 calls.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.module_loading import import_string

from tasks.choices import NotificationKind

log = logging.getLogger("linli.notify")

SENDERS: list[str] = ["tasks.notify.InboxSender", "tasks.notify.ConsoleSender"]
# set-based paths: a user given more tasks than this at once gets one digest in the inbox instead
EACH_UP_TO = 20


@runtime_checkable
class Sender(Protocol):
    """Delivers one message about a task (or a digest, task None) to one user."""

    def send(self, user, message: str, task=None, *, kind: str = NotificationKind.INFO) -> None: ...


class InboxSender:
    """Writes a tasks.Notification row: the user's in-app inbox."""

    writes_inbox = True

    def send(self, user, message: str, task=None, *, kind: str = NotificationKind.INFO) -> None:
        from tasks.models import Notification

        Notification.objects.create(user=user, task=task, kind=kind, message=message[:2000])


class ConsoleSender:
    """Logs to the "linli.notify" logger (embedded mode, development, tests)."""

    writes_inbox = False

    def send(self, user, message: str, task=None, *, kind: str = NotificationKind.INFO) -> None:
        log.info("to %s [%s] task %s: %s", getattr(user, "username", user), kind, getattr(task, "pk", "-"), message)


def senders() -> list[Sender]:
    paths = getattr(settings, "LINLI_NOTIFY_SENDERS", None)
    return [import_string(path)() for path in (SENDERS if paths is None else paths)]


def inbox_in_use() -> bool:
    return any(getattr(s, "writes_inbox", False) for s in senders())


def notify(user, message: str, task=None, kind: str = NotificationKind.INFO) -> None:
    """One message to one user through every sender.

    The inbox row is part of the action's transaction; the other senders run after it commits, and
    a failing one (an SMS gateway being down) is logged, never undoing the action.
    """
    if user is None:
        return
    others = []
    for sender in senders():
        if getattr(sender, "writes_inbox", False):
            sender.send(user, message, task, kind=kind)
        else:
            others.append(sender)
    if others:
        transaction.on_commit(lambda: _deliver(others, user, message, task, kind))


def _deliver(others: list[Sender], user, message: str, task, kind: str) -> None:
    for sender in others:
        try:
            sender.send(user, message, task, kind=kind)
        except Exception:
            log.exception("sender %s failed", type(sender).__name__)


def send_digests(counts: dict[int, int], message_for_count, kind: str) -> None:
    """One message per user to the senders that are not the inbox (the inbox was written set-based)."""
    others = [s for s in senders() if not getattr(s, "writes_inbox", False)]
    if not others or not counts:
        return
    users = get_user_model().objects.in_bulk(list(counts))
    for user_id, n in counts.items():
        user = users.get(user_id)
        if user is None:
            continue
        for sender in others:
            try:
                sender.send(user, message_for_count(n), None, kind=kind)
            except Exception:
                log.exception("sender %s failed", type(sender).__name__)
