"""Approval's steps on a real database, each message delivered to the handler the service declares for its type:
decisions, provisioning, SEED, emails, failure, operator retry, expiry."""
import datetime as dt
import json

import pytest

from invite_common.approval_policy import NO_POLICY

from invite_common.consumer import TwoPhaseHandler
from invite_common.messages import new_message
from invite_common.outbox import Outbox
from invite_common.topology import Topology

from approval import bootstrap, dispatch
from approval.db import database
from approval.adapters.directory import AccountDirectory, AccountExists, DirectoryUnavailable, LocalDirectory
from approval.adapters.enrolment import LocalEnrolment
from approval.models import InviteRequest, Transition
from approval.steps import failure

pytestmark = pytest.mark.both_databases("each step claims its request by a conditional update inside the consumer's transaction")


class DownDirectory(AccountDirectory):
    """A directory that times out, like a real one on a bad day."""

    def create_account(self, **kwargs):
        raise DirectoryUnavailable("directory timed out")

    def find_by_email(self, email):
        raise DirectoryUnavailable("directory timed out")


class RemoteDirectory(LocalDirectory):
    """A directory reached outside approval's transaction, as a networked one is: provisioning is a step of its own."""

    provisions_in_transaction = False


@pytest.fixture(params=["local", "remote"])
def approval_deps(request, approval_db):
    """Dependencies with the local directory (provisioning inside the approval) or a remote-like one (a step message)."""
    return dispatch.Dependencies(
        outbox=Outbox(database, Topology()),
        directory=LocalDirectory() if request.param == "local" else RemoteDirectory(),
        enrolment=LocalEnrolment(14),
        activation_url="https://techpass.example/activate",
        request_expiry_days=14,
    )


def message(type_name, payload, request_id="r1"):
    return new_message(type_name, payload, correlation_id=request_id, producer="test")


