"""The Ed25519 key that signs the history's chain head, and the public keys that verify it.

AUDIT_SIGNING_KEY names the private key's PEM file. In development and tests, when it is unset, a
key is generated once under the var/ folder so a fresh checkout runs; production refuses to start
without one. Verifying needs only public keys: the signing key's own and any in AUDIT_VERIFY_KEYS.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from invite_common.config import Settings

log = logging.getLogger(__name__)

DEV_KEY_FILE = "audit-signing-key.pem"


class SigningKeyMissing(Exception):
    """No usable AUDIT_SIGNING_KEY where one is required."""


def key_id(public: Ed25519PublicKey) -> str:
    """A short name for a public key, stored beside each signature."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    """The public key as PEM text, for operators to keep apart from the database."""
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class Signer:
    """Signs chain heads and derives the key that makes actors' pseudonyms."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, message: bytes) -> str:
        return self.private.sign(message).hex()

    def pseudonym_key(self) -> bytes:
        # Derived rather than configured: one secret to keep, and pseudonyms cannot be reversed
        # by guessing emails without it.
        raw = self.private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return hmac.new(raw, b"invite-users history pseudonyms v1", hashlib.sha256).digest()


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyMissing(f"AUDIT_SIGNING_KEY {path} cannot be read as a PEM private key: {exc.__class__.__name__}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyMissing(f"AUDIT_SIGNING_KEY {path} is not an Ed25519 key")
    return key


def _dev_key(var_dir: str) -> Ed25519PrivateKey:
    path = Path(var_dir) / DEV_KEY_FILE
    if path.exists():
        return _load_private(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # created readable by this user only, and never replaced once there (O_EXCL)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load_private(path)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    log.warning("AUDIT_SIGNING_KEY is unset: generated a development signing key", extra={"path": str(path)})
    return key


def load_signer(settings: Settings) -> Signer:
    """The signing key of AUDIT_SIGNING_KEY, or a generated development key outside production."""
    if settings.audit_signing_key:
        return Signer(_load_private(Path(settings.audit_signing_key)))
    if settings.env.lower() == "production":
        raise SigningKeyMissing("AUDIT_SIGNING_KEY must name the history's Ed25519 private key in production")
    return Signer(_dev_key(settings.var_dir))


def load_public_key(path: str) -> Ed25519PublicKey:
    """Read an Ed25519 public key (or a private key, keeping only its public half) from a PEM file."""
    data = Path(path).read_bytes()
    if b"PRIVATE KEY" in data:
        return _load_private(Path(path)).public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyMissing(f"{path} is not an Ed25519 public key")
    return key


def load_public_pem(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its PEM text (as public_pem writes it)."""
    key = serialization.load_pem_public_key(text.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyMissing("not an Ed25519 public key")
    return key


def verify_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """The public keys a verifier trusts, by key id: those in AUDIT_VERIFY_KEYS and the signing key's own."""
    keys = [load_public_key(p.strip()) for p in settings.audit_verify_keys.split(",") if p.strip()]
    try:
        keys.append(load_signer(settings).public)
    except SigningKeyMissing:
        if not keys:
            raise
    return {key_id(k): k for k in keys}


def signature_valid(public: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    """Tell whether `signature_hex` is `public`'s signature of `message`."""
    try:
        public.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
