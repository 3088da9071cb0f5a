"""The delivery log: one row per (request, template, send), saying whether its email went out."""
from __future__ import annotations

import peewee

from invite_common.db import UTCDateTimeField, utcnow
from invite_common.statements import Statements

from notifier.db import BaseModel

SENT = "sent"
FAILED = "failed"

# Widths of the key columns; a command whose ids are longer is refused before any email goes out,
# since an email whose outcome cannot be recorded would be sent again on every retry.
REQUEST_ID_MAX = 64
TEMPLATE_MAX = 64
SEND_KEY_MAX = 100


class Delivery(BaseModel):
    """What became of one email. Holds no address or body: the recipient's domain is enough to
    tell a provider's outage from a single bad mailbox."""

    request_id = peewee.CharField(max_length=REQUEST_ID_MAX)
    template = peewee.CharField(max_length=TEMPLATE_MAX)
    send_key = peewee.CharField(max_length=SEND_KEY_MAX)
    recipient_domain = peewee.CharField(max_length=253, default="")
    smtp_message_id = peewee.CharField(max_length=320, null=True)
    status = peewee.CharField(max_length=16, index=True)  # SENT or FAILED
    # How many outcomes were recorded for this send: more than one when a failed send was
    # tried again under the same key (e.g. a dead-lettered command put back in its queue).
    attempts = peewee.IntegerField(default=0)
    error = peewee.TextField(default="")
    sent_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "delivery"
        indexes = ((("request_id", "template", "send_key"), True),)


def find_sent(request_id: str, template: str, send_key: str) -> Delivery | None:
    """Return the delivery of this send (its id only) if its email already went out."""
    return _deliveries.get(("id",), request_id=request_id, template=template, send_key=send_key, status=SENT)


def record(request_id: str, template: str, send_key: str, **outcome) -> None:
    """Insert or update the delivery of this send with `outcome`, counting one more attempt."""
    row = {"request_id": request_id, "template": template, "send_key": send_key, "attempts": 1,
           "created_at": utcnow(), **outcome}
    st = _deliveries

    def build(param: str, postgres: bool) -> str:
        cols = ", ".join(st.column(c) for c in row)
        marks = ", ".join(param for _ in row)
        keys = ", ".join(st.column(c) for c in ("request_id", "template", "send_key"))
        sets = ", ".join(f"{st.column(c)} = excluded.{st.column(c)}" for c in outcome)
        attempts = st.column("attempts")
        return (f'INSERT INTO "{st.table}" ({cols}) VALUES ({marks}) ON CONFLICT ({keys}) '
                f'DO UPDATE SET {sets}, {attempts} = "{st.table}".{attempts} + 1')

    st.execute(st.sql(("record", tuple(row)), build), st.db_values(row))


def counts_by_status() -> dict[str, int]:
    """Return how many deliveries are in each status."""
    query = Delivery.select(Delivery.status, peewee.fn.COUNT(Delivery.id)).group_by(Delivery.status)
    return dict(query.tuples())


_deliveries = Statements(Delivery)
