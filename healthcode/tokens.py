"""The signed health-code token: pure functions, usable without a database (offline at a gate).

Layout (32-byte payload, big-endian), then a 64-byte Ed25519 signature over ``DOMAIN + payload``:

    version u8 = 1 | kid 4 bytes | subject 12 bytes | colour u8 | issued u32 | expires u32 | serial 6 bytes

and the text form is ``LL1:`` + base64url(payload + signature), 132 characters, which fits a
version-7 QR code at level M. The token holds no name and no ID number: only a random pseudonym
(``subject``) that the server alone maps back to a person (issue #5, Security).
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from healthcode.choices import BYTE_COLOUR, COLOUR_BYTE, Verdict

PREFIX = "LL1:"
VERSION = 1
DOMAIN = b"linli-healthcode-v1"
PAYLOAD = struct.Struct(">B4s12sBII6s")
SIGNATURE_BYTES = 64
TOKEN_BYTES = PAYLOAD.size + SIGNATURE_BYTES
CLOCK_SKEW_SECONDS = 60  # a gate phone's clock may be a minute off


@dataclass(frozen=True)
class Claims:
    kid: str
    subject: str
    colour: str
    issued_at: int
    expires_at: int
    serial: str


@dataclass(frozen=True)
class PublicKeyInfo:
    """A verifying key and the times it covers: tokens must be issued before ``signs_until``
    (when the key stopped signing, if it has) and are accepted until ``verify_until``."""

    key: Ed25519PublicKey
    signs_until: int | None = None
    verify_until: int | None = None


@dataclass(frozen=True)
class Result:
    verdict: str
    claims: Claims | None = None

    @property
    def colour(self) -> str | None:
        return self.claims.colour if self.claims and self.verdict == Verdict.VALID else None

    def as_dict(self) -> dict:
        claims = self.claims
        return {
            "verdict": self.verdict,
            "valid": self.verdict == Verdict.VALID,
            "colour": self.colour,
            "kid": claims.kid if claims else None,
            "serial": claims.serial if claims else None,
            "issued_at": claims.issued_at if claims else None,
            "expires_at": claims.expires_at if claims else None,
        }


def sign(private_key: Ed25519PrivateKey, claims: Claims) -> str:
    payload = PAYLOAD.pack(
        VERSION,
        bytes.fromhex(claims.kid),
        bytes.fromhex(claims.subject),
        COLOUR_BYTE[claims.colour],
        claims.issued_at,
        claims.expires_at,
        bytes.fromhex(claims.serial),
    )
    signature = private_key.sign(DOMAIN + payload)
    return PREFIX + base64.urlsafe_b64encode(payload + signature).rstrip(b"=").decode("ascii")


def parse(token: str) -> tuple[Claims, bytes, bytes] | None:
    """The claims, payload and signature of a well-formed token, or None."""
    if not isinstance(token, str) or not token.startswith(PREFIX) or len(token) > 200:
        return None
    body = token[len(PREFIX) :].strip()
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != TOKEN_BYTES:
        return None
    payload, signature = raw[: PAYLOAD.size], raw[PAYLOAD.size :]
    version, kid, subject, colour, issued, expires, serial = PAYLOAD.unpack(payload)
    if version != VERSION or colour not in BYTE_COLOUR:
        return None
    claims = Claims(kid.hex(), subject.hex(), str(BYTE_COLOUR[colour]), issued, expires, serial.hex())
    return claims, payload, signature


@dataclass
class Verifier:
    """Checks tokens with public keys and a revocation list only: what a gate holds offline."""

    keys: Mapping[str, PublicKeyInfo]
    revoked_serials: set[str] = field(default_factory=set)
    revoked_subjects: Mapping[str, int] = field(default_factory=dict)  # subject -> tokens issued before

    def verify(self, token: str, now: int) -> Result:
        parsed = parse(token)
        if parsed is None:
            return Result(Verdict.MALFORMED)
        claims, payload, signature = parsed
        info = self.keys.get(claims.kid)
        if info is None:
            return Result(Verdict.UNKNOWN_KEY, claims)
        try:
            info.key.verify(signature, DOMAIN + payload)
        except InvalidSignature:
            return Result(Verdict.FORGED, claims)
        if claims.expires_at <= claims.issued_at or (
            info.signs_until is not None and claims.issued_at > info.signs_until + CLOCK_SKEW_SECONDS
        ):
            return Result(Verdict.FORGED, claims)  # a retired key does not sign new tokens
        if now >= claims.expires_at + CLOCK_SKEW_SECONDS or claims.issued_at > now + CLOCK_SKEW_SECONDS:
            return Result(Verdict.EXPIRED, claims)
        if info.verify_until is not None and now >= info.verify_until + CLOCK_SKEW_SECONDS:
            return Result(Verdict.EXPIRED, claims)
        if claims.serial in self.revoked_serials:
            return Result(Verdict.REVOKED, claims)
        revoked_before = self.revoked_subjects.get(claims.subject)
        if revoked_before is not None and claims.issued_at < revoked_before:
            return Result(Verdict.REVOKED, claims)
        return Result(Verdict.VALID, claims)


def public_key_from_raw(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def verifier_from_document(keys_doc: Mapping, revocations_doc: Mapping | None = None) -> Verifier:
    """Build a verifier from the published JSON documents (``/api/healthcode/keys`` and
    ``/api/healthcode/revocations``), as a gate caches them."""
    keys = {
        item["kid"]: PublicKeyInfo(
            public_key_from_raw(base64.urlsafe_b64decode(item["public_key"] + "=" * (-len(item["public_key"]) % 4))),
            item.get("signs_until"),
            item.get("verify_until"),
        )
        for item in keys_doc.get("keys", [])
    }
    revocations_doc = revocations_doc or {}
    return Verifier(
        keys=keys,
        revoked_serials=set(revocations_doc.get("serials", [])),
        revoked_subjects=dict(revocations_doc.get("subjects", {})),
    )
