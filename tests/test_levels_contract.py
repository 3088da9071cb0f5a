"""The contract between intake and approval on levels of approval: both read the same APPROVAL_POLICY file with
the one policy model (invite_common.approval_policy), so for any request they agree on its levels and on the level
it waits in first; the level moves in intake as approval's `approve_level` events say; and the message vocabulary
holds every verb approval's workflow table moves by.

Each request is submitted through intake's API; the `invite.submitted` message intake wrote to its outbox is the
one delivered to approval's handler, each service on a database of its own, as in production."""
from __future__ import annotations

import json

import pytest

from invite_common import approval_policy
from invite_common.approval_policy import DEFAULT_LEVEL
from invite_common.db import apply_migrations, connect
from invite_common.messages import Verb, decode
from invite_common.outbox import Outbox
from invite_common.topology import Topology
from tests.support.policies import LEVELS, OFFSHORE_VENDORS, VENDORS_NEEDING_SEED

# the README's example with auto-approval rules before its routing rules: for every level, for the first, for the last
AUTO_APPROVALS = """
# an auto-approval rule for every level of the requests it names
[[rules]]
name = "Own agency officers"
method = ["email_invitation"]
invitee_in_requester_domain = true
invitee_domains = ["auto.gov.sg"]

# an auto-approval rule for one level: a framework vendor's agency level, never its security review
[[rules]]
name = "Framework vendor, agency cleared"
invitee_domains = ["framework.example.com"]
approves = ["agency"]

# and one for the last level only: a cleared vendor's security review, after a person's agency approval
[[rules]]
name = "Cleared vendor"
invitee_domains = ["cleared.example.com"]
approves = ["security"]
"""
EXAMPLE_POLICY = LEVELS + AUTO_APPROVALS + OFFSHORE_VENDORS + VENDORS_NEEDING_SEED

REQUESTER = "amy@tech.gov.sg"
GRANTS = "approver:bob@tech.gov.sg,approver:dana@tech.gov.sg,security_approver:dave@tech.gov.sg,auditor:carol@tech.gov.sg"


def officer(email="jane.tan@tech.gov.sg"):
    return {"method": "email_invitation", "email": email, "seed_onboarding": False, "reason": "Joining the platform team"}


def vendor(email="ali@acme.example.com", username="V-Ali.Acme", **changes):
    return {"method": "create_account", "email": email, "user_type": "vendor", "username": username,
            "first_name": "Ali", "last_name": "Tan", "contact_number": "9123 4567", "organisation": "Acme Pte Ltd",
            "department": "Platforms", "seed_onboarding": False, "reason": "Joining the platform team"} | changes


# (what the request is, who asks, its body, its levels as approval records them, the level it waits in first:
# None when a rule approves every level)
REQUESTS = [
    ("officer", REQUESTER, officer(), "agency", "agency"),
    ("onshore vendor", REQUESTER, vendor(), "agency", "agency"),
    ("offshore vendor", REQUESTER, vendor(offshore=True, seed_onboarding=True), "agency\nsecurity", "agency"),
    ("SEED vendor", REQUESTER, vendor(seed_onboarding=True), "agency\nsecurity", "agency"),
    ("auto-approved by a rule", "lee@auto.gov.sg", officer("mei.lin@auto.gov.sg"),
     "agency=Own agency officers", None),
    ("a rule approving one level", REQUESTER,
     vendor("vic@framework.example.com", "V-Vic.Frame", offshore=True, seed_onboarding=True),
     "agency=Framework vendor, agency cleared\nsecurity", "security"),
    ("a rule approving the last level", REQUESTER,
     vendor("kim@cleared.example.com", "V-Kim.Cleared", offshore=True, seed_onboarding=True),
     "agency\nsecurity=Cleared vendor", "agency"),
]


