"""Signing keys: creation, rotation, and the process-wide key ring used to sign and verify.

Private keys are sealed (Fernet) with a key derived from the server secret, so a copy of the
database alone cannot mint codes. Rotation (policy ``healthcode_key_days``) makes a new key the
signer; the old one keeps verifying until the last token it signed has expired.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
import time
from dataclasses import dataclass

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.models import PolicyVersion
from core.policy import policy
from healthcode.models import Revocation, SigningKey
from healthcode.tokens import Verifier, verifier_from_document

REFRESH_SECONDS = 1.0  # how stale a process's revocation list and key ring may be


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"linli-healthcode-signing-keys:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _raw_public(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _raw_private(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def create_key(now: dt.datetime | None = None) -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    public = _raw_public(private_key)
    return SigningKey.objects.create(
        kid=hashlib.sha256(public).hexdigest()[:8],
        public_key=public,
        private_key_sealed=_fernet().encrypt(_raw_private(private_key)),
        created_at=now or timezone.now(),
    )


def token_lifetime(now: dt.datetime | None = None) -> dt.timedelta:
    return dt.timedelta(minutes=policy(now).healthcode_token_minutes)


def rotate(now: dt.datetime | None = None, force: bool = False) -> SigningKey:
    """Make a new signing key when the current one is older than policy allows (or ``force``)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = SigningKey.objects.select_for_update().filter(retired_at__isnull=True).order_by("-created_at").first()
        max_age = dt.timedelta(days=policy(now).healthcode_key_days)
        if current is not None and not force and now - current.created_at < max_age:
            return current
        if current is not None:
            current.retired_at = now
            current.verify_until = now + token_lifetime(now)
            current.save(update_fields=["retired_at", "verify_until"])
        key = create_key(now)
    KEY_RING.invalidate()
    return key


def published_keys(now: dt.datetime | None = None) -> list[dict]:
    """The public keys a verifier needs: the signer and every retired key still verifying."""
    now = now or timezone.now()
    if not SigningKey.objects.filter(retired_at__isnull=True).exists():
        rotate(now, force=True)  # the first key: verifiers may ask before any code was minted
    keys = SigningKey.objects.exclude(verify_until__lte=now).order_by("-created_at")
    return [
        {
            "kid": key.kid,
            "public_key": base64.urlsafe_b64encode(bytes(key.public_key)).rstrip(b"=").decode(),
            "created_at": int(key.created_at.timestamp()),
            "signs_until": int(key.retired_at.timestamp()) if key.retired_at else None,
            "verify_until": int(key.verify_until.timestamp()) if key.verify_until else None,
        }
        for key in keys
    ]


def published_revocations(now: dt.datetime | None = None) -> dict:
    """Revocations still relevant (their tokens may not have expired yet)."""
    now = now or timezone.now()
    rows = Revocation.objects.filter(keep_until__gt=now).values_list("id", "serial", "subject", "not_before")
    serials: list[str] = []
    subjects: dict[str, int] = {}
    version = 0
    for pk, serial, subject, not_before in rows:
        version = max(version, pk)
        if serial:
            serials.append(serial)
        else:  # tokens issued up to the second of the change are revoked (mint starts a second later)
            stamp = int(not_before.timestamp()) + 1
            subjects[subject] = max(subjects.get(subject, 0), stamp)
    return {"version": version, "generated_at": int(now.timestamp()), "serials": serials, "subjects": subjects}


@dataclass
class Signer:
    kid: str
    private_key: Ed25519PrivateKey
    lifetime_seconds: int  # policy healthcode_token_minutes when the signer was loaded


class KeyRing:
    """Per process: the signer (with the policy's token lifetime), and a verifier whose keys and
    revocations are at most REFRESH_SECONDS old (three indexed max() queries a second decide
    whether to reload)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._signer: Signer | None = None
        self._verifier: Verifier | None = None
        self._stamp: tuple | None = None
        self._checked = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._signer, self._verifier, self._stamp, self._checked = None, None, None, 0.0

    def signer(self) -> Signer:
        self._refresh()
        signer = self._signer
        if signer is None:
            key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
            if key is None:
                key = rotate(force=True)
            raw = _fernet().decrypt(bytes(key.private_key_sealed))
            lifetime = int(token_lifetime().total_seconds())
            signer = Signer(key.kid, Ed25519PrivateKey.from_private_bytes(raw), lifetime)
            with self._lock:
                self._signer = signer
        return signer

    def verifier(self) -> Verifier:
        self._refresh()
        verifier = self._verifier
        if verifier is None:
            now = timezone.now()
            verifier = verifier_from_document({"keys": published_keys(now)}, published_revocations(now))
            with self._lock:
                self._verifier = verifier
        return verifier

    def _refresh(self) -> None:
        if time.monotonic() - self._checked < REFRESH_SECONDS:
            return
        stamp = (
            tuple(SigningKey.objects.aggregate(n=Max("id"), r=Max("retired_at")).values()),
            Revocation.objects.aggregate(n=Max("id"))["n"],
            PolicyVersion.objects.aggregate(n=Max("id"))["n"],  # the token lifetime may change
        )
        with self._lock:
            self._checked = time.monotonic()
            if stamp != self._stamp:
                self._stamp, self._signer, self._verifier = stamp, None, None


KEY_RING = KeyRing()
