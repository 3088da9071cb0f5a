"""The approvers' rules end to end, the services as processes over real RabbitMQ: the digest and its expiry
reminders, the requester told of an expiry, auto-approval by policy, one account per person (with the
directory looked up by email), and separation of duties for a decision put straight on the broker.

The digest and the expiry sweep run here in the test's process against the services' databases with
the moment the test chooses; the running services carry their messages on (no sleeping for clocks).
One system serves the module (starting three processes is most of the cost): each test uses
addresses of its own, and the expiry sweep, which expires whatever waits, comes last."""
from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import pytest

from approval import settings as approval_settings
from intake import settings as intake_settings
from invite_common.broker import Outgoing, Publisher
from invite_common.db import connect, utcnow
from invite_common.messages import new_message
from invite_common.topology import Topology
from tests.support.system import RETRY_DELAYS, RunningSystem, SERVICES, system_env
from tests.support.broker import delete_namespace, wait_for
from tests.support.mailbox import Mailbox, text_of

REQUESTER = "amy@tech.gov.sg"
APPROVER = "bob@tech.gov.sg"
AUDITOR = "carol@tech.gov.sg"


def submit(system, email, user=REQUESTER, expect=201):
    body = {"method": "email_invitation", "email": email, "seed_onboarding": False, "reason": "Joining the platform team"}
    response = system.call("POST", "/api/v1/invites", user, json=body)
    assert response.status_code == expect, response.text
    return response.json()


@contextlib.contextmanager
def bound(proxy, url):
    """A service's models bound, in this process, to that service's database."""
    db = connect(url)
    proxy.initialize(db)
    try:
        yield db
    finally:
        db.close()
        proxy.initialize(None)


# Auto-approves an officer's email invitation of a colleague at auto.gov.sg; nobody else's requests here.
POLICY = """
[[rules]]
name = "Own agency officers"
method = ["email_invitation"]
invitee_in_requester_domain = true
invitee_domains = ["auto.gov.sg"]
"""


@pytest.fixture(scope="module")
def rules_mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def quiet_system(tmp_path_factory, amqp_url, rules_mailbox):
    """The services on SQLite with an auto-approval policy and no digest of their own: the test sends it."""
    root = tmp_path_factory.mktemp("approver-rules")
    (root / "policy.toml").write_text(POLICY)
    namespace = f"e{uuid.uuid4().hex[:10]}"
    env = system_env(
        amqp_url=amqp_url, namespace=namespace, db_urls={s: f"sqlite:///{root / (s + '.db')}" for s in SERVICES},
        smtp_url=rules_mailbox.url, var_dir=root / "var",
        APPROVER_DIGEST_MINUTES="0", APPROVAL_POLICY=str(root / "policy.toml"),
    )
    system = RunningSystem(env=env, logs=root)
    try:
        system.start()
        yield system
    finally:
        system.stop()
        delete_namespace(amqp_url, Topology(namespace=namespace, retry_delays=RETRY_DELAYS))


def test_the_digest_and_its_expiry_reminder_reach_each_approver_once(quiet_system, rules_mailbox):
    from intake.approvals import digest
    from intake.db import database
    from intake.models import InviteRequest
    from invite_common.outbox import Outbox

    system = quiet_system
    fresh = submit(system, "fresh.one@tech.gov.sg")
    old = submit(system, "old.one@tech.gov.sg")
    now = utcnow() + dt.timedelta(minutes=30)  # the first digest covers the hour before it
    settings = intake_settings.load(system.env)
    digests = digest.DigestSettings(dt.timedelta(hours=1), 14, f"{settings.portal_url}/approvals")
    with bound(database, settings.db_url):
        with database.atomic():
            # submitted so long ago that its reminder (a day before it expires) falls in this digest
            InviteRequest.update(created_at=now - dt.timedelta(days=13, minutes=10)).where(InviteRequest.id == old["id"]).execute()
        outbox = Outbox(database, digest_topology(settings))
        run = digest.send_digest(outbox, digests, now=now)
        assert run.expiring_count == 1 and run.new_count >= 1 and run.emails == 2
        assert digest.send_digest(outbox, digests, now=now + dt.timedelta(minutes=10)) is None

    for approver in (APPROVER, "dana@tech.gov.sg"):
        [email] = wait_for(lambda: rules_mailbox.to(approver), what=f"the digest to {approver}")
        assert email["Subject"].endswith("waiting for approval (1 expiring soon)")
        body = text_of(email)
        assert body.index("old.one@tech.gov.sg") < body.index("NEW SINCE") < body.index("fresh.one@tech.gov.sg")
        assert "/approvals" in body
    assert not [m for m in rules_mailbox.to(REQUESTER) if "waiting for approval" in m["Subject"]]
    # the requests themselves are untouched, and approval took the notices' outcomes in its stride
    assert system.invite(fresh["id"], AUDITOR)["state"] == "submitted"
    assert "giving up" not in system.log("approval")


