"""Structured logs: one JSON object per line, with personal identifiers masked in every message.

``LINLI_LOG_FORMAT=json`` (the default under ``linli serve``) writes each record as JSON with the
request it belongs to (request id, user id, method, route); ``plain`` is for a developer's console.

Masking happens in a handler filter, so it covers every logger — Django's own "Not Found:
/people/search/?q=420102…" as much as ours: an 18-character identity number keeps its region and
last four (domain.md §2, as on screen), a mobile number its first three and last four.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import traceback

from people.identity import mask_id_number, mask_phone

# An identity number (17 digits and a check character) or a mainland mobile number, not inside a
# longer run of digits (an import's row counts, a timestamp in microseconds).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")

# The request a log line belongs to, set by core.middleware.ObservabilityMiddleware.
REQUEST: contextvars.ContextVar[dict | None] = contextvars.ContextVar("linli_request", default=None)


def mask_identifiers(text: str) -> str:
    """``text`` with every identity and mobile number in it masked."""
    if not any(ch.isdigit() for ch in text):
        return text
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group()), text)
    return _PHONE.sub(lambda m: mask_phone(m.group()), text)


class MaskIdentifiers(logging.Filter):
    """Rewrites the record's message (after %-formatting) with identifiers masked; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_identifiers(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_identifiers("".join(traceback.format_exception(*record.exc_info)).rstrip())
        elif record.exc_text:
            record.exc_text = mask_identifiers(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the request's fields
    and any ``extra={...}`` fields given to the logging call."""

    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = REQUEST.get()
        if request:
            entry.update({key: value for key, value in request.items() if key not in entry})
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: str, level: str, access_log: bool) -> dict:
    """The LOGGING setting: one console handler, masked, as JSON or plain text."""
    if log_format not in {"json", "plain"}:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"LINLI_LOG_FORMAT must be json or plain, got {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": "core.logs.MaskIdentifiers"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "core.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["mask"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # one line per request (core.middleware.ObservabilityMiddleware), when asked for
            "linli.access": {"level": "INFO" if access_log else "WARNING", "propagate": True},
        },
    }
