"""Rate limits per user (in memory and on the real Redis) and quotas per requester."""
import datetime as dt
import uuid

import pytest

from intake import settings as intake_settings
from invite_common.config import ConfigError
from invite_common.db import utcnow
from intake.app import create_app
from intake.limits.rates import limited, limited_routes
from intake.settings import DEFAULT_LIMITS
from intake.models import InviteRequest
from tests.support.callers import as_user, signed_in

REDIS_URL = "redis://127.0.0.1:6379/0"


def invite(n: int) -> dict:
    return {"method": "email_invitation", "email": f"person{n}.{uuid.uuid4().hex[:6]}@tech.gov.sg",
            "seed_onboarding": False, "reason": "Joining the team"}


def make_app(outbox, **env):
    app = create_app(intake_settings.load({"ROLE_GRANTS": "approver:bob@tech.gov.sg"} | env), outbox)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def test_every_rate_limited_action_is_counted_by_a_route_that_declares_it(app):
    routes = limited_routes(app)
    assert {a for actions in routes.values() for a in actions} == set(DEFAULT_LIMITS)
    # submitting counts the same through either door
    assert routes["invites.Invites"] == routes["portal.invite.email_invitation"] == ("submit",)
    with pytest.raises(ValueError, match="submits"):
        limited("submits")


def test_a_burst_of_200_submissions_by_one_user_meets_the_limit_with_the_defaults(client):
    amy, zed = as_user(client, "amy@tech.gov.sg"), as_user(client, "zed@tech.gov.sg")
    statuses = [amy("POST", "/api/v1/invites", json=invite(n)).status_code for n in range(200)]
    assert statuses.count(201) == 30 and statuses.count(429) == 170, statuses
    refused = amy("POST", "/api/v1/invites", json=invite(999))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["retry_after"] and "wait" in refused.get_json()["message"]
    # another person is not held back by amy's burst, and reading is not limited
    assert zed("POST", "/api/v1/invites", json=invite(1000)).status_code == 201
    assert amy("GET", "/api/v1/invites").status_code == 200


def test_a_limit_is_configurable_per_action(outbox):
    amy = as_user(make_app(outbox, RATE_LIMIT_RESEND="2/minute").test_client(), "amy@tech.gov.sg")
    statuses = [amy("POST", "/api/v1/invites/nope/resend").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]


def test_an_unknown_action_in_the_settings_is_refused_at_start(outbox):
    with pytest.raises(ConfigError, match="RATE_LIMIT_SUBMITS names no rate-limited action"):
        make_app(outbox, RATE_LIMIT_SUBMITS="1/minute")


