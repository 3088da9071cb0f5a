"""An operator closes a failed request nothing can complete, end to end: the three services as processes
over real RabbitMQ and a real SMTP server, the operator's `python -m approval close` run beside them as in
production. The requester sees the request closed with the reason (API, email); intake's history has it."""
from __future__ import annotations

import subprocess
import sys

from approval import settings as approval_settings
from approval.adapters.directory import LocalDirectory
from approval.db import database
from invite_common.db import connect
from tests.support.mailbox import html_of, text_of
from tests.support.metrics import scrape, value

REQUESTER = "amy@tech.gov.sg"
APPROVER = "bob@tech.gov.sg"
OPERATOR = "ops@tech.gov.sg"
INVITEE = "ken.ong@tech.gov.sg"
REASON = "Ken already holds a TechPass account made outside Invite Users & can sign in with it <today>."


def operator(system, *args):
    """An operator's approval command, run as its own process against the system's settings."""
    return subprocess.run([sys.executable, "-m", "approval", *args], env=system.env, capture_output=True, text=True,
                          timeout=60)


def account_made_elsewhere(system, email):
    """An account the directory holds though no request here made it: provisioning refuses a second one."""
    db = connect(approval_settings.load(system.env).db_url)
    database.initialize(db)
    try:
        with database.atomic():
            LocalDirectory().create_account("made-elsewhere", None, email, "Ken", "Ong", "public_officer")
    finally:
        db.close()
        database.initialize(None)


def test_an_operator_closes_a_failed_request_and_the_requester_sees_why(system, mailbox):
    account_made_elsewhere(system, INVITEE)
    body = {"method": "email_invitation", "email": INVITEE, "seed_onboarding": False, "reason": "Joining the team"}
    invite_id = system.call("POST", "/api/v1/invites", REQUESTER, json=body).json()["id"]
    assert system.call("POST", f"/api/v1/invites/{invite_id}/approve", APPROVER, json={}).status_code == 202
    failed = system.wait_for_state(invite_id, "failed")
    assert "already has a TechPass account" in failed["history"][-1]["note"]
    refused = operator(system, "close", invite_id, "--reason", "", "--operator", OPERATOR)
    assert refused.returncode == 1 and "needs a reason" in refused.stderr

    done = operator(system, "close", invite_id, "--reason", REASON, "--operator", OPERATOR)
    assert done.returncode == 0, done.stderr

    closed = system.wait_for_state(invite_id, "closed", user=REQUESTER)
    closing = closed["history"][-1]
    assert (closing["event"], closing["from_state"], closing["to_state"], closing["actor"], closing["note"]) == (
        "close", "failed", "closed", OPERATOR, REASON)
    [notice] = mailbox.wait_for(REQUESTER)
    assert notice["Subject"] == f"Your TechPass request for {INVITEE} was closed"
    assert REASON in " ".join(text_of(notice).split())
    assert REASON.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in html_of(notice)
    assert mailbox.to(INVITEE) == []

    # the alert on failed requests sees it go; the request is counted as closed
    metrics = scrape(f"http://{system.env['APPROVAL_BIND']}/metrics")
    assert value(metrics, "invites_requests", state="failed") == 0
    assert value(metrics, "invites_requests", state="closed") == 1

    # run again (an operator unsure the first went through): nothing more happens, no second email
    again = operator(system, "close", invite_id, "--reason", REASON, "--operator", OPERATOR)
    assert again.returncode == 0 and "already closed" in again.stdout
    assert operator(system, "retry", invite_id, "--operator", OPERATOR).returncode == 1
    assert [e["event"] for e in system.invite(invite_id, REQUESTER)["history"]].count("close") == 1
    assert len(mailbox.to(REQUESTER)) == 1
