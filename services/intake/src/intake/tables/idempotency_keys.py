"""The idempotency_key table: the answer given to a requester's `Idempotency-Key`, to replay on a retry."""
from __future__ import annotations

from intake.models import IdempotencyKey


def find(requester: str, key: str) -> IdempotencyKey | None:
    """The answer already given to this requester's key, or None."""
    return IdempotencyKey.get_or_none(requester=requester, key=key)


def exists(requester: str, key: str) -> bool:
    """Whether this requester's key was already used."""
    return IdempotencyKey.select().where((IdempotencyKey.requester == requester) & (IdempotencyKey.key == key)).exists()


def record(requester: str, key: str, fingerprint: str, request_id: str) -> None:
    """Remember the request a key made, to answer a retry with it."""
    IdempotencyKey.create(requester=requester, key=key, fingerprint=fingerprint, request_id=request_id)
