"""`python -m approval retry ID` resumes a failed request from the command line."""
import datetime as dt
import os
import subprocess
import sys

from invite_common.db import open_database

from approval.db import database
from approval.migrations import MIGRATIONS
from approval.models import InviteRequest, Transition


def run_cli(db_url, *args):
    env = dict(os.environ, APPROVAL_DB_URL=db_url, LOG_LEVEL="WARNING")
    return subprocess.run([sys.executable, "-m", "approval", *args], env=env, capture_output=True, text=True, timeout=60)


def test_operator_retry_resumes_a_failed_request_and_records_who_did_it(db_url):
    url = db_url
    db = open_database(url, database, MIGRATIONS)
    now = dt.datetime.now(dt.timezone.utc)
    InviteRequest.create(
        id="r1", method="email_invitation", requester="amy@tech.gov.sg", email="jane@tech.gov.sg",
        user_type="public_officer", seed_onboarding=False, state="failed", failed_from="approved", seq=2,
        submitted_at=now,
    )
    db.close()

    done = run_cli(url, "retry", "r1", "--operator", "ops@tech.gov.sg")
    assert done.returncode == 0, done.stderr
    assert "approved" in done.stdout
    db.connect(reuse_if_open=True)
    assert InviteRequest.get_by_id("r1").state == "approved"
    [retry] = list(Transition.select())
    assert (retry.verb, retry.actor) == ("retry", "ops@tech.gov.sg")

    again = run_cli(url, "retry", "r1", "--operator", "ops@tech.gov.sg")
    assert again.returncode == 1 and "cannot retry" in again.stderr
    assert run_cli(url, "retry", "nope", "--operator", "ops@tech.gov.sg").returncode == 1
    db.close()
    database.initialize(None)
