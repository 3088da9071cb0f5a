"""The history chain: entries appended unchained are linked in one order, heads are signed only
when the chain moved, and the public key alone verifies (tampering: test_tampering)."""
import pytest

from intake.audit import chain, keys
from intake.audit.verify import verify
from intake.models import ChainHead, HistoryEntry
from tests.support.history_entries import record, sample_history
from tests.intake.audit.test_tampering import TAMPERING, _insert, _truncate


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


def test_an_inserted_entry_is_named_by_its_id(intake_db, signer, public_keys):
    sample_history(signer)
    _insert()
    forged = position(3)
    assert forged.actor == "mallory@tech.gov.sg" and verify(public_keys).first_bad["id"] == forged.id


def test_the_cut_off_position_is_named_without_an_entry(intake_db, signer, public_keys):
    sample_history(signer)
    _truncate()
    result = verify(public_keys)
    assert result.first_bad == {"position": 8, "id": None, "problem": result.reason}
    assert "covers position 9" in result.reason


def test_verification_needs_only_the_public_key(intake_db, signer, settings, tmp_path):
    sample_history(signer)
    pem = tmp_path / "public.pem"
    pem.write_text(keys.public_pem(signer.public))
    only_public = {keys.key_id(signer.public): keys.load_public_key(str(pem))}
    assert verify(only_public).intact


@pytest.mark.parametrize("name", list(TAMPERING))
def test_walking_in_parallel_stretches_names_the_same_entry(intake_db, signer, public_keys, name):
    sample_history(signer, n_requests=4)  # 12 entries: stretches of 3 meet at every kind of tampering
    TAMPERING[name][0]()
    alone = verify(public_keys, workers=1).as_dict()
    together = verify(public_keys, workers=4, parallel_from=0).as_dict()
    assert together == alone and not alone["intact"]


def test_an_intact_chain_walked_in_stretches_reads_the_same(intake_db, signer, public_keys):
    sample_history(signer, n_requests=4)
    together = verify(public_keys, workers=3, parallel_from=0)
    assert together.as_dict() == verify(public_keys, workers=1).as_dict() and together.intact
    assert together.checked == 12 and together.heads_checked == 1
