"""Who is calling, and with which roles: the portal's signed-in session, the API's bearer token
(AUTH_MODE=oidc) or development header (`X-Dev-User`, only when ENV is development or test)."""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from flask import current_app, g, request, session
from marshmallow import ValidationError

from invite_common.db import utcnow

from intake.approvals import levels
from intake.auth import roles as role_table
from intake.auth.email_claim import UnusableEmail, verified_email
from intake.auth.sessions import SESSION_USER
from intake.auth.tokens import InvalidToken
from intake.validation.rules import normalise_email

log = logging.getLogger(__name__)

# Routes under this blueprint (the portal's pages) take the caller from the session cookie;
# every other route (the JSON API) only from its header, so a cookie never authenticates an
# API call and a cross-site page cannot make one on a signed-in person's behalf.
PORTAL_BLUEPRINT = "portal"
SESSION_AUTH_MODE = "auth_mode"
# The roles the provider asserted at sign-in, and the ID token to hint at sign-out.
SESSION_CLAIM_ROLES = "claim_roles"
SESSION_ID_TOKEN = "id_token"
REALM = "invite-users"
# what a challenge says should a reason ever not be one of intake's fixed texts
REFUSED = "The token is not accepted."


@dataclass(frozen=True)
class Caller:
    """The signed-in person and what they may do."""

    email: str
    roles: frozenset[str]

    # Auditing is read-only by design: an auditor neither requests, decides nor manages roles,
    # so the history they check never records their own actions (roles still add up below).
    # `roles` holds approver only for a public officer (auth/roles.may_hold).
    @property
    def is_requester(self) -> bool:
        return "requester" in self.roles and not self.is_auditor

    @functools.cached_property
    def is_approver(self) -> bool:
        """Whether they decide requests: a deciding role some level of the approval policy names (itself or as its
        fallback), a stand-in's duty running now, or a waiting request an administrator gave them to decide."""
        if self.is_auditor:
            return False
        return levels.decides_anything(self.email, self.roles, utcnow(), current_app.config["APPROVAL_POLICY"])

    @property
    def is_approver_or_admin(self) -> bool:
        return self.is_admin or self.is_approver

    @property
    def is_auditor(self) -> bool:
        return "auditor" in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles and not self.is_auditor


class Unauthenticated(Exception):
    """No usable identity on the request (401); `error` is the Bearer error code when a token was refused."""

    def __init__(self, message: str, error: str | None = None):
        super().__init__(message)
        self.error = error

    def challenge(self) -> str | None:
        """The WWW-Authenticate value for this refusal in oidc mode (RFC 6750), None in dev mode."""
        if current_app.config["AUTH_MODE"] != "oidc":
            return None
        value = f'Bearer realm="{REALM}"'
        if self.error:
            # the reasons are intake's own fixed texts (auth/tokens.py, auth/email_claim.py); one that
            # is not plain printable ASCII without quotes would be a mistake, and is not written at all
            description = str(self)
            if not (description.isascii() and description.isprintable() and '"' not in description):
                description = REFUSED
            value += f', error="{self.error}", error_description="{description}"'
        return value


def caller_for(email: str, asserted=()) -> Caller:
    """Build the Caller for an already authenticated email, with the roles its provider asserted."""
    return Caller(email=email, roles=role_table.roles_for(email, current_app.config["ORG_DOMAINS"], asserted))


def sign_in_session(email: str, *, claim_roles=(), id_token: str | None = None) -> None:
    """Start a fresh portal session for an already authenticated, normalised email."""
    # A new session (new token) on sign-in: nothing from before (a planted CSRF token, say) carries over.
    session.start_over()
    session[SESSION_USER] = email
    session[SESSION_AUTH_MODE] = current_app.config["AUTH_MODE"]
    session[SESSION_CLAIM_ROLES] = sorted(claim_roles)
    if id_token:
        session[SESSION_ID_TOKEN] = id_token
    g.pop("caller", None)


def sign_out_session() -> str | None:
    """End the portal session on the server; return its ID token (for the provider's sign-out)."""
    id_token = session.get(SESSION_ID_TOKEN)
    session.start_over()
    g.pop("caller", None)
    return id_token


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
        g.caller = caller_for(email, session.get(SESSION_CLAIM_ROLES) or ())
        return g.caller
    if current_app.config["AUTH_MODE"] == "oidc":
        g.caller = _bearer_caller()
        return g.caller
    raw = request.headers.get("X-Dev-User") if current_app.config["DEV_IDENTITY"] else None
    if not raw:
        raise Unauthenticated("Sign in first: send X-Dev-User: <your email> in dev mode.")
    try:
        email = normalise_email(raw)
    except ValidationError:
        raise Unauthenticated("X-Dev-User is not a valid email address.") from None
    g.caller = caller_for(email)
    return g.caller


def _bearer_caller() -> Caller:
    """The caller named by a valid bearer token from the identity provider."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send an access token from the identity provider: Authorization: Bearer <token>.")
    provider = current_app.extensions["oidc"]
    try:
        claims = provider.verifier.verify(token.strip())
        email = verified_email(claims, always_verified=current_app.config["OIDC_EMAIL_ALWAYS_VERIFIED"])
    except (InvalidToken, UnusableEmail) as exc:
        log.info("bearer token refused", extra={"reason": str(exc)})
        raise Unauthenticated(str(exc), error="invalid_token") from None
    asserted = role_table.claim_roles(claims, current_app.config["OIDC_ROLES_CLAIM"])
    return caller_for(email, asserted)
