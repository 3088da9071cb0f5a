"""Retention: personal data of long-closed requests leaves intake's database (SQLite: its files;
PostgreSQL: its tables after VACUUM), the erasure is recorded, and the chain still verifies."""
import datetime as dt
from pathlib import Path


from invite_common.db import utcnow
from invite_common.outbox import outbox_model
from intake.audit import chain, retention
from intake.audit.verify import ERASURE_EVENT, verify
from intake.db import database
from intake.models import HistoryEntry, InviteRequest
from tests.intake.audit.test_audit_api import apply, changed
from tests.support.callers import as_user
import pytest

pytestmark = pytest.mark.both_databases("retention deletes by date in SQL")

VENDOR = {
    "method": "create_account", "email": "zebulon.quixote@vendor-erasable.com", "user_type": "vendor",
    "username": "v-zquixote", "first_name": "Zebulon", "last_name": "Quixotic", "contact_number": "+65 9123 4567",
    "organisation": "Erasable Pte Ltd", "seed_onboarding": False, "reason": "Reason text xyzzy-4417",
}
# what must be gone afterwards (the phone number as stored); the TechPass username stays in
# taken_username, which keeps the name from being given twice while the account exists
ERASED = ["zebulon.quixote@vendor-erasable.com", "Zebulon", "Quixotic", "+6591234567", "xyzzy-4417",
          "rita.requester@tech.gov.sg", "Comment plugh-8812"]


def _closed_long_ago(client, signer):
    rita = as_user(client, "rita.requester@tech.gov.sg")
    request_id = rita("POST", "/api/v1/invites", json=VENDOR).get_json()["id"]
    keep_id = as_user(client, "amy@tech.gov.sg")("POST", "/api/v1/invites", json=VENDOR | {
        "email": "recent.person@vendor-kept.com", "username": "v-recentp", "reason": "Still recent",
        "first_name": "Recent", "last_name": "Person", "contact_number": "+65 6123 0000"}).get_json()["id"]
    assert as_user(client, "bob@tech.gov.sg")("POST", f"/api/v1/invites/{request_id}/approve",
                                              json={"comment": "Comment plugh-8812"}).status_code == 202
    apply(changed(request_id, 1, "submitted", "approved", "approve", actor="bob@tech.gov.sg", note="Comment plugh-8812"))
    apply(changed(request_id, 2, "approved", "account_created", "provision", details={"username": "v-zquixote"}))
    apply(changed(request_id, 3, "account_created", "emailed", "mark_emailed", actor="notifier",
                  details={"smtp_message_id": "<m1@invites.local>"}))
    chain.link_pending(signer)
    chain.sign_head(signer)
    long_ago = utcnow() - dt.timedelta(days=400)
    InviteRequest.update(updated_at=long_ago).where(InviteRequest.id == request_id).execute()
    outbox = outbox_model(database)
    outbox.update(published_at=long_ago).execute()  # the relay sent them long ago
    return request_id, keep_id


def test_erasure_removes_personal_data_keeps_pseudonyms_and_the_chain_verifies(intake_db, client, signer, public_keys, db_url):
    request_id, keep_id = _closed_long_ago(client, signer)
    assert retention.erase_expired(365, signer) == 1
    assert retention.erase_expired(365, signer) == 0  # done once

    invite = InviteRequest.get_by_id(request_id)
    assert invite.email.startswith("person-") and invite.requester.startswith("person-") and invite.erased_at
    assert (invite.first_name, invite.last_name, invite.contact_number, invite.reason) == ("", "", "", "")
    assert InviteRequest.get_by_id(keep_id).email == "recent.person@vendor-kept.com"
    entries = list(HistoryEntry.select().where(HistoryEntry.request_id == request_id).order_by(HistoryEntry.id))
    assert [e.event for e in entries][-1] == ERASURE_EVENT
    approve = next(e for e in entries if e.event == "approve")
    assert approve.actor == approve.actor_ref and approve.actor.startswith("person-") and approve.note == ""
    assert all(e.salt is None for e in entries[:-1])

    chain.link_pending(signer)
    chain.sign_head(signer)
    result = verify(public_keys)
    assert result.intact, result.reason

    if db_url.startswith("sqlite"):
        path = Path(db_url.split(":///", 1)[1])
        files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
        stored = b"".join(p.read_bytes() for p in files)
        assert b"recent.person@vendor-kept.com" in stored  # the search does find what is still there
    else:
        # PostgreSQL's files are the server's: read every row of every table back as text instead
        stored = "".join(
            str(row) for table in database.get_tables()
            for row in database.execute_sql(f'SELECT t::text FROM "{table}" t').fetchall()).encode()
        assert b"recent.person@vendor-kept.com" in stored
    for value in ERASED:
        assert value.encode() not in stored, value


def test_erasing_a_salt_without_a_recorded_erasure_is_named(intake_db, client, signer, public_keys):
    request_id, _ = _closed_long_ago(client, signer)
    target = HistoryEntry.get((HistoryEntry.request_id == request_id) & (HistoryEntry.event == "approve"))
    HistoryEntry.update(salt=None, actor=target.actor_ref, note="").where(HistoryEntry.id == target.id).execute()
    result = verify(public_keys)
    assert result.first_bad["id"] == target.id and "no erasure of this request is recorded" in result.reason


def test_an_erased_entry_cannot_be_given_new_values(intake_db, client, signer, public_keys):
    request_id, _ = _closed_long_ago(client, signer)
    retention.erase_expired(365, signer)
    target = HistoryEntry.get((HistoryEntry.request_id == request_id) & (HistoryEntry.event == "approve"))
    HistoryEntry.update(note="Approved after a full check").where(HistoryEntry.id == target.id).execute()
    result = verify(public_keys)
    assert result.first_bad["id"] == target.id and "does not commit to" in result.reason
