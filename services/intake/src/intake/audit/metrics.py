"""The history chain's gauges on intake's /metrics: how far signing lags and what the last verification found.

The lag is read from the database when scraped, so every replica reports the same figures and
an alert can say "entries wait and no head has been signed for minutes" (the keeper signs every
30 s while entries arrive). The verification's outcome is the process's own (tasks.ChainVerifier).
"""
from __future__ import annotations

from typing import Iterable

import peewee
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from invite_common import metrics
from invite_common.db import utcnow

from intake.audit.tasks import ChainVerifier
from intake.db import database
from intake.models import ChainHead, HistoryEntry


def _head_age():
    newest = ChainHead.select(peewee.fn.MAX(ChainHead.signed_at)).scalar()
    if newest is None:
        return []  # nothing signed yet: an alert then goes by the unsigned entries alone
    return [((), (utcnow() - ChainHead.signed_at.python_value(newest)).total_seconds())]


def _unsigned_entries():
    covered = ChainHead.select(peewee.fn.MAX(ChainHead.seq)).scalar() or 0
    # not linked yet, or linked past the newest signed head
    waiting = HistoryEntry.select().where(HistoryEntry.chain_seq.is_null() | (HistoryEntry.chain_seq > covered))
    return [((), waiting.count())]


def chain_lag() -> list[metrics.QueryCollector]:
    """The age of the newest signed head and how many entries no signed head covers yet."""
    return [
        metrics.QueryCollector(database, "invites_history_head_age_seconds",
                               "Seconds since the newest signed head of the history chain (absent before the first).",
                               [], _head_age),
        metrics.QueryCollector(database, "invites_history_unsigned_entries",
                               "History entries no signed head covers yet (unlinked, or linked after the newest head).",
                               [], _unsigned_entries),
    ]


class VerificationCollector(Collector):
    """`invites_history_verify_intact` (1 or 0, once a walk completed) and the age of the last walk."""

    def __init__(self, verifier: ChainVerifier) -> None:
        self.verifier = verifier

    def collect(self) -> Iterable[GaugeMetricFamily]:
        intact = GaugeMetricFamily("invites_history_verify_intact",
                                   "1 when this process's last walk of the history chain found it intact, 0 when not.")
        if self.verifier.intact is not None:
            intact.add_metric([], 1.0 if self.verifier.intact else 0.0)
        yield intact
        yield GaugeMetricFamily("invites_history_verify_age_seconds",
                                "Seconds since this process last completed a walk of the history chain "
                                "(since its start before the first).", value=self.verifier.age())