def digest_topology(settings):
    from invite_common.topology import Topology

    return Topology(settings.amqp_namespace, settings.amqp_quorum_queues, settings.retry_delays)


def test_a_policy_rule_approves_own_agency_invitations_and_records_its_name(quiet_system, rules_mailbox):
    system = quiet_system
    same = submit(system, "mei.lin@auto.gov.sg", user="lee@auto.gov.sg")
    other = submit(system, "raj.kumar@auto.gov.sg")  # amy is at tech.gov.sg: not her own agency
    final = system.wait_for_state(same["id"], "emailed")
    approve = next(h for h in final["history"] if h["event"] == "approve")
    assert approve["actor"] == "policy" and approve["details"] == {"policy": "Own agency officers", "level": "approval"}
    assert [h["event"] for h in final["history"]] == ["submit", "approve", "provision", "mark_emailed"]
    wait_for(lambda: rules_mailbox.to("mei.lin@auto.gov.sg"), what="the invitation")
    assert system.invite(other["id"], AUDITOR)["state"] == "submitted"


def test_one_account_per_person_at_submit_and_at_provisioning(quiet_system, rules_mailbox):
    from approval.db import database
    from approval.adapters.directory import LocalDirectory

    system = quiet_system
    first = submit(system, "jane.tan@tech.gov.sg")
    assert system.call("POST", f"/api/v1/invites/{first['id']}/approve", APPROVER, json={}).status_code == 202
    system.wait_for_state(first["id"], "emailed")
    again = submit(system, "Jane.Tan@tech.gov.sg", user="zed@tech.gov.sg", expect=409)
    assert "already has a TechPass account" in again["message"] and "existing_id" not in again

    # an account the directory holds though no request here made it: provisioning finds it by email
    with bound(database, approval_settings.load(system.env).db_url):
        with database.atomic():
            LocalDirectory().create_account("made-elsewhere", None, "ken.ong@tech.gov.sg", "Ken", "Ong", "public_officer")
    ken = submit(system, "ken.ong@tech.gov.sg")
    system.call("POST", f"/api/v1/invites/{ken['id']}/approve", APPROVER, json={})
    failed = system.wait_for_state(ken["id"], "failed")
    assert "already has a TechPass account" in failed["history"][-1]["note"]
    assert rules_mailbox.to("ken.ong@tech.gov.sg") == [] and len(rules_mailbox.to("jane.tan@tech.gov.sg")) == 1


def put_on_the_broker(system, type_name, payload):
    """A message published straight to the broker, as a sender other than intake (or an older intake) could."""
    settings = intake_settings.load(system.env)
    publisher = Publisher(settings.amqp_url, digest_topology(settings))
    forged = new_message(type_name, payload, correlation_id=payload["request_id"], producer="someone")
    try:
        assert publisher.publish([Outgoing.from_envelope(forged, digest_topology(settings))])
    finally:
        publisher.close()


def put_decision_on_the_broker(system, invite_id, actor):
    put_on_the_broker(system, "approval.decide", {"request_id": invite_id, "decision": "approve", "actor": actor})


def refusals(system, invite_id):
    return [h for h in system.invite(invite_id, AUDITOR)["history"] if h["event"] == "decision_refused"]


