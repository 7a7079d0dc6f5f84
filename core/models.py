"""Shared mechanics: audit (change log, read log), import batches and their rejects, API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.choices import ChangeAction, ChangeSource, ImportStatus, ReadAction, RejectStatus


def exactly_one_of(*fields: str) -> models.Q:
    """The condition of a CheckConstraint that exactly one of these nullable foreign keys is set."""
    condition = models.Q()
    for chosen in fields:
        condition |= models.Q(**{f"{f}__isnull": f != chosen for f in fields})
    return condition


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        abstract = True


class ChangeLoggedModel(TimeStampedModel):
    """Every save and delete of a subclass through the ORM lands in :class:`ChangeLog`.

    Bulk paths (imports) write their own set-based history rows; see core.imports.sql.
    """

    extra = models.JSONField(_("extra data"), default=dict, blank=True)

    class Meta:
        abstract = True


class ChangeLog(models.Model):
    """Who changed what, when, with the values before and after."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("user")
    )
    source = models.CharField(_("source"), max_length=16, choices=ChangeSource.choices)
    action = models.CharField(_("action"), max_length=16, choices=ChangeAction.choices)
    model = models.CharField(_("model"), max_length=64)
    object_id = models.BigIntegerField(_("object id"), null=True, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    batch = models.ForeignKey(
        "core.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("import")
    )

    class Meta:
        verbose_name = _("change log entry")
        verbose_name_plural = _("change log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["model", "object_id"], name="changelog_object")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.model}#{self.object_id}"


class ReadLog(models.Model):
    """One row per person record a user saw, searched, listed or exported."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, verbose_name=_("user"))
    action = models.CharField(_("action"), max_length=16, choices=ReadAction.choices)
    model = models.CharField(_("model"), max_length=64)
    object_id = models.BigIntegerField(_("object id"))
    path = models.CharField(_("path"), max_length=300, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("read log entry")
        verbose_name_plural = _("read log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["model", "object_id"], name="readlog_object"),
            models.Index(fields=["user", "at"], name="readlog_user_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_id} {self.action} {self.model}#{self.object_id}"


class ImportBatch(models.Model):
    """One attempt to import one file (or one pushed batch) of one kind."""

    kind = models.CharField(_("kind"), max_length=32, db_index=True)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size_bytes = models.BigIntegerField(_("size in bytes"), default=0)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("user")
    )
    source = models.CharField(_("source"), max_length=16, choices=ChangeSource.choices)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    rows = models.IntegerField(_("rows read"), default=0)
    inserted = models.IntegerField(_("inserted"), default=0)
    updated = models.IntegerField(_("updated"), default=0)
    unchanged = models.IntegerField(_("unchanged"), default=0)
    rejected = models.JSONField(_("rejected by reason"), default=dict)
    linked = models.JSONField(_("linked by method"), default=dict)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename} ({self.status})"

    @property
    def kind_label(self) -> str:
        from core.imports.kinds import kind_label

        return kind_label(self.kind)

    @property
    def linked_labels(self) -> list[tuple[str, int]]:
        from core.imports.reasons import link_method_label

        return [(link_method_label(m), n) for m, n in sorted(self.linked.items())]

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> dict:
        """The machine-readable summary promised by contracts.md (Summary)."""
        return {
            "batch": self.pk,
            "kind": self.kind,
            "status": self.status,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": dict(sorted(self.rejected.items())),
            "linked": dict(sorted(self.linked.items())),
            "error": self.error,
        }


class ImportRejection(models.Model):
    """A row that could not be used, kept whole with why, until it is corrected or dismissed."""

    batch = models.ForeignKey(
        ImportBatch, on_delete=models.CASCADE, related_name="rejections", verbose_name=_("import")
    )
    last_batch = models.ForeignKey(
        ImportBatch, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("last seen in")
    )
    kind = models.CharField(_("kind"), max_length=32)
    row_number = models.IntegerField(_("row"))
    reason = models.CharField(_("reason"), max_length=48, db_index=True)
    column = models.CharField(_("column"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    key_value = models.CharField(_("key"), max_length=120, blank=True)
    data = models.JSONField(_("row"))
    row_hash = models.CharField(max_length=64)
    times_seen = models.IntegerField(_("times seen"), default=1)
    status = models.CharField(_("status"), max_length=16, choices=RejectStatus.choices, default=RejectStatus.OPEN)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["batch_id", "row_number"]
        indexes = [
            models.Index(fields=["kind", "status", "row_hash"], name="reject_kind_status_hash"),
            models.Index(fields=["kind", "status", "key_value"], name="reject_kind_status_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} row {self.row_number}: {self.reason}"

    @property
    def sentence(self) -> str:
        from core.imports.reasons import reason_sentence

        return reason_sentence(self.reason, self.column, self.detail, kind=self.kind)


class ApiToken(models.Model):
    """A bearer token for the REST API. Only its SHA-256 is stored; the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        key = "ll_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_hash=cls.hash_key(key), prefix=key[:8])
        return token, key


class LoginAttempt(models.Model):
    """One sign-in attempt, kept for throttling (core.login) and as the security log of who tried
    which account from where. Usernames are stored as typed (lowercased), whether or not they exist."""

    at = models.DateTimeField(_("at"), default=timezone.now)
    username = models.CharField(_("username"), max_length=150)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    succeeded = models.BooleanField(_("succeeded"))

    class Meta:
        verbose_name = _("sign-in attempt")
        verbose_name_plural = _("sign-in attempts")
        indexes = [
            models.Index(fields=["username", "at"], name="login_attempt_user"),
            models.Index(fields=["ip", "at"], name="login_attempt_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {'ok' if self.succeeded else 'failed'} {self.at:%Y-%m-%d %H:%M}"


class TotpDevice(models.Model):
    """A staff member's authenticator app (RFC 6238 time-based one-time codes), the optional second
    factor at sign-in (core.two_factor). Unconfirmed until the first code from the app is checked."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(max_length=64)  # base32, shown once as a QR code
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    last_step = models.BigIntegerField(default=0)  # the newest 30-second step used: a code works once

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    def __str__(self) -> str:
        return f"{self.user} ({'on' if self.confirmed_at else 'pending'})"


class PolicyVersion(models.Model):
    """One edition of the policy table (core.policy); versions are never edited, only added."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    effective_from = models.DateTimeField(_("in force from"), db_index=True)
    values = models.JSONField(_("values"))
    note = models.TextField(_("why"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"v{self.number} ({self.effective_from:%Y-%m-%d})"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    """A background job as staff see it: what ran, when, how long, what it said and returned."""

    name = models.CharField(_("job"), max_length=100, db_index=True)
    arguments = models.JSONField(_("arguments"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    log = models.TextField(_("log"), blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("by")
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # host:pid:process start of the worker running it, so a job whose worker died can be found
    worker = models.CharField(_("worker"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-queued_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.status})"


class CanaryMark(models.Model):
    """One row per run of the queue canary (``linli jobs canary``): proof that a job went through
    the queue to a worker and ran exactly once."""

    marker = models.CharField(max_length=64, db_index=True)
    job = models.ForeignKey(Job, null=True, on_delete=models.SET_NULL, related_name="+")
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("queue canary mark")
        verbose_name_plural = _("queue canary marks")

    def __str__(self) -> str:
        return f"{self.marker} {self.written_at:%Y-%m-%d %H:%M:%S}"


class Capability(models.Model):
    """Holder of Linli's cross-app permissions; it has no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("see_whole_city", _("See the whole city regardless of assignments")),
            ("view_audit", _("Browse the change and read logs")),
            ("run_imports", _("Import files and resubmit rejected rows")),
            ("edit_policy", _("Edit the policy table")),
        ]

    def __str__(self) -> str:
        return "capability"