@pytest.fixture
def levels_policy_file(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(EXAMPLE_POLICY)
    return path


@pytest.fixture
def intake_beside_approval(db_kind, tmp_path, levels_policy_file):
    """Intake's app and approval's handlers in this process, each service on an SQLite database of its own, both
    reading `levels_policy_file` as APPROVAL_POLICY."""
    from approval import dispatch, settings as approval_settings
    from approval.adapters.directory import LocalDirectory
    from approval.adapters.enrolment import LocalEnrolment
    from approval.db import database as approval_database
    from approval.migrations import MIGRATIONS as APPROVAL_MIGRATIONS
    from intake import settings as intake_settings
    from intake.app import create_app
    from intake.auth.roles import parse_role_grants
    from intake.db import database as intake_database
    from intake.migrations import MIGRATIONS as INTAKE_MIGRATIONS
    from intake.models import RoleGrant

    assert db_kind == "sqlite"  # two services' databases at once: SQLite files of the test's own
    opened = []
    for database, migrations, name in ((intake_database, INTAKE_MIGRATIONS, "intake"),
                                       (approval_database, APPROVAL_MIGRATIONS, "approval")):
        db = connect(f"sqlite:///{tmp_path / (name + '.db')}")
        database.initialize(db)
        apply_migrations(db, migrations)
        opened.append((database, db))
    settings = intake_settings.load({"ROLE_GRANTS": GRANTS, "INVITES_VAR_DIR": str(tmp_path / "var"),
                                     "APPROVAL_POLICY": str(levels_policy_file)})
    with intake_database.atomic():
        for role, email in parse_role_grants(settings.role_grants):
            RoleGrant.create(role=role, email=email)
    intake_outbox = Outbox(intake_database, Topology())
    app = create_app(settings, intake_outbox)
    # the policy as approval's bootstrap reads it: the shared model from its own setting, without intake's roles
    approval_reading = approval_policy.load(approval_settings.load({"APPROVAL_POLICY": str(levels_policy_file)})
                                            .approval_policy)
    deps = dispatch.Dependencies(
        outbox=Outbox(approval_database, Topology()), directory=LocalDirectory(), enrolment=LocalEnrolment(14),
        activation_url="https://techpass.example/activate", policy=approval_reading)
    yield app, intake_outbox, deps
    for database, db in opened:
        db.close()
        database.initialize(None)


def deliver_to_approval(envelope, deps):
    """Hand `envelope` to the approval handler its service declares for its type, as its consumer does."""
    from approval import bootstrap
    from approval.db import database
    from invite_common.consumer import TwoPhaseHandler

    [handler] = [h for queue in bootstrap.consumers(deps).values() for t, h in queue.items() if t == envelope.type]
    if isinstance(handler, TwoPhaseHandler):
        prepared = handler.prepare(envelope)
        with database.atomic():
            handler.commit(envelope, prepared)
    else:
        with database.atomic():
            handler(envelope)


def outgoing(outbox, type_name):
    """The messages of `type_name` waiting in a service's outbox, decoded as their receiver decodes them."""
    return [decode(r.body) for r in outbox.pending() if json.loads(r.body)["type"] == type_name]


def submit_through_intake(app, user, body):
    response = app.test_client().open("/api/v1/invites", method="POST", headers={"X-Dev-User": user}, json=body)
    assert response.status_code == 201, response.text
    return response.get_json()["id"]


@pytest.mark.parametrize(("what", "user", "body", "recorded", "first"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_intake_and_approval_give_a_request_the_same_levels_under_one_policy_file(
        intake_beside_approval, levels_policy_file, what, user, body, recorded, first):
    from approval import levels as approval_levels
    from approval.models import InviteRequest as ApprovalRequest
    from intake.approvals import levels as intake_levels
    from intake.models import InviteRequest as IntakeRequest

    app, intake_outbox, deps = intake_beside_approval
    request_id = submit_through_intake(app, user, body)
    intake_request = IntakeRequest.get_by_id(request_id)
    intake_route = intake_levels.load_policy(str(levels_policy_file)).route(intake_request)

    [submitted] = [m for m in outgoing(intake_outbox, "invite.submitted") if m.payload["request_id"] == request_id]
    deliver_to_approval(submitted, deps)
    approval_request = ApprovalRequest.get_by_id(request_id)

    # the same levels, read by each service from the same file
    assert approval_levels.encode(intake_route) == approval_request.levels == recorded
    assert approval_levels.encode(deps.policy.route(approval_request)) == recorded
    # the same level waited in first: intake's queues and approval's decision check name one level
    assert intake_request.level == first
    if first is None:
        assert (intake_request.level_role, approval_request.state) == (None, "approved")
    else:
        assert approval_request.state == "submitted" and approval_levels.current(approval_request) == first
        assert intake_request.level_role == intake_levels.level_named(first, app.config["APPROVAL_POLICY"]).role


def test_the_vocabulary_names_approve_level_and_every_verb_of_approvals_workflow():
    from approval import workflow

    assert Verb.APPROVE_LEVEL == "approve_level" and Verb.APPROVE_LEVEL in Verb.ALL
    assert set(workflow.TRANSITIONS) <= set(Verb.ALL)
    # a level approved keeps the request waiting: the state intake shows does not move
    assert dict(workflow.TRANSITIONS[Verb.APPROVE_LEVEL]) == {"submitted": "submitted"}
    assert DEFAULT_LEVEL.name == "approval" and DEFAULT_LEVEL.role == "approver"


def test_intake_follows_approvals_approve_level_into_the_next_level(intake_beside_approval):
    """Approval's own `approve_level` event, consumed by intake's history consumer, moves intake's request to the
    level approval waits in, records who decided, and the next level's role decides it."""
    from approval import levels as approval_levels
    from approval.models import InviteRequest as ApprovalRequest
    from intake.approvals import levels as intake_levels
    from intake.db import database as intake_database
    from intake.history import consumer
    from intake.models import HistoryEntry, InviteRequest as IntakeRequest
    from invite_common.messages import new_message

    app, intake_outbox, deps = intake_beside_approval
    request_id = submit_through_intake(app, REQUESTER, vendor(offshore=True, seed_onboarding=True))
    [submitted] = [m for m in outgoing(intake_outbox, "invite.submitted") if m.payload["request_id"] == request_id]
    deliver_to_approval(submitted, deps)
    decision = new_message("approval.decide", {"request_id": request_id, "decision": "approve",
                                               "actor": "bob@tech.gov.sg", "level": "agency", "comment": "known"},
                           correlation_id=request_id, producer="intake")
    deliver_to_approval(decision, deps)
    assert approval_levels.current(ApprovalRequest.get_by_id(request_id)) == "security"

    [event] = [m for m in outgoing(deps.outbox, "invite.state_changed")
               if m.payload["request_id"] == request_id and m.payload["verb"] == Verb.APPROVE_LEVEL]
    assert event.payload["details"] == {"level": "agency", "next_level": "security"}
    with intake_database.atomic():
        consumer.record_state_change(event, app.config["APPROVAL_POLICY"], app.config["ORG_DOMAINS"])
    moved = IntakeRequest.get_by_id(request_id)
    assert (moved.state, moved.level, moved.level_role, moved.level_agency) == ("submitted", "security",
                                                                              "security_approver", None)
    assert intake_levels.decider_keys(moved) == ["bob@tech.gov.sg"]
    [entry] = HistoryEntry.select().where((HistoryEntry.request_id == request_id) & (HistoryEntry.event == Verb.APPROVE_LEVEL))
    assert entry.actor == "bob@tech.gov.sg"


def test_a_level_a_rule_approves_after_a_persons_level_keeps_intake_where_approval_is(intake_beside_approval):
    """A rule approving a request's last level: the person's approval of the first is followed, in the same event,
    by the policy's approval of the rest; intake records the person as a decider and no fallback, and the request
    ends approved in both services."""
    from approval.models import InviteRequest as ApprovalRequest
    from intake.approvals import levels as intake_levels
    from intake.db import database as intake_database
    from intake.history import consumer
    from intake.models import HistoryEntry, InviteRequest as IntakeRequest
    from invite_common.messages import new_message

    app, intake_outbox, deps = intake_beside_approval
    request_id = submit_through_intake(app, REQUESTER, vendor("kim@cleared.example.com", "V-Kim.Cleared",
                                                              offshore=True, seed_onboarding=True))
    [submitted] = [m for m in outgoing(intake_outbox, "invite.submitted") if m.payload["request_id"] == request_id]
    deliver_to_approval(submitted, deps)
    deliver_to_approval(new_message("approval.decide", {"request_id": request_id, "decision": "approve",
                                                        "actor": "bob@tech.gov.sg", "level": "agency"},
                                    correlation_id=request_id, producer="intake"), deps)
    assert ApprovalRequest.get_by_id(request_id).state == "approved"
    with intake_database.atomic():
        for event in outgoing(deps.outbox, "invite.state_changed"):
            if event.payload["request_id"] == request_id:
                consumer.record_state_change(event, app.config["APPROVAL_POLICY"], app.config["ORG_DOMAINS"])
    done = IntakeRequest.get_by_id(request_id)
    assert done.state != "submitted" and intake_levels.decider_keys(done) == ["bob@tech.gov.sg"]
    history = [(e.event, e.actor) for e in HistoryEntry.select().where(HistoryEntry.request_id == request_id)
               .order_by(HistoryEntry.id)]
    assert history[:3] == [("submit", REQUESTER), ("approve_level", "bob@tech.gov.sg"), ("approve", "policy")]
    assert intake_levels.LEVEL_FALLBACK not in [event for event, _ in history]
