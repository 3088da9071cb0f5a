"""The history chain: entries appended unchained are linked in one order, heads are signed, and
every kind of tampering done straight in the database is named at the right entry."""
import datetime as dt

import pytest

from intake.audit import chain, keys
from intake.audit.verify import verify
from intake.db import database
from intake.models import ChainHead, HistoryEntry
from tests.intake.audit.conftest import record, sample_history


def position(n):
    return HistoryEntry.get(HistoryEntry.chain_seq == n)


def test_appending_leaves_entries_unchained_until_the_linker_runs(intake_db, signer, public_keys):
    record("req-1", "submit")
    entry = HistoryEntry.get()
    assert entry.chain_seq is None and entry.hash is None
    assert verify(public_keys).as_dict() | {"last_signed_head": None} == {
        "intact": True, "checked": 0, "first_bad": None, "reason": None, "last_signed_head": None,
        "unlinked": 1, "unsigned": 0, "heads_checked": 0}
    assert chain.link_pending(signer) == 1
    entry = HistoryEntry.get()
    assert entry.chain_seq == 1 and entry.prev_hash == chain.GENESIS and len(entry.hash) == 64


def test_linked_history_with_a_signed_head_is_intact(intake_db, signer, public_keys):
    sample_history(signer)
    result = verify(public_keys)
    assert result.intact and result.checked == 9 and result.heads_checked == 1
    assert result.last_signed_head["position"] == 9 and result.unsigned == 0


def test_linking_follows_append_order_and_continues_the_chain(intake_db, signer, public_keys):
    sample_history(signer, 1)
    record("req-9", "submit")
    record("req-9", "cancel_requested")
    assert chain.link_pending(signer) == 2
    assert [e.event for e in HistoryEntry.select().order_by(HistoryEntry.chain_seq)][-2:] == ["submit", "cancel_requested"]
    assert position(4).prev_hash == position(3).hash
    assert verify(public_keys).intact


def test_a_head_is_signed_only_when_the_chain_moved(intake_db, signer):
    sample_history(signer, 1)
    assert chain.sign_head(signer) is None
    record("req-9", "submit")
    chain.link_pending(signer)
    assert chain.sign_head(signer).seq == 4
    assert ChainHead.select().count() == 2


def test_a_changed_recorded_field_is_named(intake_db, signer, public_keys):
    sample_history(signer)
    HistoryEntry.update(to_state="emailed").where(HistoryEntry.chain_seq == 5).execute()
    result = verify(public_keys)
    assert not result.intact
    assert result.first_bad["position"] == 5 and result.first_bad["id"] == position(5).id
    assert "does not match its hash" in result.reason


def test_a_changed_personal_field_is_named(intake_db, signer, public_keys):
    sample_history(signer)
    HistoryEntry.update(note="Approved by the director").where(HistoryEntry.chain_seq == 2).execute()
    result = verify(public_keys)
    assert result.first_bad["position"] == 2 and "do not match their digest" in result.reason


def test_a_deleted_entry_is_named(intake_db, signer, public_keys):
    sample_history(signer)
    HistoryEntry.delete().where(HistoryEntry.chain_seq == 4).execute()
    result = verify(public_keys)
    assert result.first_bad["position"] == 5 and "position 4 before it is missing" in result.reason


def test_reordered_entries_are_named(intake_db, signer, public_keys):
    sample_history(signer)
    third, fourth = position(3).id, position(4).id
    with database.atomic():
        HistoryEntry.update(chain_seq=-1).where(HistoryEntry.id == third).execute()
        HistoryEntry.update(chain_seq=3).where(HistoryEntry.id == fourth).execute()
        HistoryEntry.update(chain_seq=4).where(HistoryEntry.id == third).execute()
    result = verify(public_keys)
    assert result.first_bad["position"] == 3 and result.first_bad["id"] == fourth
    assert "does not follow the entry before it" in result.reason


def _make_room_at(n):
    """Shift positions n.. up by one (through negative values: positions are unique)."""
    with database.atomic():
        database.execute_sql(f"UPDATE history_entry SET chain_seq = -chain_seq - 1 WHERE chain_seq >= {int(n)}")
        database.execute_sql("UPDATE history_entry SET chain_seq = -chain_seq WHERE chain_seq < 0")


def test_an_inserted_entry_is_named(intake_db, signer, public_keys):
    sample_history(signer)
    _make_room_at(3)
    forged = HistoryEntry.create(request_id="req-0", event="approve", actor="mallory@tech.gov.sg", at=position(2).at,
                                 chain_seq=3, prev_hash=position(2).hash, hash="f" * 64, salt="00" * 16,
                                 personal_digest="0" * 64, actor_ref="person-0")
    result = verify(public_keys)
    assert result.first_bad["id"] == forged.id and result.first_bad["position"] == 3


def test_a_change_with_every_later_hash_recomputed_is_caught_by_the_signed_head(intake_db, signer, public_keys):
    sample_history(signer)
    HistoryEntry.update(note="Approved by the director").where(HistoryEntry.chain_seq == 5).execute()
    # re-link from position 5 on exactly as the linker would, as someone with the code but not the key
    HistoryEntry.update(chain_seq=None, prev_hash=None, hash=None).where(HistoryEntry.chain_seq >= 5).execute()
    chain.link_pending(keys.Signer(keys.Ed25519PrivateKey.generate()))
    result = verify(public_keys)
    assert not result.intact and result.first_bad["position"] == 9
    assert "differs from the head signed" in result.reason


def test_entries_cut_off_the_end_are_detected(intake_db, signer, public_keys):
    sample_history(signer)
    HistoryEntry.delete().where(HistoryEntry.chain_seq >= 8).execute()
    result = verify(public_keys)
    assert not result.intact and result.first_bad == {"position": 8, "id": None, "problem": result.reason}
    assert "cut off the end" in result.reason and "covers position 9" in result.reason


def test_a_forged_head_signature_is_named(intake_db, signer, public_keys):
    sample_history(signer)
    head = ChainHead.get()
    ChainHead.update(signature=("0" if head.signature[0] != "0" else "1") + head.signature[1:]).execute()
    result = verify(public_keys)
    assert result.first_bad["position"] == 9 and "signature that does not verify" in result.reason


def test_a_head_signed_with_another_key_is_refused(intake_db, signer, public_keys):
    sample_history(signer)
    impostor = keys.Signer(keys.Ed25519PrivateKey.generate())
    record("req-9", "submit")
    chain.link_pending(signer)
    chain.sign_head(impostor)
    result = verify(public_keys)
    assert result.first_bad["position"] == 10 and "does not verify" in result.reason


def test_verification_needs_only_the_public_key(intake_db, signer, settings, tmp_path):
    sample_history(signer)
    pem = tmp_path / "public.pem"
    pem.write_text(keys.public_pem(signer.public))
    only_public = {keys.key_id(signer.public): keys.load_public_key(str(pem))}
    assert verify(only_public).intact
