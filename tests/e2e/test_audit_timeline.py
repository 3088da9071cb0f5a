"""What an auditor sees of requests driven through the three running services: the exact
timeline (API and page), a chain that verifies, and a history only approval's events enter."""
import datetime as dt
import html
import re

import requests
from kombu import Connection, Producer

from invite_common.messages import new_message
from invite_common.topology import Topology
from tests.support.system import RETRY_DELAYS
from tests.support.broker import queue_depth, wait_for

REQUESTER, APPROVER, AUDITOR = "amy@tech.gov.sg", "bob@tech.gov.sg", "carol@tech.gov.sg"
VENDOR = {
    "method": "create_account", "email": "vic.lim@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim",
    "first_name": "Vic", "last_name": "Lim", "contact_number": "+65 9123 4567", "organisation": "Example Pte Ltd",
    "seed_onboarding": True, "reason": "Builds the payments service",
}


def audit_events(system, **filters):
    query = "&".join(f"{k}={v}" for k, v in (filters | {"order": "oldest"}).items())
    response = system.call("GET", f"/api/v1/audit/events?{query}", AUDITOR)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def signed_in_portal(system, email):
    """A browser-like session signed in through the dev sign-in form (CSRF token included)."""
    session = requests.Session()
    page = session.get(system.base + "/sign-in", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = session.post(system.base + "/sign-in", data={"email": email, "csrf_token": token}, timeout=10)
    assert response.status_code == 200 and "/audit" in response.url, response.url
    return session


def page_text(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def test_the_auditor_sees_the_exact_timeline_of_a_request_and_the_chain_verifies(system, mailbox):
    system = system
    invite = system.call("POST", "/api/v1/invites", REQUESTER, json=VENDOR).json()
    assert system.call("POST", f"/api/v1/invites/{invite['id']}/approve", APPROVER,
                       json={"comment": "Vendor contract signed"}).status_code == 202
    system.wait_for_state(invite["id"], "emailed")
    rejected = system.call("POST", "/api/v1/invites", REQUESTER, json={
        "method": "email_invitation", "email": "ken.ong@tech.gov.sg", "seed_onboarding": False, "reason": "Analyst"}).json()
    system.call("POST", f"/api/v1/invites/{rejected['id']}/reject", APPROVER, json={"reason": "Already has an account"})
    system.wait_for_state(rejected["id"], "rejected")

    events = audit_events(system, request_id=invite["id"])
    assert [(e["event"], e["actor"], e["from_state"], e["to_state"], e["note"]) for e in events] == [
        ("submit", REQUESTER, None, "submitted", "Builds the payments service"),
        ("approve", APPROVER, "submitted", "approved", "Vendor contract signed"),
        ("provision", "system", "approved", "account_created", ""),
        ("request_seed", "system", "account_created", "seed_requested", ""),
        ("mark_emailed", "notifier", "seed_requested", "emailed", ""),
    ]
    assert events[2]["details"] == {"username": "v-vic.lim"}
    [email] = mailbox.to("vic.lim@vendor.example.com")
    assert events[4]["details"]["smtp_message_id"] == email["Message-ID"]
    assert {e["invitee_email"] for e in audit_events(system, email="KEN")} == {"ken.ong@tech.gov.sg"}
    assert [e["event"] for e in audit_events(system, approver=APPROVER, state="rejected")] == [
        "submit", "reject"]

    portal = signed_in_portal(system, AUDITOR)
    found = page_text(portal.get(system.base + "/audit?email=vic.lim", timeout=10).text)
    assert "Showing 1 to 1 of 1 request" in found and "vic.lim@vendor.example.com" in found
    timeline = page_text(portal.get(system.base + f"/audit/requests/{invite['id']}", timeout=10).text)
    titles = re.findall(r"(Request submitted|Approval given|Approved|TechPass account created|SEED enrolment booked|"
                        r"Invitation emailed) \d+ \w+ \d{4}, \d+:\d\d [ap]m SGT · by ([^ ]+)", timeline)
    assert titles == [("Request submitted", REQUESTER), ("Approved", APPROVER),
                      ("TechPass account created", "Invite"), ("SEED enrolment booked", "Invite"),
                      ("Invitation emailed", "Email")]
    assert f"Email Message-ID: {email['Message-ID']}" in timeline and "TechPass username: v-vic.lim" in timeline

    verified = wait_for(lambda: (r := system.call("GET", "/api/v1/audit/verify", AUDITOR).json())["unlinked"] == 0 and r,
                        what="the linker to chain every entry")
    # every recorded event: these two requests' and the role grants applied at start
    recorded = system.call("GET", "/api/v1/audit/events?limit=500", AUDITOR).json()["items"]
    assert verified["intact"] is True and verified["checked"] == len(recorded) >= 7
    integrity = page_text(portal.get(system.base + "/audit/integrity", timeout=10).text)
    assert f"Intact, {len(recorded)} entries checked" in integrity


def test_history_takes_only_approvals_events_and_each_once(system):
    system = system
    invite = system.call("POST", "/api/v1/invites", REQUESTER, json={
        "method": "email_invitation", "email": "ann@tech.gov.sg", "seed_onboarding": False, "reason": "Analyst"}).json()
    topology = Topology(system.env["AMQP_NAMESPACE"], retry_delays=RETRY_DELAYS)

    def state_changed(producer, seq):
        return new_message("invite.state_changed", {
            "request_id": invite["id"], "seq": seq, "from_state": "submitted", "to_state": "approved", "verb": "approve",
            "actor": "mallory@tech.gov.sg", "note": "", "changed_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "details": {}}, correlation_id=invite["id"], producer=producer)

    forged, genuine = state_changed("intake", 7), state_changed("approval", 8)
    with Connection(system.env["AMQP_URL"]) as conn:
        producer = Producer(conn.channel(), exchange=topology.exchange_for_type("invite.state_changed"))
        for envelope in (forged, genuine, genuine):  # the genuine one delivered twice
            producer.publish(envelope.to_json(), routing_key="invite.state_changed", delivery_mode=2,
                             content_type="application/json")
    dlq = topology.name("intake.history") + ".dlq"
    wait_for(lambda: queue_depth(system.env["AMQP_URL"], dlq) == 1, what="the forged message to be dead-lettered")
    wait_for(lambda: len(audit_events(system, request_id=invite["id"])) == 2, what="the genuine event")
    events = audit_events(system, request_id=invite["id"])
    assert [(e["event"], e["actor"]) for e in events] == [("submit", REQUESTER), ("approve", "mallory@tech.gov.sg")]
