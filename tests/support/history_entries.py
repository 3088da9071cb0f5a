"""Entries of intake's request history written as requests and consumed messages write them, for the
audit tests (the database must be bound: intake_db)."""
from __future__ import annotations

import datetime as dt

from intake import history
from intake.audit import chain
from intake.db import database


def record(request_id, event, actor="amy@tech.gov.sg", at=None, **fields):
    """Append one entry in its own transaction, as a request or a consumed message would."""
    with database.atomic():
        history.append(request_id, event, actor=actor, at=at or dt.datetime.now(dt.timezone.utc), **fields)


def sample_history(signer, n_requests=3):
    """A few requests' worth of linked entries, with a signed head over all of them."""
    for i in range(n_requests):
        rid = f"req-{i}"
        record(rid, "submit", to_state="submitted", details={"method": "create_account"})
        record(rid, "approve", actor="bob@tech.gov.sg", from_state="submitted", to_state="approved", note="Welcome",
               source_seq=1)
        record(rid, "provision", actor="system", from_state="approved", to_state="account_created",
               details={"username": f"vendor{i}"}, source_seq=2)
    chain.link_pending(signer)
    chain.sign_head(signer)
