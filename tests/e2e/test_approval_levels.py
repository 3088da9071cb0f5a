"""Levels of approval end to end, the three services as processes over real RabbitMQ, SQLite and an SMTP server,
intake and approval both reading the README's example policy (APPROVAL_POLICY): an offshore vendor passes the
agency level (an approver of the requester's agency) then the security level (a security approver), nobody decides
two levels of one request, a level whose holders are all excluded goes to its fallback role, a stand-in decides
for the approver who named them, and a request an administrator reassigned is decided by that person alone.

One system serves the module (starting three processes is most of the cost); each test makes requests of its own.
Naming a stand-in and reassigning a request have no API yet: the tests call intake's service functions in this
process, against intake's database and an intake app of the same settings."""
from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import pytest

from intake import settings as intake_settings
from invite_common.db import utcnow
from invite_common.topology import Topology
from tests.e2e.test_approver_rules import bound, digest_topology, put_on_the_broker
from tests.support.broker import delete_namespace, wait_for
from tests.support.mailbox import Mailbox
from tests.support.policies import EXAMPLE
from tests.support.system import RETRY_DELAYS, RunningSystem, SERVICES, system_env

REQUESTER = "amy@tech.gov.sg"
BOB, DANA = "bob@tech.gov.sg", "dana@tech.gov.sg"  # approvers at the requester's agency
DAVE = "dave@tech.gov.sg"  # the one security approver
EVE = "eve@tech.gov.sg"  # an approver who is given the security approver's role too, for one test
ADA = "ada@tech.gov.sg"  # an administrator
CORA = "cora@tech.gov.sg"  # an officer with no role, given one request to decide
AUDITOR = "carol@tech.gov.sg"  # the reader of system.wait_for_state

GRANTS = ",".join([f"approver:{BOB}", f"approver:{DANA}", f"approver:{EVE}", f"security_approver:{DAVE}",
                   f"admin:{ADA}", f"auditor:{AUDITOR}"])


@pytest.fixture(scope="module")
def levels_mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def levels_system(tmp_path_factory, amqp_url, levels_mailbox):
    """The services on SQLite, intake and approval reading the example policy, roles from ROLE_GRANTS."""
    root = tmp_path_factory.mktemp("approval-levels")
    (root / "policy.toml").write_text(EXAMPLE)
    namespace = f"e{uuid.uuid4().hex[:10]}"
    env = system_env(
        amqp_url=amqp_url, namespace=namespace, db_urls={s: f"sqlite:///{root / (s + '.db')}" for s in SERVICES},
        smtp_url=levels_mailbox.url, var_dir=root / "var",
        APPROVER_DIGEST_MINUTES="0", APPROVAL_POLICY=str(root / "policy.toml"), ROLE_GRANTS=GRANTS,
    )
    system = RunningSystem(env=env, logs=root)
    try:
        system.start()
        yield system
    finally:
        system.stop()
        delete_namespace(amqp_url, Topology(namespace=namespace, retry_delays=RETRY_DELAYS))


