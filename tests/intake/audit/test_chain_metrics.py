"""The history chain's gauges on intake's /metrics: entries no signed head covers yet, the newest head's
age (read from the database when scraped), and what the service's own hourly walk of the chain found."""
import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families

from invite_common import metrics

from intake import bootstrap
from intake.audit import chain
from intake.audit import metrics as chain_metrics
from intake.audit.tasks import ChainVerifier
from intake.audit.verify import verify
from intake.models import ChainHead, HistoryEntry
from tests.support.history_entries import record, sample_history

pytestmark = pytest.mark.both_databases("the newest head's time is an SQL MAX over timestamps (text on SQLite) "
                                        "and the unsigned entries an OR over a nullable column")


def gauges(*collectors) -> dict[str, float]:
    registry = metrics.registry_for(*collectors)
    return {s.name: s.value for family in text_string_to_metric_families(metrics.exposition(registry).decode())
            for s in family.samples if s.name.startswith("invites_history_")}


def test_entries_wait_as_unsigned_until_a_signed_head_covers_them(intake_db, signer):
    record("req-1", "submit")
    record("req-1", "cancel_requested")
    # nothing signed yet: no head age, and both entries wait
    assert gauges(*chain_metrics.chain_lag()) == {"invites_history_unsigned_entries": 2}
    chain.link_pending(signer)
    assert gauges(*chain_metrics.chain_lag())["invites_history_unsigned_entries"] == 2  # linked, not signed
    chain.sign_head(signer)
    lag = gauges(*chain_metrics.chain_lag())
    assert lag["invites_history_unsigned_entries"] == 0
    assert lag["invites_history_head_age_seconds"] == pytest.approx(0, abs=5)
    record("req-2", "submit")
    chain.link_pending(signer)
    assert gauges(*chain_metrics.chain_lag())["invites_history_unsigned_entries"] == 1


def test_the_head_age_is_the_time_since_the_newest_head_was_signed(intake_db, signer):
    sample_history(signer)
    head = ChainHead.get()
    ChainHead.update(signed_at=head.signed_at - dt.timedelta(minutes=10)).where(ChainHead.seq == head.seq).execute()
    lag = gauges(*chain_metrics.chain_lag())
    assert lag["invites_history_head_age_seconds"] == pytest.approx(600, abs=5)
    # an old head with nothing after it is a quiet chain, not a stuck signer
    assert lag["invites_history_unsigned_entries"] == 0


def test_the_verifier_serves_intact_then_not_intact_once_an_entry_is_changed(intake_db, signer, public_keys):
    sample_history(signer)
    verifier = ChainVerifier(public_keys)
    served = gauges(chain_metrics.VerificationCollector(verifier))
    # before the first walk: no verdict, and the age counts from the start
    assert "invites_history_verify_intact" not in served
    assert served["invites_history_verify_age_seconds"] == pytest.approx(0, abs=5)

    verifier.run_once()
    assert gauges(chain_metrics.VerificationCollector(verifier))["invites_history_verify_intact"] == 1

    HistoryEntry.update(note="a note changed behind the service's back").where(HistoryEntry.chain_seq == 2).execute()
    verifier.run_once()  # walked less than an hour ago: not due yet
    assert gauges(chain_metrics.VerificationCollector(verifier))["invites_history_verify_intact"] == 1
    verifier.verified_at -= verifier.every
    verifier.run_once()
    served = gauges(chain_metrics.VerificationCollector(verifier))
    assert served["invites_history_verify_intact"] == 0
    assert served["invites_history_verify_age_seconds"] == pytest.approx(0, abs=5)


def test_the_intake_service_walks_the_chain_in_the_background_and_serves_the_chain_gauges(intake_db, settings, signer):
    service = bootstrap.declare(settings, signer)
    verifier_task = next(task for task in service.tasks if task.name == "history-verifier")
    assert verifier_task.every <= 60  # the first walk comes a minute after start, not an hour
    sample_history(signer)
    verifier_task.run()
    assert gauges(*service.metrics) == {
        "invites_history_head_age_seconds": pytest.approx(0, abs=5),
        "invites_history_unsigned_entries": 0,
        "invites_history_verify_intact": 1,
        "invites_history_verify_age_seconds": pytest.approx(0, abs=5),
    }


def test_a_problem_the_second_walk_does_not_find_is_not_reported(intake_db, signer, public_keys, monkeypatch):
    # as when retention erases a request between the walk's reading of the erasures and of the entries
    from intake.audit import tasks

    sample_history(signer)
    walks = []

    def racing_walk(keys, workers):
        walks.append(workers)
        result = verify(keys, workers=workers)
        if len(walks) == 1:
            result.intact = False
        return result

    monkeypatch.setattr(tasks, "verify", racing_walk)
    verifier = ChainVerifier(public_keys)
    verifier.run_once()
    assert walks == [1, 1] and verifier.intact is True
