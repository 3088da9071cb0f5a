"""Who is calling, and with which roles: the API's dev identity (`X-Dev-User`), the portal's
signed-in session, and grants from ROLE_GRANTS."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app, g, request, session
from marshmallow import ValidationError

from intake.models import RoleGrant, role_grants
from intake.validation import in_org_domains, normalise_email

log = logging.getLogger(__name__)

ROLES = ("requester", "approver", "auditor")
GRANTABLE = ("approver", "auditor")

# Routes under this blueprint (the portal's pages) take the caller from the session cookie;
# every other route (the JSON API) only from its header, so a cookie never authenticates an
# API call and a cross-site page cannot make one on a signed-in person's behalf.
PORTAL_BLUEPRINT = "portal"
SESSION_USER = "user"
SESSION_AUTH_MODE = "auth_mode"


@dataclass(frozen=True)
class Caller:
    """The signed-in person and what they may do."""

    email: str
    roles: frozenset[str]

    @property
    def is_requester(self) -> bool:
        return "requester" in self.roles

    @property
    def is_approver(self) -> bool:
        return "approver" in self.roles

    @property
    def is_auditor(self) -> bool:
        return "auditor" in self.roles


class Unauthenticated(Exception):
    """No usable identity on the request (401)."""


def parse_role_grants(raw: str) -> list[tuple[str, str]]:
    """Parse `approver:bob@tech.gov.sg,auditor:carol@tech.gov.sg` into (role, email) pairs."""
    grants = []
    for item in (x.strip() for x in raw.split(",")):
        if not item:
            continue
        role, sep, email = item.partition(":")
        role = role.strip().lower()
        if not sep or role not in GRANTABLE:
            raise ValueError(f"ROLE_GRANTS entry {item!r} is not role:email with role approver or auditor")
        grants.append((role, normalise_email(email)))
    return grants


def apply_role_grants(raw: str) -> int:
    """Record the grants of ROLE_GRANTS (adding, never removing); return how many were new."""
    added = 0
    for role, email in parse_role_grants(raw):
        _, created = RoleGrant.get_or_create(email=email, role=role)
        added += int(created)
    return added


def roles_for(email: str, org_domains: tuple[str, ...]) -> frozenset[str]:
    """Everyone with an org email is a requester; approver and auditor come from grants."""
    # asked on every request: a statement built once (the query builder cost more than the query)
    roles = {g.role for g in role_grants.all(("role",), order_by="role", email=email)}
    domain = email.rpartition("@")[2]
    if in_org_domains(domain, org_domains):
        roles.add("requester")
    return frozenset(roles)


def caller_for(email: str) -> Caller:
    """Build the Caller for an already authenticated email."""
    return Caller(email=email, roles=roles_for(email, current_app.config["ORG_DOMAINS"]))


def sign_in_session(email: str) -> None:
    """Start a fresh portal session for an already authenticated, normalised email."""
    # A new session on sign-in: nothing from before (a planted CSRF token, say) carries over.
    session.clear()
    session[SESSION_USER] = email
    session[SESSION_AUTH_MODE] = current_app.config["AUTH_MODE"]


def sign_out_session() -> None:
    """End the portal session."""
    session.clear()
    g.pop("caller", None)


def session_email() -> str | None:
    """The portal session's email, if it was signed in under the AUTH_MODE now in force."""
    # A session started by the dev sign-in must not keep working once the service runs in oidc mode.
    if session.get(SESSION_AUTH_MODE) != current_app.config["AUTH_MODE"]:
        return None
    email = session.get(SESSION_USER)
    return email if isinstance(email, str) and email else None


def is_portal_route() -> bool:
    """Tell whether this request is for one of the portal's pages."""
    return PORTAL_BLUEPRINT in request.blueprints


def current_caller() -> Caller:
    """The caller of this HTTP request; raises Unauthenticated when there is none."""
    if "caller" in g:
        return g.caller
    if is_portal_route():
        email = session_email()
        if email is None:
            raise Unauthenticated("Sign in first.")
        g.caller = caller_for(email)
        return g.caller
    raw = request.headers.get("X-Dev-User") if current_app.config["AUTH_MODE"] == "dev" else None
    if not raw:
        raise Unauthenticated("Sign in first: send X-Dev-User: <your email> in dev mode.")
    try:
        email = normalise_email(raw)
    except ValidationError:
        raise Unauthenticated("X-Dev-User is not a valid email address.") from None
    g.caller = caller_for(email)
    return g.caller