def test_the_portal_and_the_api_share_one_budget_and_the_portal_says_so_on_a_page(outbox):
    app = make_app(outbox, RATE_LIMIT_SUBMIT="3/minute")
    api = as_user(app.test_client(), "amy@tech.gov.sg")
    assert [api("POST", "/api/v1/invites", json=invite(n)).status_code for n in range(2)] == [201, 201]
    page = signed_in(app.test_client(), "amy@tech.gov.sg")
    form = {"email": "jo@tech.gov.sg", "seed_onboarding": "no", "reason": "Joining", "confirmed": "yes"}
    assert page.post("/invite/email", data=form).status_code == 302
    refused = page.post("/invite/email", data=form | {"email": "kim@tech.gov.sg"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Please wait a moment" in refused.text and "<html" in refused.text


def test_sign_in_attempts_are_limited_per_email_and_per_client_address(outbox):
    client = make_app(outbox, RATE_LIMIT_SIGN_IN="3/minute", RATE_LIMIT_SIGN_IN_PER_ADDRESS="5/minute").test_client()
    same = [client.post("/sign-in", data={"email": "x@nowhere.example"}).status_code for _ in range(4)]
    assert same == [422, 422, 422, 429]
    # other emails from the same address: the per-address limit still holds
    others = [client.post("/sign-in", data={"email": f"y{n}@nowhere.example"}).status_code for n in range(3)]
    assert others == [422, 422, 429]


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return REDIS_URL


def test_replicas_sharing_redis_share_each_users_budget(outbox, redis_url):
    replicas = [make_app(outbox, RATE_LIMIT_STORAGE_URL=redis_url, RATE_LIMIT_SUBMIT="4/minute") for _ in range(2)]
    someone = f"amy.{uuid.uuid4().hex[:8]}@tech.gov.sg"  # a person of this test's own in the shared store
    statuses = [as_user(replicas[n % 2].test_client(), someone)("POST", "/api/v1/invites", json=invite(n)).status_code
                for n in range(6)]
    assert statuses == [201, 201, 201, 201, 429, 429]


def test_open_requests_per_requester_are_bounded(outbox):
    amy = as_user(make_app(outbox, OPEN_REQUESTS_PER_REQUESTER="2").test_client(), "amy@tech.gov.sg")
    assert [amy("POST", "/api/v1/invites", json=invite(n)).status_code for n in range(2)] == [201, 201]
    refused = amy("POST", "/api/v1/invites", json=invite(3))
    assert refused.status_code == 429 and "open requests" in refused.get_json()["message"]
    assert InviteRequest.select().count() == 2


def test_requests_per_day_per_requester_are_bounded_and_say_when_to_come_back(outbox):
    amy = as_user(make_app(outbox, REQUESTS_PER_DAY_PER_REQUESTER="2").test_client(), "amy@tech.gov.sg")
    assert [amy("POST", "/api/v1/invites", json=invite(n)).status_code for n in range(2)] == [201, 201]
    # an older request no longer counts against today
    first = InviteRequest.select().order_by(InviteRequest.created_at).first()
    InviteRequest.update(created_at=utcnow() - dt.timedelta(hours=23)).where(InviteRequest.id == first.id).execute()
    refused = amy("POST", "/api/v1/invites", json=invite(3))
    assert refused.status_code == 429
    assert 3000 < int(refused.headers["Retry-After"]) <= 3601
    InviteRequest.update(created_at=utcnow() - dt.timedelta(hours=25)).where(InviteRequest.id == first.id).execute()
    assert amy("POST", "/api/v1/invites", json=invite(4)).status_code == 201


def test_a_batch_larger_than_the_quota_left_is_refused_whole(outbox):
    from tests.support.spreadsheets import OFFICER_ROW, csv_bytes, upload

    amy = as_user(make_app(outbox, REQUESTS_PER_DAY_PER_REQUESTER="2").test_client(), "amy@tech.gov.sg")
    rows = [OFFICER_ROW | {"email": f"p{n}@tech.gov.sg"} for n in range(3)]
    draft = upload(amy, csv_bytes(rows)).get_json()["id"]
    refused = amy("POST", f"/api/v1/batches/{draft}/submit")
    assert refused.status_code == 429
    assert InviteRequest.select().count() == 0
    assert amy("GET", f"/api/v1/batches/{draft}").get_json()["status"] == "draft"


def test_the_portal_says_on_a_page_when_a_quota_is_reached(outbox):
    app = make_app(outbox, OPEN_REQUESTS_PER_REQUESTER="1")
    page = signed_in(app.test_client(), "amy@tech.gov.sg")
    form = {"email": "jo@tech.gov.sg", "seed_onboarding": "no", "reason": "Joining", "confirmed": "yes"}
    assert page.post("/invite/email", data=form).status_code == 302
    refused = page.post("/invite/email", data=form | {"email": "kim@tech.gov.sg"})
    assert refused.status_code == 429
    assert "You cannot make more requests now" in refused.text and "open requests" in refused.text


def test_the_limits_lapse_while_their_storage_cannot_be_reached(outbox, caplog):
    # nothing listens on port 1: every count fails at once, and people can still work
    amy = as_user(make_app(outbox, RATE_LIMIT_STORAGE_URL="redis://127.0.0.1:1/0", RATE_LIMIT_SUBMIT="1/minute").test_client(),
                  "amy@tech.gov.sg")
    assert [amy("POST", "/api/v1/invites", json=invite(n)).status_code for n in range(3)] == [201, 201, 201]
    assert "rate-limit storage unavailable; limits lapse" in caplog.text


def test_each_request_let_through_uncounted_is_counted_for_the_alert(outbox):
    from intake.limits.rates import LAPSED

    before = LAPSED._value.get()
    amy = as_user(make_app(outbox, RATE_LIMIT_STORAGE_URL="redis://127.0.0.1:1/0").test_client(), "amy@tech.gov.sg")
    assert [amy("POST", "/api/v1/invites", json=invite(n)).status_code for n in range(2)] == [201, 201]
    # InvitesRateLimitsLapsed (deploy/alerts.yml) fires on it; intake serves it (tests/intake/test_metrics.py)
    assert LAPSED._value.get() - before == 2


def test_only_a_limited_routes_own_requests_are_counted(outbox):
    # reading the list is not an action with a budget; submitting through the same route is
    amy = as_user(make_app(outbox, RATE_LIMIT_SUBMIT="2/minute").test_client(), "amy@tech.gov.sg")
    assert [amy("GET", "/api/v1/invites").status_code for _ in range(5)] == [200] * 5
    assert [amy("POST", "/api/v1/invites", json=invite(n)).status_code for n in range(3)] == [201, 201, 429]


def deciding_app(outbox, **env):
    """An app whose approvers' grants are in its database, as applying ROLE_GRANTS at start leaves them."""
    from intake.db import database
    from intake.auth.roles import apply_role_grants

    env.setdefault("ROLE_GRANTS", "approver:bob@tech.gov.sg")
    app = make_app(outbox, **env)
    with database.atomic():
        apply_role_grants(env["ROLE_GRANTS"])
    return app


def submitted(app, n: int) -> list[str]:
    """n pending requests by amy, for bob to decide on."""
    amy = as_user(app.test_client(), "amy@tech.gov.sg")
    return [amy("POST", "/api/v1/invites", json=invite(i)).get_json()["id"] for i in range(n)]


def test_portal_decisions_over_the_decide_limit_are_refused_with_the_429_page(outbox):
    app = deciding_app(outbox, RATE_LIMIT_DECIDE="3/minute")
    ids = submitted(app, 4)
    bob = signed_in(app.test_client(), "bob@tech.gov.sg")
    decided = [bob.post(f"/approvals/{ids[0]}/approve", data={"comment": "Welcome"}).status_code,
               bob.post(f"/approvals/{ids[1]}/reject", data={"reason": "Not needed"}).status_code,
               bob.post("/approvals/decide", data={"confirmed": "yes", "ids": [ids[2]], "decision": "approve"}).status_code]
    assert decided == [302, 302, 200]
    for refused in (bob.post(f"/approvals/{ids[3]}/approve", data={"comment": "Welcome"}),
                    bob.post(f"/approvals/{ids[3]}/reject", data={"reason": "Not needed"}),
                    bob.post("/approvals/decide", data={"confirmed": "yes", "ids": [ids[3]], "decision": "approve"})):
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "Please wait a moment" in refused.text and "<html" in refused.text
    assert InviteRequest.get_by_id(ids[3]).pending_action is None


def test_a_bulk_decision_counts_once_per_decision_on_the_portal_and_the_api(outbox):
    app = deciding_app(outbox, RATE_LIMIT_DECIDE="5/minute")
    ids = submitted(app, 6)
    api, page = as_user(app.test_client(), "bob@tech.gov.sg"), signed_in(app.test_client(), "bob@tech.gov.sg")
    three = {"decisions": [{"id": i, "decision": "approve"} for i in ids[:3]]}
    assert api("POST", "/api/v1/approvals/decisions", json=three).status_code == 200
    # two decisions are left of five: a bulk of three is refused whole, one of two goes through
    refused = page.post("/approvals/decide", data={"confirmed": "yes", "ids": ids[3:6], "decision": "approve"})
    assert refused.status_code == 429 and "Please wait a moment" in refused.text
    assert [InviteRequest.get_by_id(i).pending_action for i in ids[3:]] == [None, None, None]
    assert page.post("/approvals/decide", data={"confirmed": "yes", "ids": ids[3:5], "decision": "approve"}).status_code == 200
    assert api("POST", f"/api/v1/invites/{ids[5]}/approve", json={}).status_code == 429


def test_a_bulk_larger_than_the_decide_limit_allows_at_once_is_refused_naming_its_field(outbox):
    app = deciding_app(outbox, RATE_LIMIT_DECIDE="2/minute;100/day")
    ids = submitted(app, 3)
    api, page = as_user(app.test_client(), "bob@tech.gov.sg"), signed_in(app.test_client(), "bob@tech.gov.sg")
    response = api("POST", "/api/v1/approvals/decisions", json={"decisions": [{"id": i, "decision": "approve"} for i in ids]})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "decisions": ["Give at most 2 decisions at once: that is as many as one person may make in a minute."]}
    refused = page.post("/approvals/decide", data={"confirmed": "yes", "ids": ids, "decision": "approve"})
    assert refused.status_code == 422 and "Select at most 2 requests at once" in refused.text
    # neither counted: the whole budget is still there
    assert page.post("/approvals/decide", data={"confirmed": "yes", "ids": ids[:2], "decision": "approve"}).status_code == 200


def test_a_bulk_decision_the_route_refuses_as_it_stands_counts_once(outbox):
    app = deciding_app(outbox, RATE_LIMIT_DECIDE="3/minute")
    ids = submitted(app, 3)
    api, page = as_user(app.test_client(), "bob@tech.gov.sg"), signed_in(app.test_client(), "bob@tech.gov.sg")
    # no reason for rejecting: sent back to be put right, as one attempt and not three
    assert page.post("/approvals/decide", data={"confirmed": "yes", "ids": ids, "decision": "reject"}).status_code == 422
    assert api("POST", "/api/v1/approvals/decisions", json={"decisions": [{"id": i, "decision": "reject"} for i in ids]}).status_code == 422
    assert page.post("/approvals/decide", data={"confirmed": "yes", "ids": ids[:1], "decision": "reject", "note": "Duplicate"}).status_code == 200
    assert page.post("/approvals/decide", data={"confirmed": "yes", "ids": ids[1:], "decision": "reject", "note": "Duplicate"}).status_code == 429


def deciding_routes(app) -> dict[tuple[str, str], str]:
    """Every route that decides on requests, from the URL map: the POSTs only approvers may make
    (tests/intake/test_route_matrix.py checks who may use each route); (method, rule) -> endpoint."""
    from tests.intake.test_route_matrix import table

    approvers_only = {route for route, who in table().items() if route[0] == "POST" and who == "approver"}
    return {("POST", rule.rule): rule.endpoint for rule in app.url_map.iter_rules()
            if "POST" in rule.methods and ("POST", rule.rule) in approvers_only and rule.rule not in STAND_IN_ROUTES}


# the approvers' POSTs that decide no request: naming or ending a stand-in
STAND_IN_ROUTES = {"/api/v1/delegations", "/approvals/stand-in", "/approvals/stand-in/<delegation_id>/end"}


def test_every_deciding_route_of_the_api_and_the_portal_counts_against_the_decide_limit(outbox):
    from tests.intake.test_route_matrix import call

    routes = deciding_routes(make_app(outbox))
    assert {"/approvals/<invite_id>/approve", "/approvals/decide", "/api/v1/approvals/decisions",
            "/api/v1/invites/<string:invite_id>/approve"} <= {rule for _, rule in routes}
    unlimited = []
    for (method, rule), endpoint in sorted(routes.items()):
        # an app of its own per route: each starts with a whole budget of one decision
        app = deciding_app(outbox, RATE_LIMIT_DECIDE="1/minute", ROLE_GRANTS="approver:apu@tech.gov.sg")
        first, second = (call(app, method, rule, "approver") for _ in range(2))
        if limited_routes(app).get(endpoint) != ("decide",) or first.status_code == 429 or second.status_code != 429:
            unlimited.append(f"{method} {rule}: {first.status_code}, then {second.status_code}")
    assert not unlimited, "deciding routes not counted as decide:\n" + "\n".join(unlimited)
