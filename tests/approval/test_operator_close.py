"""`python -m approval close ID --reason ...` ends a failed request for good, from the command line:
audited in approval's transition log, announced through the outbox, refused for anything but a
failed request, and changing nothing when run again."""
import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from invite_common.db import open_database
from invite_common.outbox import outbox_model

from approval.db import database
from approval.migrations import MIGRATIONS
from approval.models import InviteRequest, Transition

OPERATOR = "ops@tech.gov.sg"
REASON = "Jane already holds a TechPass account made outside Invite Users; she can sign in with it."


def run_cli(db_url, *args):
    env = dict(os.environ, APPROVAL_DB_URL=db_url, LOG_LEVEL="WARNING")
    return subprocess.run([sys.executable, "-m", "approval", *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def failed_request(db_url):
    """Approval's database, migrated, holding request r1 failed at provisioning and r2 sent; the URL."""
    db = open_database(db_url, database, MIGRATIONS)
    now = dt.datetime.now(dt.timezone.utc)
    common = {"method": "email_invitation", "requester": "amy@tech.gov.sg", "user_type": "public_officer",
              "seed_onboarding": False, "submitted_at": now}
    InviteRequest.create(id="r1", email="jane@tech.gov.sg", state="failed", failed_from="approved", seq=2, **common)
    InviteRequest.create(id="r2", email="ken@tech.gov.sg", state="emailed", seq=4, **common)
    db.close()
    yield db_url
    if not db.is_closed():
        db.close()
    database.initialize(None)


def announced(db_url):
    """What approval's outbox holds, as (type, payload), in order."""
    db = database.obj or open_database(db_url, database, MIGRATIONS)
    db.connect(reuse_if_open=True)
    outbox = outbox_model(database)
    return [(r.message_type, json.loads(r.body)["payload"]) for r in outbox.select().order_by(outbox.id)]


def test_closing_a_failed_request_records_who_closed_it_and_why_and_tells_intake_and_the_requester(failed_request):
    done = run_cli(failed_request, "close", "r1", "--reason", f"  {REASON} ", "--operator", OPERATOR)

    assert done.returncode == 0, done.stderr
    assert "r1 closed" in done.stdout
    database.connect(reuse_if_open=True)
    request = InviteRequest.get_by_id("r1")
    assert (request.state, request.seq) == ("closed", 3)
    [close] = list(Transition.select())
    assert (close.verb, close.from_state, close.to_state, close.actor, close.note) == (
        "close", "failed", "closed", OPERATOR, REASON)
    [(changed_type, changed), (email_type, email)] = announced(failed_request)
    assert changed_type == "invite.state_changed"
    assert {k: changed[k] for k in ("request_id", "seq", "from_state", "to_state", "verb", "actor", "note")} == {
        "request_id": "r1", "seq": 3, "from_state": "failed", "to_state": "closed", "verb": "close",
        "actor": OPERATOR, "note": REASON}
    assert email_type == "notifier.send_email"
    assert (email["template"], email["to"], email["send_key"]) == ("closure_notice", "amy@tech.gov.sg", "closure")
    assert email["context"] == {"request_id": "r1", "invitee_email": "jane@tech.gov.sg", "reason": REASON}


def test_closing_a_request_twice_says_it_is_closed_already_and_changes_nothing(failed_request):
    assert run_cli(failed_request, "close", "r1", "--reason", REASON, "--operator", OPERATOR).returncode == 0

    again = run_cli(failed_request, "close", "r1", "--reason", "Another reason", "--operator", "zed@tech.gov.sg")

    assert again.returncode == 0, again.stderr
    assert "already closed" in again.stdout
    database.connect(reuse_if_open=True)
    assert [t.note for t in Transition.select()] == [REASON]
    assert [t for t, _ in announced(failed_request)] == ["invite.state_changed", "notifier.send_email"]


def test_only_a_failed_request_can_be_closed(failed_request):
    refused = run_cli(failed_request, "close", "r2", "--reason", REASON, "--operator", OPERATOR)

    assert refused.returncode == 1
    assert "cannot close: request r2 is emailed: only a failed request can be closed" in refused.stderr
    unknown = run_cli(failed_request, "close", "nope", "--reason", REASON, "--operator", OPERATOR)
    assert unknown.returncode == 1 and "no request nope" in unknown.stderr
    database.connect(reuse_if_open=True)
    assert InviteRequest.get_by_id("r2").state == "emailed"
    assert list(Transition.select()) == [] and announced(failed_request) == []


@pytest.mark.parametrize("reason", ["   ", "two\nlines", "x" * 1001])
def test_a_close_without_a_readable_reason_is_refused(failed_request, reason):
    refused = run_cli(failed_request, "close", "r1", "--reason", reason, "--operator", OPERATOR)

    assert refused.returncode == 1 and refused.stderr.startswith("cannot close: ")
    database.connect(reuse_if_open=True)
    assert InviteRequest.get_by_id("r1").state == "failed" and announced(failed_request) == []


def test_a_close_names_its_operator_and_its_reason(failed_request):
    assert run_cli(failed_request, "close", "r1", "--operator", OPERATOR).returncode == 2  # argparse: usage
    assert run_cli(failed_request, "close", "r1", "--reason", REASON).returncode == 2
    assert run_cli(failed_request, "close", "r1", "--reason", REASON, "--operator", " ").returncode == 1
