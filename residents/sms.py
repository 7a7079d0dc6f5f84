"""Sending SMS: a small pluggable sender named by ``settings.LINLI_SMS_SENDER`` (a dotted path).

Development and the embedded mode use :class:`ConsoleSender`, which writes the message to the log;
tests use :class:`MemorySender`. A real gateway (Aliyun, Tencent Cloud, an operator's SMPP) is one
more class with a ``send(phone, message)`` method that raises :class:`SmsError` when it fails.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("linli.sms")

DEFAULT_SENDER = "residents.sms.ConsoleSender"


class SmsError(Exception):
    """The gateway did not accept the message."""


@runtime_checkable
class SmsSender(Protocol):
    """Delivers one text message to one mainland mobile number."""

    def send(self, phone: str, message: str) -> None: ...


class ConsoleSender:
    """Logs the message at WARNING, so that it shows with the default log level in development.

    Not for production: sign-in codes end up in the log."""

    def send(self, phone: str, message: str) -> None:
        log.warning("SMS to %s (console sender, development only): %s", phone, message)


@dataclass(frozen=True)
class SentMessage:
    phone: str
    message: str


class MemorySender:
    """Keeps messages in :attr:`outbox` (process-wide) for tests to read."""

    outbox: ClassVar[list[SentMessage]] = []
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def send(self, phone: str, message: str) -> None:
        with self._lock:
            self.outbox.append(SentMessage(phone, message))

    @classmethod
    def clear(cls) -> None:
        with cls._lock:
            cls.outbox.clear()

    @classmethod
    def last_to(cls, phone: str) -> SentMessage | None:
        with cls._lock:
            return next((m for m in reversed(cls.outbox) if m.phone == phone), None)


@contextmanager
def kept_in_memory() -> Iterator[list[SentMessage]]:
    """Messages sent inside the block go to :class:`MemorySender` (the demo's set-up, which would
    otherwise print a text per generated request); the configured sender is back afterwards."""
    previous = getattr(settings, "LINLI_SMS_SENDER", DEFAULT_SENDER)
    settings.LINLI_SMS_SENDER = "residents.sms.MemorySender"
    try:
        yield MemorySender.outbox
    finally:
        settings.LINLI_SMS_SENDER = previous


def get_sender() -> SmsSender:
    """The configured sender, looked up per call so that tests can override the setting."""
    return import_string(getattr(settings, "LINLI_SMS_SENDER", DEFAULT_SENDER))()


def send_sms(phone: str, message: str) -> None:
    """Send with the configured sender; any failure becomes :class:`SmsError`."""
    try:
        get_sender().send(phone, message)
    except SmsError:
        raise
    except Exception as exc:  # a gateway client may raise anything; the caller needs one type
        log.exception("SMS sender failed")
        raise SmsError(str(exc)) from exc
