"""bench/pipeline.py's options hold it to what the API takes, so a long run is not broken by a refusal."""
import pytest

from bench import pipeline
from intake.approvals.decisions import MAX_BULK_DECISIONS


def test_a_bulk_approval_of_the_throughput_phase_holds_no_more_decisions_than_the_api_takes():
    assert pipeline.parse_args([]).chunk <= MAX_BULK_DECISIONS
    assert pipeline.parse_args(["--chunk", str(MAX_BULK_DECISIONS)]).chunk == MAX_BULK_DECISIONS
    with pytest.raises(SystemExit):
        pipeline.parse_args(["--chunk", str(MAX_BULK_DECISIONS + 1)])