def submitted(request_id="r1", **overrides):
    payload = {
        "request_id": request_id, "method": "create_account", "requester": "amy@tech.gov.sg",
        "email": "vic@vendor.example.com", "user_type": "vendor", "username": "vic.lim",
        "first_name": "Vic", "last_name": "Lim", "organisation": "Example", "seed_onboarding": False,
        "offshore": False, "submitted_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    } | overrides
    return message("invite.submitted", payload, request_id)


def run(env, approval_deps):
    """Deliver `env` as the consumer does, to the handler the service declares for its type."""
    [handler] = [h for queue in bootstrap.consumers(approval_deps).values() for t, h in queue.items() if t == env.type]
    if isinstance(handler, TwoPhaseHandler):
        prepared = handler.prepare(env)
        with database.atomic():
            handler.commit(env, prepared)
    else:
        with database.atomic():
            handler(env)


def give_up(env, error, approval_deps):
    """What the consumer does with a message it gives up."""
    with database.atomic():
        dispatch.on_give_up(failure.fail_step, approval_deps)(env, error)


def published(approval_deps):
    return [json.loads(r.body) for r in approval_deps.outbox.pending()]


def approve(approval_deps, request_id="r1", actor="bob@tech.gov.sg"):
    run(message("approval.decide", {"request_id": request_id, "decision": "approve", "actor": actor}, request_id), approval_deps)


def advance(approval_deps, step, request_id="r1"):
    run(message("approval.advance", {"request_id": request_id, "step": step}, request_id), approval_deps)


def test_approval_then_provisioning_asks_for_the_invitation(approval_deps):
    run(submitted(), approval_deps)
    approve(approval_deps)
    advance(approval_deps, "provision")
    request = InviteRequest.get_by_id("r1")
    assert request.state == "account_created" and request.username == "vic.lim"
    emails = [m for m in published(approval_deps) if m["type"] == "notifier.send_email"]
    assert [e["payload"]["template"] for e in emails] == ["invitation"]
    assert emails[0]["payload"]["to"] == "vic@vendor.example.com"


def test_offshore_vendor_is_booked_for_seed_even_if_not_asked(approval_deps):
    run(submitted(offshore=True, seed_onboarding=False), approval_deps)
    approve(approval_deps)
    advance(approval_deps, "provision")
    advance(approval_deps, "request_seed")
    assert InviteRequest.get_by_id("r1").state == "seed_requested"
    [email] = [m for m in published(approval_deps) if m["type"] == "notifier.send_email"]
    assert email["payload"]["template"] == "invitation_seed"
    assert email["payload"]["context"]["seed_code"].startswith("SEED-")


def test_self_approval_is_refused_and_announced(approval_deps):
    run(submitted(), approval_deps)
    approve(approval_deps, actor="AMY@tech.gov.sg")
    assert InviteRequest.get_by_id("r1").state == "submitted"
    refusals = [m for m in published(approval_deps) if m["type"] == "invite.decision_refused"]
    assert len(refusals) == 1


def test_a_decision_by_someone_outside_the_organisation_is_refused_and_announced(approval_deps):
    # whatever role intake believed they had: only a public officer decides
    run(submitted(), approval_deps)
    approve(approval_deps, actor="val@vendor.example.com")
    run(message("approval.decide", {"request_id": "r1", "decision": "reject", "actor": "val@gov.sg.evil.com",
                                                     "reason": "no"}), approval_deps)
    assert InviteRequest.get_by_id("r1").state == "submitted" and Transition.select().count() == 0
    refusals = [m["payload"] for m in published(approval_deps) if m["type"] == "invite.decision_refused"]
    assert [(r["actor"], r["error"]) for r in refusals] == [
        ("val@vendor.example.com", "only a public officer can decide on a request"),
        ("val@gov.sg.evil.com", "only a public officer can decide on a request"),
    ]
    approve(approval_deps, actor="bob@TECH.gov.sg")
    assert InviteRequest.get_by_id("r1").state != "submitted"


def test_a_late_decision_on_a_decided_request_changes_nothing(approval_deps):
    run(submitted(), approval_deps)
    approve(approval_deps)
    before = (InviteRequest.get_by_id("r1").state, Transition.select().count())
    run(message("approval.decide", {"request_id": "r1", "decision": "reject", "actor": "dana@tech.gov.sg", "reason": "late"}), approval_deps)
    assert (InviteRequest.get_by_id("r1").state, Transition.select().count()) == before
    assert before[0] == ("account_created" if approval_deps.directory.provisions_in_transaction else "approved")


def test_with_the_local_directory_approval_creates_the_account_in_the_same_transaction(approval_deps):
    if not approval_deps.directory.provisions_in_transaction:
        pytest.skip("only a directory in approval's database can share its transaction")
    run(submitted(), approval_deps)
    approve(approval_deps)
    assert InviteRequest.get_by_id("r1").state == "account_created"
    assert [t.verb for t in Transition.select().order_by(Transition.seq)] == ["approve", "provision"]
    changed, email = published(approval_deps)
    assert (changed["type"], email["type"]) == ("invite.state_changed", "notifier.send_email")
    # one event for both moves, in order
    moves = [changed["payload"], *changed["payload"]["then"]]
    assert [(m["seq"], m["verb"], m["to_state"]) for m in moves] == [(1, "approve", "approved"), (2, "provision", "account_created")]
    assert moves[1]["details"] == {"username": "vic.lim"}


def test_a_refused_account_fails_the_approved_request_instead_of_undoing_the_approval(approval_deps):
    if not approval_deps.directory.provisions_in_transaction:
        pytest.skip("only a directory in approval's database can share its transaction")
    run(submitted("r0", email="first@vendor.example.com"), approval_deps)
    approve(approval_deps, "r0")
    run(submitted(), approval_deps)  # asks for the same username, vic.lim
    approve(approval_deps)
    request = InviteRequest.get_by_id("r1")
    assert request.state == "failed" and request.failed_from == "approved"
    assert [t.verb for t in Transition.select().where(Transition.request == "r1").order_by(Transition.seq)] == ["approve", "fail"]


def test_exhausted_provisioning_fails_the_request_and_an_operator_retry_runs_it_again(approval_deps):
    if approval_deps.directory.provisions_in_transaction:
        pytest.skip("a directory in approval's database has no separate provisioning step to exhaust")
    run(submitted(), approval_deps)
    approve(approval_deps)
    broken = dispatch.Dependencies(**{**approval_deps.__dict__, "directory": DownDirectory()})
    step = message("approval.advance", {"request_id": "r1", "step": "provision"})
    with pytest.raises(DirectoryUnavailable):
        run(step, broken)
    give_up(step, DirectoryUnavailable("directory timed out"), approval_deps)
    request = InviteRequest.get_by_id("r1")
    assert request.state == "failed" and request.failed_from == "approved"

    assert bootstrap.retry(approval_deps, "r1", "ops@tech.gov.sg") == "approved"
    advance(approval_deps, "provision")
    assert InviteRequest.get_by_id("r1").state == "account_created"
    verbs = [t.verb for t in Transition.select().order_by(Transition.seq)]
    assert verbs == ["approve", "fail", "retry", "provision"]


def test_undelivered_invitation_fails_the_request(approval_deps):
    run(submitted(), approval_deps)
    approve(approval_deps)
    advance(approval_deps, "provision")
    failed = message("email.failed", {"request_id": "r1", "template": "invitation", "send_key": "invitation-1", "error": "550 no such user", "permanent": True})
    run(failed, approval_deps)
    request = InviteRequest.get_by_id("r1")
    assert request.state == "failed" and request.failed_from == "account_created"
    bootstrap.retry(approval_deps, "r1", "ops@tech.gov.sg")
    sends = [m["payload"]["send_key"] for m in published(approval_deps) if m["type"] == "notifier.send_email"]
    assert sends == ["invitation-1", "invitation-2"]


def test_requests_without_a_decision_expire_after_the_allowed_days(approval_deps):
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=15)).isoformat()
    run(submitted("old", submitted_at=old), approval_deps)
    run(submitted("new", email="new@vendor.example.com", username="new.one"), approval_deps)
    assert bootstrap.sweep_expired(approval_deps) == 1
    assert InviteRequest.get_by_id("old").state == "expired"
    assert InviteRequest.get_by_id("new").state == "submitted"