def test_a_decision_put_on_the_broker_by_the_invitee_is_refused(quiet_system):
    system = quiet_system
    invite = submit(system, "dana@tech.gov.sg")
    put_decision_on_the_broker(system, invite["id"], "dana@tech.gov.sg")
    [entry] = wait_for(lambda: refusals(system, invite["id"]), what="the refusal in the history")
    assert "invitation of themselves" in entry["note"]
    assert system.invite(invite["id"], AUDITOR)["state"] == "submitted"


def test_a_decision_put_on_the_broker_by_someone_outside_the_organisation_is_refused(quiet_system):
    system = quiet_system
    invite = submit(system, "outsider.check@tech.gov.sg")
    put_decision_on_the_broker(system, invite["id"], "vic@vendor.example.com")
    [entry] = wait_for(lambda: refusals(system, invite["id"]), what="the refusal in the history")
    assert entry["note"] == "only a public officer can decide on a request" and entry["actor"] == "vic@vendor.example.com"
    assert system.invite(invite["id"], AUDITOR)["state"] == "submitted"


def test_a_tagged_address_is_its_person_for_self_invitation_policy_and_separation_of_duties(quiet_system, rules_mailbox):
    # lee+x@auto.gov.sg reaches lee: the policy (own agency officers) would otherwise approve and email it
    from approval.db import database
    from approval.models import InviteRequest as ApprovalRequest

    system = quiet_system
    refused = system.call("POST", "/api/v1/invites", "lee@auto.gov.sg", json={
        "method": "email_invitation", "email": "lee+x@auto.gov.sg", "seed_onboarding": False, "reason": "A second mailbox"})
    assert refused.status_code == 422 and "cannot invite yourself" in refused.json()["errors"]["email"][0]

    # the same request put on the broker by another sender: approval rejects it on arrival
    request_id = str(uuid.uuid4())
    put_on_the_broker(system, "invite.submitted", {
        "request_id": request_id, "method": "email_invitation", "requester": "lee@auto.gov.sg",
        "email": "lee+x@auto.gov.sg", "user_type": "public_officer", "seed_onboarding": False,
        "submitted_at": utcnow().isoformat()})
    with bound(database, approval_settings.load(system.env).db_url):
        rejected = wait_for(lambda: ApprovalRequest.get_or_none(
            (ApprovalRequest.id == request_id) & (ApprovalRequest.state != "submitted")), what="approval's answer")
        assert rejected.state == "rejected"
        [move] = rejected.transitions
        assert (move.verb, move.actor, move.note) == ("reject", "system", "a requester cannot invite themselves")

    # bob cannot decide on an invitation of bob+x@, through intake nor put on the broker
    invite = submit(system, "bob+x@tech.gov.sg")
    assert system.call("POST", f"/api/v1/invites/{invite['id']}/approve", APPROVER, json={}).status_code == 403
    put_decision_on_the_broker(system, invite["id"], APPROVER)
    [entry] = wait_for(lambda: refusals(system, invite["id"]), what="the refusal in the history")
    assert entry["note"] == "an approver cannot decide on an invitation of themselves"
    assert system.invite(invite["id"], AUDITOR)["state"] == "submitted"
    assert rules_mailbox.to("lee+x@auto.gov.sg") == [] and rules_mailbox.to("bob+x@tech.gov.sg") == []


def test_an_expired_request_is_shown_expired_and_its_requester_emailed(quiet_system, rules_mailbox):
    from approval import bootstrap
    from approval.db import database
    from approval.models import InviteRequest as ApprovalRequest

    system = quiet_system
    invite = submit(system, "slow.one@tech.gov.sg")
    settings = approval_settings.load(system.env)
    with bound(database, settings.db_url):
        deps = bootstrap.build_dependencies(settings)
        wait_for(lambda: ApprovalRequest.get_or_none(ApprovalRequest.id == invite["id"]), what="approval to know the request")
        assert bootstrap.sweep_expired(deps, now=utcnow() + dt.timedelta(days=15)) >= 1
    final = system.wait_for_state(invite["id"], "expired")
    assert final["history"][-1]["event"] == "expire"
    def notices():
        return [m for m in rules_mailbox.to(REQUESTER) if m["Subject"] == "Your TechPass request for slow.one@tech.gov.sg has expired"]

    assert len(wait_for(notices, what="the expiry notice")) == 1
