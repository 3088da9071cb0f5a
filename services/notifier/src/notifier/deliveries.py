"""The delivery log's queries: has this send gone out, record its outcome, count by status."""
from __future__ import annotations

import peewee

from notifier.models import SENT, Delivery


def find_sent(request_id: str, template: str, send_key: str) -> Delivery | None:
    """Return the delivery of this send if its email already went out."""
    return Delivery.get_or_none(
        (Delivery.request_id == request_id)
        & (Delivery.template == template)
        & (Delivery.send_key == send_key)
        & (Delivery.status == SENT)
    )


def record(request_id: str, template: str, send_key: str, **outcome) -> None:
    """Insert or update the delivery of this send with `outcome`, counting one more attempt."""
    row = {"request_id": request_id, "template": template, "send_key": send_key, "attempts": 1, **outcome}
    (
        Delivery.insert(**row)
        .on_conflict(
            conflict_target=[Delivery.request_id, Delivery.template, Delivery.send_key],
            update={**{getattr(Delivery, k): v for k, v in outcome.items()}, Delivery.attempts: Delivery.attempts + 1},
        )
        .execute()
    )


def counts_by_status() -> dict[str, int]:
    """Return how many deliveries are in each status."""
    query = Delivery.select(Delivery.status, peewee.fn.COUNT(Delivery.id)).group_by(Delivery.status)
    return dict(query.tuples())