def test_an_approver_cannot_decide_on_an_invitation_of_themselves(approval_deps):
    run(submitted(email="bob@tech.gov.sg", method="email_invitation",
                                              user_type="public_officer", username=None), approval_deps)
    approve(approval_deps, actor="Bob@Tech.gov.sg")
    assert InviteRequest.get_by_id("r1").state == "submitted"
    [refusal] = [m for m in published(approval_deps) if m["type"] == "invite.decision_refused"]
    assert "invitation of themselves" in refusal["payload"]["error"]


def test_a_self_invitation_put_on_the_broker_is_rejected_on_arrival(approval_deps):
    run(submitted(requester="vic@vendor.example.com"), approval_deps)
    request = InviteRequest.get_by_id("r1")
    assert request.state == "rejected"
    [change] = [m for m in published(approval_deps) if m["type"] == "invite.state_changed"]
    assert change["payload"]["actor"] == "system" and "cannot invite themselves" in change["payload"]["note"]


def test_provisioning_refuses_an_invitee_who_already_has_an_account(approval_deps):
    LocalDirectory().create_account("earlier", None, "Vic@Vendor.example.com", "Vic", "Lim", "public_officer")
    run(submitted(), approval_deps)
    approve(approval_deps)
    if not approval_deps.directory.provisions_in_transaction:
        step = message("approval.advance", {"request_id": "r1", "step": "provision"})
        with pytest.raises(AccountExists):
            run(step, approval_deps)
        give_up(step, AccountExists("the invitee already has a TechPass account"), approval_deps)
    # (a directory in approval's database is asked inside the approval's transaction, which fails the request itself)
    request = InviteRequest.get_by_id("r1")
    assert request.state == "failed" and request.username == "vic.lim"
    # no second account, no invitation
    from approval.models import Account
    assert Account.select().count() == 1
    assert not [m for m in published(approval_deps) if m["type"] == "notifier.send_email"]
    fail = Transition.select().where(Transition.verb == "fail").get()
    assert "already has a TechPass account" in fail.note


