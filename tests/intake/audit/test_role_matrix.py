"""Every audit route refuses requesters and approvers; every route that changes something refuses
auditors (and changes nothing). The routes come from the app's own URL map, so a new route is
covered without editing this test."""
import io

import pytest

from intake.auth import roles
from intake.db import database
from intake.models import BatchDraft, BatchRow, HistoryEntry, InviteRequest
from tests.support.callers import as_user, signed_in

AUDITOR, REQUESTER, APPROVER = "carol@tech.gov.sg", "amy@tech.gov.sg", "bob@tech.gov.sg"
CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# signing in and out changes nobody's data
OPEN_TO_ALL = {"portal.auth.sign_in", "portal.auth.sign_out"}
CSV = (b"email,user_type,username,first_name,last_name,contact_number,organisation,department,seed_onboarding,offshore,reason\r\n"
       b"li@tech.gov.sg,public_officer,,Li,Na,91234567,GovTech,,no,no,Joining\r\n")


@pytest.fixture
def world(app, client):
    """amy's pending request and batch draft, so every route with an id has a real one to aim at."""
    app.config["WTF_CSRF_ENABLED"] = False  # so a refusal is the role check's, not the missing token's
    amy = as_user(client, REQUESTER)
    invite = amy("POST", "/api/v1/invites", json={"method": "email_invitation", "email": "jo@tech.gov.sg",
                                                   "seed_onboarding": False, "reason": "New joiner"}).get_json()["id"]
    draft = amy("POST", "/api/v1/batches", data={"file": (io.BytesIO(CSV), "team.csv")},
                content_type="multipart/form-data").get_json()["id"]
    with database.atomic():
        roles.grant("approver", "pat@tech.gov.sg", "admin@tech.gov.sg")
    change = HistoryEntry.get(HistoryEntry.event == "role_granted").id
    stand_in = as_user(client, "bob@tech.gov.sg")("POST", "/api/v1/delegations", json={
        "stand_in": "dave@tech.gov.sg", "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-02T00:00:00Z"})
    return {"invite_id": invite, "batch_id": draft, "row": 2, "fmt": "csv", "entry_id": change, "removal_id": 1,
            "delegation_id": stand_in.get_json()["id"]}


def _rules(app, predicate):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if predicate(rule, method):
                yield rule, method


def _url(rule, world):
    return rule.build({name: world[name] for name in rule.arguments}, append_unknown=False)[1]


def _body(rule, method, world):
    """A body the route would accept from someone allowed to call it."""
    path = rule.rule
    if "batches" in path and method == "POST" and path.endswith("/batches"):
        return {"data": {"file": (io.BytesIO(CSV), "team.csv")}, "content_type": "multipart/form-data"}
    if path.startswith("/api/"):
        bodies = {
            "/api/v1/invites": {"method": "email_invitation", "email": "new@tech.gov.sg", "seed_onboarding": False,
                                "reason": "x"},
            "/api/v1/approvals/decisions": {"decisions": [{"id": world["invite_id"], "decision": "approve"}]},
        }
        for ending, body in (("/approve", {"comment": "ok"}), ("/reject", {"reason": "because"}),
                             ("/rows/<int:row>", {"first_name": "Li"})):
            if path.endswith(ending):
                return {"json": body}
        return {"json": bodies.get(path, {})}
    return {"data": {"email": "new@tech.gov.sg", "seed_onboarding": "no", "reason": "x", "confirm": "yes"}}


def _state():
    return (InviteRequest.select().count(), HistoryEntry.select().count(), BatchDraft.select().count(),
            BatchRow.select().count(), [(i.state, i.pending_action) for i in InviteRequest.select().order_by(InviteRequest.id)])


def is_audit(rule, method):
    return rule.rule.startswith(("/api/v1/audit", "/audit"))


def test_every_audit_route_refuses_requesters_and_approvers(app, world):
    routes = list(_rules(app, is_audit))
    assert len(routes) >= 8
    for email in (REQUESTER, APPROVER):
        api, portal = as_user(app.test_client(), email), signed_in(app.test_client(), email)
        for rule, method in routes:
            if rule.rule.startswith("/api/"):
                response = api(method, _url(rule, world))
            else:
                response = portal.open(_url(rule, world), method=method)
            assert response.status_code == 403, (email, rule.rule, response.status_code)


def test_every_state_changing_route_refuses_auditors_and_changes_nothing(app, world, outbox):
    routes = list(_rules(app, lambda rule, method: method in CHANGING and rule.endpoint not in OPEN_TO_ALL))
    assert len(routes) >= 15
    before, messages = _state(), len(outbox.pending())
    api, portal = as_user(app.test_client(), AUDITOR), signed_in(app.test_client(), AUDITOR)
    for rule, method in routes:
        if rule.rule.startswith("/api/"):
            response = api(method, _url(rule, world), **_body(rule, method, world))
            assert response.status_code in (403, 404), (rule.rule, method, response.status_code, response.get_data(as_text=True))
        else:
            response = portal.open(_url(rule, world), method=method, **_body(rule, method, world))
            # the portal sends an auditor back to the audit pages before any requester page runs
            assert response.status_code == 302 and response.headers["Location"].endswith("/audit"), (rule.rule, method)
    assert _state() == before and len(outbox.pending()) == messages
