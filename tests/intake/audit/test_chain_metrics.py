"""The history chain's gauges on intake's /metrics: entries no signed head covers yet, the newest head's
age (read from the database when scraped), and what the service's own hourly walk of the chain found."""
import dataclasses
import datetime as dt
import os

import pytest
from prometheus_client.parser import text_string_to_metric_families

from invite_common import metrics

from intake import bootstrap
from intake.audit import chain
from intake.audit import metrics as chain_metrics
from intake.audit.tasks import ChainVerifier, walk_apart
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


def test_the_verifier_serves_intact_then_not_intact_once_an_entry_is_changed(intake_db, db_url, signer, public_keys):
    sample_history(signer)
    verifier = ChainVerifier(public_keys, db_url)
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


def test_the_intake_service_walks_the_chain_in_the_background_and_serves_the_chain_gauges(intake_db, db_url, settings, signer):
    # the walk opens the service's own database (INTAKE_DB_URL) in a process of its own
    service = bootstrap.declare(dataclasses.replace(settings, db_url=db_url), signer)
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


def test_a_problem_the_second_walk_does_not_find_is_not_reported(intake_db, db_url, signer, public_keys):
    # as when retention erases a request between the walk's reading of the erasures and of the entries
    sample_history(signer)

    class RacingVerifier(ChainVerifier):
        walks = 0

        def _walk(self):
            result = super()._walk()
            self.walks += 1
            return result | {"intact": False} if self.walks == 1 else result

    verifier = RacingVerifier(public_keys, db_url)
    verifier.run_once()
    assert verifier.walks == 2 and verifier.intact is True


def test_the_walk_runs_in_a_process_of_its_own(intake_db, db_url, signer, public_keys):
    # tens of seconds of CPU on a long chain: on one of intake's threads it would slow every request
    sample_history(signer)
    walked_in = []

    class WatchedVerifier(ChainVerifier):
        def _walk(self):
            result = super()._walk()
            walked_in.append(result["pid"])
            return result

    verifier = WatchedVerifier(public_keys, db_url, walk=walk_apart_reporting_its_process)
    verifier.run_once()
    assert verifier.intact is True
    assert walked_in and walked_in[0] != os.getpid()


def walk_apart_reporting_its_process(db_url, public_pems):
    """The service's walk, also saying which process ran it (a module-level function: a spawned
    process finds it by name)."""
    return walk_apart(db_url, public_pems) | {"pid": os.getpid()}