def test_provisioning_again_for_the_same_request_finds_its_own_account_and_goes_on(approval_deps):
    run(submitted(), approval_deps)
    approve(approval_deps)
    LocalDirectory().create_account("r1", "vic.lim", "vic@vendor.example.com", "Vic", "Lim", "vendor")
    advance(approval_deps, "provision")
    assert InviteRequest.get_by_id("r1").state == "account_created"


def test_a_resent_invitation_shows_as_delivered_again(approval_deps):
    run(submitted(), approval_deps)
    approve(approval_deps)
    advance(approval_deps, "provision")
    sent = {"request_id": "r1", "template": "invitation", "smtp_message_id": "<a@x>"}
    run(message("email.sent", sent | {"send_key": "invitation-1"}), approval_deps)
    run(message("invite.resend_requested", {"request_id": "r1", "actor": "amy@tech.gov.sg"}), approval_deps)
    run(message("email.sent", sent | {"send_key": "invitation-2", "smtp_message_id": "<b@x>"}), approval_deps)
    request = InviteRequest.get_by_id("r1")
    assert request.state == "emailed"
    last = Transition.select().order_by(Transition.seq.desc()).first()
    assert (last.verb, last.from_state, last.to_state) == ("resend", "emailed", "emailed")


def test_the_delivery_of_the_requesters_notice_that_the_invitation_is_out_moves_no_request(approval_deps):
    # its template's name starts as an invitation's does; it is a notice all the same
    approval_deps.notify_requester_when_sent = True
    run(submitted(), approval_deps)
    approve(approval_deps)
    advance(approval_deps, "provision")
    sent = {"request_id": "r1", "smtp_message_id": "<a@x>"}
    run(message("email.sent", sent | {"template": "invitation", "send_key": "invitation-1"}), approval_deps)
    run(message("email.sent", sent | {"template": "invitation_sent_notice", "send_key": "sent", "smtp_message_id": "<n@x>"}), approval_deps)
    assert [t.verb for t in Transition.select().order_by(Transition.seq)] == ["approve", "provision", "mark_emailed"]
    assert [m["payload"]["verb"] for m in published(approval_deps) if m["type"] == "invite.state_changed"][-1] == "mark_emailed"


def test_delivered_notices_without_a_request_are_only_logged(approval_deps):
    digest = {"request_id": "digest-202612010000", "template": "approver_digest", "send_key": "bob", "smtp_message_id": "<d@x>"}
    run(message("email.sent", digest, "digest-202612010000"), approval_deps)
    assert published(approval_deps) == []


def test_an_expired_request_tells_its_requester_by_email(approval_deps):
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=15)).isoformat()
    run(submitted("old", submitted_at=old), approval_deps)
    bootstrap.sweep_expired(approval_deps)
    [email] = [m for m in published(approval_deps) if m["type"] == "notifier.send_email"]
    assert email["payload"]["template"] == "expiry_notice" and email["payload"]["to"] == "amy@tech.gov.sg"
    assert email["payload"]["context"]["expiry_days"] == 14


OWN_AGENCY = """
[[rules]]
name = "Officers of the requester's own agency"
method = ["email_invitation"]
invitee_in_requester_domain = true
"""


def officer_invite(request_id, email, requester="amy@tech.gov.sg"):
    return submitted(request_id, method="email_invitation", user_type="public_officer", username=None,
                     email=email, requester=requester, first_name="", last_name="")


def test_a_policy_rule_approves_matching_requests_in_its_name(approval_deps):
    from invite_common.approval_policy import parse

    approval_deps.policy = parse(OWN_AGENCY, suffix=".toml")
    run(officer_invite("same", "jane@tech.gov.sg"), approval_deps)
    run(officer_invite("other", "ken@hdb.gov.sg"), approval_deps)
    assert InviteRequest.get_by_id("same").state == "approved"
    assert InviteRequest.get_by_id("other").state == "submitted"
    [change] = [m["payload"] for m in published(approval_deps) if m["type"] == "invite.state_changed"]
    assert change["actor"] == "policy" and change["details"] == {"policy": "Officers of the requester's own agency", "level": "approval"}
    assert [m["payload"]["step"] for m in published(approval_deps) if m["type"] == "approval.advance"] == ["provision"]


