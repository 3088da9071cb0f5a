"""Tampering done straight in the database, on SQLite and on PostgreSQL: each kind is named at the
right entry by the verifier."""
from intake.audit import chain, keys
from intake.audit.verify import verify
from intake.db import database
from intake.models import ChainHead, HistoryEntry
from tests.support.history_entries import record, sample_history
import pytest

pytestmark = pytest.mark.both_databases("the chain is verified over rows as each database returns them")


def position(n):
    return HistoryEntry.get(HistoryEntry.chain_seq == n)


def _change_recorded_field():
    HistoryEntry.update(to_state="emailed").where(HistoryEntry.chain_seq == 5).execute()


def _change_personal_field():
    HistoryEntry.update(note="Approved by the director").where(HistoryEntry.chain_seq == 2).execute()


def _delete():
    HistoryEntry.delete().where(HistoryEntry.chain_seq == 4).execute()


def _reorder():
    third, fourth = position(3).id, position(4).id
    HistoryEntry.update(chain_seq=-1).where(HistoryEntry.id == third).execute()
    HistoryEntry.update(chain_seq=3).where(HistoryEntry.id == fourth).execute()
    HistoryEntry.update(chain_seq=4).where(HistoryEntry.id == third).execute()


def _make_room_at(n):
    """Shift positions n.. up by one (through negative values: positions are unique)."""
    database.execute_sql(f"UPDATE history_entry SET chain_seq = -chain_seq - 1 WHERE chain_seq >= {int(n)}")
    database.execute_sql("UPDATE history_entry SET chain_seq = -chain_seq WHERE chain_seq < 0")


def _insert():
    _make_room_at(3)
    HistoryEntry.create(request_id="req-0", event="approve", actor="mallory@tech.gov.sg", at=position(2).at,
                        chain_seq=3, prev_hash=position(2).hash, hash="f" * 64, salt="00" * 16,
                        personal_digest="0" * 64, actor_ref="person-0")


def _rewrite_and_recompute():
    HistoryEntry.update(note="Approved by the director").where(HistoryEntry.chain_seq == 5).execute()
    # re-link from position 5 on exactly as the linker would, as someone with the code but not the key
    HistoryEntry.update(chain_seq=None, prev_hash=None, hash=None).where(HistoryEntry.chain_seq >= 5).execute()
    chain.link_pending(keys.Signer(keys.Ed25519PrivateKey.generate()))


def _truncate():
    HistoryEntry.delete().where(HistoryEntry.chain_seq >= 8).execute()


def _forge_signature():
    head = ChainHead.get()
    ChainHead.update(signature=("0" if head.signature[0] != "0" else "1") + head.signature[1:]).execute()


def _sign_with_another_key():
    record("req-9", "submit")
    chain.link_pending(keys.Signer(keys.Ed25519PrivateKey.generate()))
    chain.sign_head(keys.Signer(keys.Ed25519PrivateKey.generate()))


# tampering done straight in the database -> (position named, what the reason says)
TAMPERING = {
    "a recorded field changed": (_change_recorded_field, 5, "does not match its hash"),
    "a personal field changed": (_change_personal_field, 2, "do not match their digest"),
    "an entry deleted": (_delete, 5, "position 4 before it is missing"),
    "two entries swapped": (_reorder, 3, "does not follow the entry before it"),
    "an entry inserted": (_insert, 3, "does not match its hash"),
    "a change with every later hash recomputed": (_rewrite_and_recompute, 9, "differs from the head signed"),
    "entries cut off the end": (_truncate, 8, "cut off the end"),
    "a head's signature forged": (_forge_signature, 9, "signature that does not verify"),
    "a head signed with another key": (_sign_with_another_key, 10, "does not verify"),
}


def test_every_kind_of_tampering_is_named_at_the_right_entry(intake_db, signer, public_keys):
    sample_history(signer)
    found = {}
    for name, (tamper, _, _) in TAMPERING.items():
        # each tampering on the same untouched history, undone afterwards
        with database.atomic() as transaction:
            tamper()
            result = verify(public_keys)
            transaction.rollback()
        found[name] = (result.intact, result.first_bad and result.first_bad["position"], result.reason)
    for name, (_, where, phrase) in TAMPERING.items():
        intact, named, reason = found[name]
        assert not intact and named == where and phrase in reason, (name, found[name])
    assert verify(public_keys).intact