def offshore_vendor(system, requester=REQUESTER):
    """An offshore vendor's account request (agency, then security), with an address and username of its own."""
    tag = uuid.uuid4().hex[:6]
    body = {"method": "create_account", "email": f"vic.{tag}@vendor.example.com", "user_type": "vendor",
            "username": f"V-Vic.{tag}", "first_name": "Vic", "last_name": "Lim", "contact_number": "9123 4567",
            "organisation": "Example Pte Ltd", "department": "Platforms", "seed_onboarding": True, "offshore": True,
            "reason": "Runs the offshore support desk"}
    response = system.call("POST", "/api/v1/invites", requester, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def officer(system, requester=REQUESTER):
    body = {"method": "email_invitation", "email": f"jo.{uuid.uuid4().hex[:6]}@tech.gov.sg", "seed_onboarding": False,
            "reason": "Joining the platform team"}
    response = system.call("POST", "/api/v1/invites", requester, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def approve(system, invite_id, user, expect=202):
    response = system.call("POST", f"/api/v1/invites/{invite_id}/approve", user, json={})
    assert response.status_code == expect, response.text
    return response.json()


def entries(system, invite_id, event):
    return [h for h in system.invite(invite_id, AUDITOR)["history"] if h["event"] == event]


def level_approved(system, invite_id):
    """The request's `approve_level` entry, once intake has followed approval into the next level."""
    [entry] = wait_for(lambda: entries(system, invite_id, "approve_level"), what="the first level's approval")
    return entry


def queue_ids(system, user):
    response = system.call("GET", "/api/v1/approvals?limit=200", user)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


@contextlib.contextmanager
def intake_app(system):
    """An intake app of the running system's settings, in this process, on intake's database: for the service
    functions the API does not offer yet."""
    from intake.app import create_app
    from intake.db import database
    from invite_common.outbox import Outbox

    settings = intake_settings.load(system.env)
    with bound(database, settings.db_url):
        app = create_app(settings, Outbox(database, digest_topology(settings)))
        with app.app_context():
            yield database


def test_an_offshore_vendor_passes_agency_then_security_approval_and_is_emailed(levels_system, levels_mailbox):
    system = levels_system
    invite = offshore_vendor(system)
    assert invite["id"] in queue_ids(system, BOB) and invite["id"] not in queue_ids(system, DAVE)
    # the agency level first: not the security approver's yet
    early = approve(system, invite["id"], DAVE, expect=403)
    assert early["message"] == "This request waits for one of the approvers of the requester's agency."
    approve(system, invite["id"], BOB)
    first = level_approved(system, invite["id"])
    assert (first["actor"], first["details"]) == (BOB, {"level": "agency", "next_level": "security"})
    assert system.invite(invite["id"], AUDITOR)["state"] == "submitted"
    # the security level is the security approver's now, no longer the agency's approvers'
    assert invite["id"] in queue_ids(system, DAVE) and invite["id"] not in queue_ids(system, DANA)

    approve(system, invite["id"], DAVE)
    final = system.wait_for_state(invite["id"], "emailed")
    events = [h["event"] for h in final["history"]]
    assert events[:3] == ["submit", "approve_level", "approve"] and events[-1] == "mark_emailed"
    last = next(h for h in final["history"] if h["event"] == "approve")
    assert (last["actor"], last["details"]) == (DAVE, {"level": "security"})
    wait_for(lambda: levels_mailbox.to(invite["email"]), what="the invitation at the SMTP server")


def refusals(system, invite_id):
    return entries(system, invite_id, "decision_refused")


def test_who_decided_the_agency_level_cannot_decide_the_security_level_at_intake_nor_at_approval(levels_system):
    from intake.approvals.levels import EARLIER_LEVEL
    from intake.auth import roles

    system = levels_system
    with intake_app(system) as database:
        with database.atomic():
            roles.grant("security_approver", EVE, ADA)
    try:
        invite = offshore_vendor(system)
        approve(system, invite["id"], EVE)
        level_approved(system, invite["id"])
        refused = approve(system, invite["id"], EVE, expect=403)
        assert refused["message"] == EARLIER_LEVEL

        # the same decision put straight on the broker: approval refuses it too, from its own record of deciders
        put_on_the_broker(system, "approval.decide", {"request_id": invite["id"], "decision": "approve", "actor": EVE,
                                                      "level": "security"})
        [entry] = wait_for(lambda: refusals(system, invite["id"]), what="approval's refusal in the history")
        assert entry["note"] == "an approver cannot decide two levels of one request" and entry["actor"] == EVE
        assert system.invite(invite["id"], AUDITOR)["state"] == "submitted"
        # the security approver who decided nothing yet still can
        approve(system, invite["id"], DAVE)
        system.wait_for_state(invite["id"], "emailed")
    finally:
        with intake_app(system) as database:
            with database.atomic():
                roles.revoke("security_approver", EVE, ADA)


def test_a_level_whose_only_holder_made_the_request_goes_to_its_fallback_role(levels_system):
    from intake.approvals.levels import EARLIER_LEVEL

    system = levels_system
    invite = offshore_vendor(system, requester=DAVE)  # dave is the one security approver
    approve(system, invite["id"], BOB)
    level_approved(system, invite["id"])
    [fallback] = wait_for(lambda: entries(system, invite["id"], "level_fallback"), what="the fallback in the history")
    assert fallback["actor"] == "system"
    assert fallback["details"] == {"level": "security", "role": "security_approver", "fallback": "approver"}
    assert "Every security approver is excluded" in fallback["note"] and "Security approval level" in fallback["note"]

    # approvers decide it now, but not the one who decided its agency level
    assert invite["id"] in queue_ids(system, DANA) and invite["id"] not in queue_ids(system, BOB)
    assert approve(system, invite["id"], BOB, expect=403)["message"] == EARLIER_LEVEL
    approve(system, invite["id"], DANA)
    final = system.wait_for_state(invite["id"], "emailed")
    last = next(h for h in final["history"] if h["event"] == "approve")
    assert (last["actor"], last["details"]) == (DANA, {"level": "security"})


def test_a_stand_in_decides_for_the_security_approver_who_named_them(levels_system):
    from intake.approvals import delegations

    system = levels_system
    invite = offshore_vendor(system)
    approve(system, invite["id"], DANA)
    level_approved(system, invite["id"])
    assert invite["id"] not in queue_ids(system, BOB)

    now = utcnow()
    with intake_app(system) as database:
        with database.atomic():
            named = delegations.name_stand_in(DAVE, frozenset({"security_approver"}), BOB, now,
                                              now + dt.timedelta(days=1), ("gov.sg",))
    try:
        assert invite["id"] in queue_ids(system, BOB)
        approve(system, invite["id"], BOB)
        final = system.wait_for_state(invite["id"], "emailed")
        last = next(h for h in final["history"] if h["event"] == "approve")
        assert last["actor"] == BOB
        assert last["details"] == {"level": "security", "on_behalf_of": DAVE}
    finally:
        with intake_app(system) as database:
            with database.atomic():
                delegations.end(named.id, DAVE)


def test_a_request_an_administrator_reassigns_is_decided_by_that_person_alone(levels_system):
    from intake.auth.identity import Caller
    from intake.invites import service

    system = levels_system
    invite = officer(system)
    assert invite["id"] in queue_ids(system, BOB) and invite["id"] in queue_ids(system, DANA)
    with intake_app(system):
        service.reassign(invite["id"], CORA, "Cora knows this team", Caller(ADA, frozenset({"admin", "requester"})))
    [moved] = entries(system, invite["id"], "reassigned")
    assert (moved["actor"], moved["note"], moved["details"]) == (ADA, "Cora knows this team",
                                                                  {"to": CORA, "level": "agency", "role": "approver"})

    # out of the approvers' queues; in the queue of the person given it, who holds no role
    assert invite["id"] not in queue_ids(system, BOB) | queue_ids(system, DANA)
    assert invite["id"] in queue_ids(system, CORA)
    refused = approve(system, invite["id"], BOB, expect=403)
    assert refused["message"] == "An administrator gave this request to another person to decide."
    approve(system, invite["id"], CORA)
    final = system.wait_for_state(invite["id"], "emailed")
    last = next(h for h in final["history"] if h["event"] == "approve")
    assert (last["actor"], last["details"]) == (CORA, {"level": "agency"})



def test_an_agency_without_approvers_has_its_requests_decided_by_an_administrator(levels_system):
    # the agency level's approvers are all at tech.gov.sg: lee's agency has none, so its fallback (administrators,
    # of any agency) decides, not an administrator of lee's agency, which has none either
    system = levels_system
    invite = officer(system, requester="lee@auto.gov.sg")
    [fallback] = entries(system, invite["id"], "level_fallback")
    assert fallback["details"] == {"level": "agency", "role": "approver", "fallback": "admin"}
    assert fallback["note"].startswith("Every approver in the requester's agency (auto.gov.sg) is excluded")
    assert invite["id"] in queue_ids(system, ADA) and invite["id"] not in queue_ids(system, BOB)
    refused = approve(system, invite["id"], BOB, expect=403)
    assert refused["message"] == "This request waits for one of the administrators."
    approve(system, invite["id"], ADA)
    final = system.wait_for_state(invite["id"], "emailed")
    last = next(h for h in final["history"] if h["event"] == "approve")
    assert (last["actor"], last["details"]) == (ADA, {"level": "agency"})