def test_a_policy_never_approves_a_self_invitation_nor_a_second_account(approval_deps):
    from invite_common.approval_policy import parse

    approval_deps.policy = parse(OWN_AGENCY, suffix=".toml")
    run(officer_invite("self", "amy@tech.gov.sg"), approval_deps)
    assert InviteRequest.get_by_id("self").state == "rejected"
    LocalDirectory().create_account("earlier", None, "jane@tech.gov.sg", "Jane", "Tan", "public_officer")
    run(officer_invite("again", "jane@tech.gov.sg"), approval_deps)
    with pytest.raises(AccountExists):
        advance(approval_deps, "provision", "again")


@pytest.mark.parametrize("asked", [False, True])
def test_the_requester_is_emailed_when_the_invitation_is_out_only_if_configured(approval_deps, asked):
    approval_deps.notify_requester_when_sent = asked
    run(submitted(), approval_deps)
    approve(approval_deps)
    advance(approval_deps, "provision")
    sent = {"request_id": "r1", "template": "invitation", "send_key": "invitation-1", "smtp_message_id": "<a@x>"}
    run(message("email.sent", sent), approval_deps)
    notices = [m["payload"] for m in published(approval_deps) if m["type"] == "notifier.send_email"
               and m["payload"]["template"] == "invitation_sent_notice"]
    assert [(n["to"], n["context"]["invitee_email"]) for n in notices] == ([("amy@tech.gov.sg", "vic@vendor.example.com")] if asked else [])


def test_a_tagged_address_is_its_person_for_self_invitation_separation_of_duties_and_policy(approval_deps):
    # amy+x@ reaches amy: the policy must not approve (and email) amy's invitation of herself
    from invite_common.approval_policy import parse

    approval_deps.policy = parse(OWN_AGENCY, suffix=".toml")
    run(officer_invite("self", "Amy+x@tech.gov.sg"), approval_deps)
    run(officer_invite("self-too", "amy@tech.gov.sg", requester="amy+work@tech.gov.sg"), approval_deps)
    assert [InviteRequest.get_by_id(r).state for r in ("self", "self-too")] == ["rejected", "rejected"]
    assert not [m for m in published(approval_deps) if m["type"] in ("notifier.send_email", "approval.advance")]

    approval_deps.policy = NO_POLICY
    run(officer_invite("for-bob", "bob+x@tech.gov.sg"), approval_deps)
    run(officer_invite("by-bob", "ken@tech.gov.sg", requester="bob+team@tech.gov.sg"), approval_deps)
    approve(approval_deps, "for-bob", actor="bob@tech.gov.sg")
    approve(approval_deps, "by-bob", actor="bob@tech.gov.sg")
    assert [InviteRequest.get_by_id(r).state for r in ("for-bob", "by-bob")] == ["submitted", "submitted"]
    errors = [m["payload"]["error"] for m in published(approval_deps) if m["type"] == "invite.decision_refused"]
    assert errors == ["an approver cannot decide on an invitation of themselves",
                      "an approver cannot decide on their own request"]
    approve(approval_deps, "for-bob", actor="dana@tech.gov.sg")
    assert InviteRequest.get_by_id("for-bob").state != "submitted"


def test_provisioning_refuses_a_second_account_for_a_person_at_a_tagged_address(approval_deps):
    LocalDirectory().create_account("earlier", None, "jane@tech.gov.sg", "Jane", "Tan", "public_officer")
    run(officer_invite("again", "JANE+new@tech.gov.sg"), approval_deps)
    approve(approval_deps, "again")
    if not approval_deps.directory.provisions_in_transaction:
        with pytest.raises(AccountExists):
            advance(approval_deps, "provision", "again")
    else:
        assert InviteRequest.get_by_id("again").state == "failed"
    from approval.models import Account
    assert Account.select().count() == 1
    assert LocalDirectory().find_by_email("jane+other@tech.gov.sg").request_id == "earlier"
    assert LocalDirectory().find_by_email("janet@tech.gov.sg") is None
