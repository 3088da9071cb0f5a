"""Who may use each route: a table with one line per route and method, checked against every role.

The table is generated from nothing: the test walks the app's URL map, so a route added without
a line here fails `test_every_route_has_a_line`. Add the line with who may use it:

- `public`: anyone, signed in or not;
- `signed-in`: anyone signed in, whatever their roles;
- `owner`: anyone signed in may ask, but only what is their own is found (404 otherwise);
- role names (`requester`, `approver auditor`, ...): only people with one of those roles.

Everyone else is refused: 401 or 403 on the API, the sign-in page or a 403 page on the portal.
"""
from __future__ import annotations

import re

import pytest

from intake import settings as intake_settings
from intake.app import create_app
from intake.auth.identity import SESSION_AUTH_MODE, SESSION_USER

ROUTES = """
GET     /                                                   requester
GET     /admin/people                                       admin
GET     /admin/requests                                     admin
GET     /admin/requests/<invite_id>                         admin
POST    /admin/requests/<invite_id>/reassignment            admin
GET     /admin/roles                                        admin
POST    /admin/roles                                        admin
POST    /admin/roles/revoke                                 admin
GET     /api/docs                                           public
GET     /api/docs/static/<path:filename>                    public
GET     /api/openapi.json                                   public
GET     /api/v1/approvals                                   approver
GET     /api/v1/delegations                                 requester
POST    /api/v1/delegations                                 approver
POST    /api/v1/delegations/<string:delegation_id>/end      approver admin
GET     /api/v1/audit/delegations                           auditor
GET     /api/v1/audit/events                                auditor
GET     /api/v1/audit/role-changes                          auditor
GET     /api/v1/audit/role-changes/<int:entry_id>           auditor
GET     /api/v1/audit/export.csv                            auditor
GET     /api/v1/audit/export.jsonl                          auditor
GET     /api/v1/audit/verify                                auditor
GET     /approvals                                          approver
GET     /approvals/<invite_id>                              approver
POST    /approvals/<invite_id>/approve                      approver
POST    /approvals/<invite_id>/reject                       approver
POST    /approvals/decide                                   approver
GET     /approvals/stand-in                                 approver
POST    /approvals/stand-in                                 approver
POST    /approvals/stand-in/<delegation_id>/end             approver
GET     /audit                                              auditor
GET     /audit/export.<any(csv, jsonl):fmt>                 auditor
GET     /audit/integrity                                    auditor
GET     /audit/requests/<invite_id>                         auditor
GET     /audit/people                                       auditor
GET     /audit/roles                                        auditor
GET     /audit/roles/<int:entry_id>                         auditor
GET     /audit/stand-ins                                    auditor
POST    /api/v1/approvals/decisions                         approver
POST    /api/v1/batches                                     requester
GET     /api/v1/batches/<string:batch_id>                   owner
DELETE  /api/v1/batches/<string:batch_id>/rows              owner
PATCH   /api/v1/batches/<string:batch_id>/rows/<row_number:row>  owner
DELETE  /api/v1/batches/<string:batch_id>/rows/<row_number:row>  owner
POST    /api/v1/batches/<string:batch_id>/removals          owner
POST    /api/v1/batches/<string:batch_id>/removals/<string:removal_id>/undo  owner
POST    /api/v1/batches/<string:batch_id>/submit            owner
GET     /api/v1/batches/template.csv                        requester
GET     /api/v1/batches/template.xlsx                       requester
GET     /api/v1/invites                                     signed-in
POST    /api/v1/invites                                     requester
GET     /api/v1/invites/<string:invite_id>                  owner
POST    /api/v1/invites/cancellations                       requester
POST    /api/v1/invites/<string:invite_id>/approve          approver
POST    /api/v1/invites/<string:invite_id>/cancel           owner
POST    /api/v1/invites/<string:invite_id>/reassignment     admin
POST    /api/v1/invites/<string:invite_id>/reject           approver
POST    /api/v1/invites/<string:invite_id>/resend           owner
GET     /healthz                                            public
GET     /invite                                             requester
GET     /invite/account                                     requester
POST    /invite/account                                     requester
GET     /invite/batch                                       requester
POST    /invite/batch                                       requester
GET     /invite/batch/<batch_id>                            requester
GET     /invite/batch/<batch_id>/remove-attention           requester
POST    /invite/batch/<batch_id>/remove-attention           requester
POST    /invite/batch/<batch_id>/removals/<removal_id>/undo  requester
GET     /invite/batch/<batch_id>/reset                      requester
POST    /invite/batch/<batch_id>/reset                      requester
GET     /invite/batch/<batch_id>/rows/<row_number:row>      requester
POST    /invite/batch/<batch_id>/rows/<row_number:row>      requester
POST    /invite/batch/<batch_id>/rows/<row_number:row>/remove  requester
POST    /invite/batch/<batch_id>/submit                     requester
GET     /invite/batch/template.csv                          requester
GET     /invite/batch/template.xlsx                         requester
GET     /invite/email                                       requester
POST    /invite/email                                       requester
GET     /readyz                                             public
GET     /sign-in                                            public
POST    /sign-in                                            public
GET     /sign-in/callback                                   public
GET     /sign-in/start                                      public
POST    /sign-out                                           public
GET     /static/<path:filename>                             public
GET     /status                                             requester
GET     /status/<invite_id>                                 requester
GET     /status/cancellations                               requester
POST    /status/cancellations                               requester
GET     /status/<invite_id>/cancel                          requester
POST    /status/<invite_id>/cancel                          requester
POST    /status/<invite_id>/resend                          requester
"""

