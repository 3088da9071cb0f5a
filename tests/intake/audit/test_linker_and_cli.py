"""The chain keeper as intake's background task runs it, the source check on approval's events,
and the operators' `python -m intake audit` commands."""
import subprocess
import sys

import pytest

from invite_common.consumer import UntrustedSource, check_source
from invite_common.messages import new_message
from invite_common.topology import Topology
from intake.audit.tasks import HistoryChainKeeper
from intake.models import ChainHead, HistoryEntry
from tests.support.history_entries import record


def test_the_keeper_chains_new_entries_signs_a_head_at_once_and_again_when_stopping(intake_db, signer):
    keeper = HistoryChainKeeper(signer, head_interval=60)
    record("req-1", "submit")
    assert keeper.run_once() == 1 and ChainHead.select().count() == 1
    record("req-1", "cancel_requested")
    assert keeper.run_once() == 1
    assert HistoryEntry.select().where(HistoryEntry.chain_seq.is_null()).count() == 0
    assert ChainHead.select().count() == 1  # the next head waits for the interval ...
    keeper.finish()
    assert [h.seq for h in ChainHead.select().order_by(ChainHead.seq)] == [1, 2]  # ... or for a clean stop


def test_the_keeper_waits_out_a_database_outage(intake_db, signer):
    keeper = HistoryChainKeeper(signer)
    record("req-1", "submit")
    intake_db.close()
    real_path = intake_db.database
    intake_db.database = "/nonexistent/folder/intake.db"
    try:
        assert keeper.run_once() == 0 and not keeper.healthy
    finally:
        intake_db.database = real_path
    assert keeper.run_once() == 1 and keeper.healthy


def _state_changed(producer):
    return new_message("invite.state_changed", {
        "request_id": "r1", "seq": 1, "from_state": "submitted", "to_state": "approved", "verb": "approve",
        "actor": "bob@tech.gov.sg", "note": "", "changed_at": "2026-01-01T00:00:00+00:00", "details": {}},
        correlation_id="r1", producer=producer)


@pytest.mark.parametrize("producer, exchange, refused", [
    ("approval", "t.approval.events", False),
    ("approval", "", False),  # a retried message back from this consumer's own delay queue
    ("intake", "t.approval.events", True),
    ("approval", "t.intake.events", True),
    ("approval", "t.dead-letter", True),
])
def test_history_takes_events_only_from_their_publisher_and_exchange(producer, exchange, refused):
    envelope, topology = _state_changed(producer), Topology(namespace="t")
    if refused:
        with pytest.raises(UntrustedSource):
            check_source(envelope, exchange, topology)
    else:
        check_source(envelope, exchange, topology)


def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "intake", "audit", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_the_verify_command_says_intact_then_names_the_changed_entry(intake_db, signer, db_url, tmp_path):
    import os

    from tests.support.history_entries import sample_history

    sample_history(signer)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTAKE_", "AUDIT_"))} | {
        "INTAKE_DB_URL": db_url, "INVITES_VAR_DIR": str(tmp_path / "var"), "ENV": "test", "LOG_LEVEL": "ERROR"}
    ok = _cli("verify", env=env)
    assert ok.returncode == 0 and ok.stdout.startswith("intact, 9 entries checked, last signed head at"), ok.stderr
    public = tmp_path / "public.pem"
    public.write_text(_cli("public-key", env=env).stdout)
    HistoryEntry.update(event="reject").where(HistoryEntry.chain_seq == 4).execute()
    bad = _cli("verify", "--public-key", str(public), env=env)
    assert bad.returncode == 1 and bad.stdout.startswith("NOT intact: entry 4 at position 4: its recorded content")
