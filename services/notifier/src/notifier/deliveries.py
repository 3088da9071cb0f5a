"""The delivery log's queries: has this send gone out, record its outcome, count by status."""
from __future__ import annotations

import peewee

from invite_common.db import utcnow
from invite_common.statements import Statements

from notifier.models import SENT, Delivery


def find_sent(request_id: str, template: str, send_key: str) -> Delivery | None:
    """Return the delivery of this send (its id only) if its email already went out."""
    # by the unique key alone, the status checked here: with status in the WHERE clause PostgreSQL
    # may prefer the index on status (every sent email) to the unique one and read them all
    found = _deliveries.get(("id", "status"), request_id=request_id, template=template, send_key=send_key)
    return found if found is not None and found.status == SENT else None


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