# who calls, and the roles they hold: approvers and admins are public officers who also request;
# an auditor only audits
CALLERS = {
    "anonymous": (None, set()),
    "no role": ("walk.in@example.com", set()),
    "requester": ("amy@tech.gov.sg", {"requester"}),
    "approver": ("apu@tech.gov.sg", {"requester", "approver"}),
    "auditor": ("aud@tech.gov.sg", {"auditor"}),  # an auditor makes no requests
    "admin": ("ada@tech.gov.sg", {"requester", "admin"}),
}
SAMPLE_VALUES = {"filename": "favicon.svg", "row": "2", "fmt": "csv", "entry_id": "1"}


def table() -> dict[tuple[str, str], str]:
    # method, rule (which may hold a space, as in any(csv, jsonl)), then who after two or more spaces
    lines = (re.fullmatch(r"(\S+)\s+(.+?)\s{2,}(\S.*)", line.strip()).groups() for line in ROUTES.strip().splitlines())
    return {(method, rule): who.strip() for method, rule, who in lines}


@pytest.fixture
def matrix_app(intake_db, outbox):
    grants = ",".join(f"{role}:{email}" for email, roles in CALLERS.values() for role in roles if role != "requester")
    app = create_app(intake_settings.load({"ROLE_GRANTS": grants}), outbox)
    from intake.db import database
    from intake.auth.roles import apply_role_grants

    with database.atomic():
        apply_role_grants(grants)
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests; here a refusal must be the role check's
    return app


def app_routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_a_line(matrix_app):
    routes, lines = app_routes(matrix_app), set(table())
    missing = sorted(routes - lines)
    assert not missing, "routes without a line in ROUTES:\n" + "\n".join(f"{method:7} {rule}" for method, rule in missing)
    assert not lines - routes, f"lines for routes that no longer exist: {sorted(lines - routes)}"


def allowed(who: str, caller: str) -> bool:
    if who == "public":
        return True
    if caller == "anonymous":
        return False
    if who in ("signed-in", "owner"):
        return True
    return bool(CALLERS[caller][1] & set(who.split()))


def call(app, method: str, rule: str, caller: str):
    path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: SAMPLE_VALUES.get(m.group(1), "x"), rule)
    client = app.test_client()
    email = CALLERS[caller][0]
    headers = {}
    if email and rule.startswith("/api/"):
        headers["X-Dev-User"] = email
    elif email:
        with client.session_transaction() as session:
            session[SESSION_USER] = email
            session[SESSION_AUTH_MODE] = "dev"
    return client.open(path, method=method, headers=headers)


# routes whose own answer is to send the browser to the sign-in page
ENDS_AT_SIGN_IN = {"/sign-out", "/sign-in/start", "/sign-in/callback"}


def refused(response, rule: str) -> bool:
    if response.status_code in (401, 403):
        return True
    where = response.headers.get("Location", "") if response.status_code == 302 else ""
    if "/sign-in" in where:
        return rule not in ENDS_AT_SIGN_IN
    # the portal sends an auditor back to the audit pages from any other area
    return where.split("?")[0].rstrip("/").endswith("/audit") and not rule.startswith("/audit")


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_each_route_lets_in_exactly_the_roles_in_its_line(matrix_app, caller):
    wrong = []
    for (method, rule), who in sorted(table().items()):
        if (method, rule) not in app_routes(matrix_app):
            continue  # reported by test_every_route_has_a_line
        response = call(matrix_app, method, rule, caller)
        if response.status_code >= 500 or refused(response, rule) == allowed(who, caller):
            wrong.append(f"{method} {rule} ({who}): {response.status_code}")
        response.close()  # a streamed export ends inside its request, not when collected later
    assert not wrong, f"as {caller}:\n" + "\n".join(wrong)


def test_no_route_checks_a_role_twice(matrix_app, monkeypatch):
    # each entrypoint declares its guard once (auth/guards.py); nothing behind it asks again
    from intake.auth.guards import Guard

    checked = []
    check = Guard.check
    monkeypatch.setattr(Guard, "check", lambda guard, caller: (checked.append(guard.role), check(guard, caller))[1])
    twice = []
    for (method, rule), who in sorted(table().items()):
        if who in ("public", "signed-in", "owner"):
            continue
        let_in = next(caller for caller in sorted(CALLERS) if allowed(who, caller))
        checked.clear()
        call(matrix_app, method, rule, let_in).close()
        if len(checked) > 1 or (rule.startswith("/api/") and not checked):
            twice.append(f"{method} {rule} as {let_in}: {checked}")
    assert not twice, "routes whose role is not checked exactly once:\n" + "\n".join(twice)
