"""Sign in and out: through the organisation's OpenID provider (AUTH_MODE=oidc), or in development by
picking a sample user or typing an email."""
from __future__ import annotations

import logging

import requests
from authlib.integrations.base_client import OAuthError
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from marshmallow import ValidationError

from intake.auth import identity
from intake.auth import email_claim
from intake.auth.email_claim import UnusableEmail, verified_email
from intake.auth.oidc import ProviderUnavailable
from intake.auth.roles import claim_roles
from intake.limits.rates import limited
from intake.models import RoleGrant
from intake.portal.layout import not_a_requester_message, safe_next
from intake.validation.rules import normalise_email

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

SAMPLE_REQUESTER = "amy"


def sample_users() -> list[dict]:
    """A requester to try the portal as, then everyone ROLE_GRANTS names, with their roles."""
    domain = current_app.config["ORG_DOMAINS"][0]
    # "tech.gov.sg" reads like a real agency address; other domains are used as they are.
    requester = f"{SAMPLE_REQUESTER}@tech.{domain}" if domain == "gov.sg" else f"{SAMPLE_REQUESTER}@{domain}"
    roles: dict[str, list[str]] = {requester: ["requester"]}
    for grant in RoleGrant.select().order_by(RoleGrant.email, RoleGrant.role).limit(20):
        roles.setdefault(grant.email, []).append(grant.role)
    return [{"email": email, "roles": ", ".join(r.capitalize() for r in found)} for email, found in roles.items()]


# Where the page asked for before signing in waits while the person is at the provider.
SESSION_NEXT = "next_after_sign_in"

NO_USABLE_EMAIL = "Your organisation account has no usable email address."
# the sign-in page's words for email_claim's reasons (written for the API's callers)
UNUSABLE_EMAIL_PAGES = {
    email_claim.NOT_VERIFIED: "Your organisation account's email address is not verified, so it cannot be used here.",
    email_claim.VERIFICATION_UNKNOWN: "Your organisation's sign-in does not say that your email address is verified, "
                                      "so it cannot be used here. Ask your administrator.",
}


def _provider():
    return current_app.extensions["oidc"]


def _sso_page(problem: str | None = None, status: int = 200):
    next_url = safe_next(request.values.get("next"))
    return render_template("portal/auth/sign_in_sso.html", next_url=next_url, problem=problem), status


@bp.route("/sign-in", methods=["GET", "POST"])
@limited("sign_in", "sign_in_per_address")
def sign_in():
    """Show the sign-in page: single sign-on, or in development the sample users; sign in the chosen one."""
    if current_app.config["AUTH_MODE"] == "oidc":
        return _sso_page()
    if not current_app.config["DEV_IDENTITY"]:
        return _sso_page("Signing in is switched off on this service.", 503)
    next_url = safe_next(request.values.get("next"))
    values, errors = {"email": ""}, {}
    if request.method == "POST":
        values["email"] = request.form.get("email", "")
        try:
            email = normalise_email(values["email"])
        except ValidationError as exc:
            errors["email"] = exc.messages
        else:
            caller = identity.caller_for(email)
            if caller.is_requester or caller.is_auditor:
                identity.sign_in_session(email)
                home = "portal.overview.show" if caller.is_requester else "portal.audit.search"
                return redirect(next_url or url_for(home))
            errors["email"] = [not_a_requester_message()]
    status = 422 if errors else 200
    return render_template(
        "portal/auth/sign_in.html", samples=sample_users(), values=values, errors=errors, next_url=next_url
    ), status


@bp.get("/sign-in/start")
@limited("sign_in_redirects")
def start():
    """Send the person to the provider to sign in (authorization code flow with PKCE, state and nonce)."""
    if current_app.config["AUTH_MODE"] != "oidc":
        return redirect(url_for("portal.auth.sign_in"))
    session[SESSION_NEXT] = safe_next(request.args.get("next"))
    redirect_uri = _provider().redirect_uri or _provider().public_url(url_for("portal.auth.callback"))
    _provider().metadata()  # a provider that cannot be reached shows our page, not a browser error
    return _provider().client.authorize_redirect(redirect_uri)


@bp.get("/sign-in/callback")
@limited("sign_in_redirects")
def callback():
    """Finish signing in when the provider sends the person back with a code."""
    if current_app.config["AUTH_MODE"] != "oidc":
        return redirect(url_for("portal.auth.sign_in"))
    if request.args.get("error"):
        # the person cancelled, or the provider refused: say so, keep no state
        log.info("sign-in refused by the provider", extra={"error": request.args.get("error", "")[:64]})
        return _sso_page("Signing in did not finish. Try again.", 400)
    provider = _provider()
    try:
        token = provider.client.authorize_access_token()
        provider.check_id_token_algorithm(token["id_token"])
        claims = dict(token.get("userinfo") or {})
        roles_claim = current_app.config["OIDC_ROLES_CLAIM"].split(".")[0]
        always_verified = current_app.config["OIDC_EMAIL_ALWAYS_VERIFIED"]
        # some providers put email, email_verified or roles only in the userinfo answer, not in the ID token
        wanted_elsewhere = (not claims.get("email") or (roles_claim and roles_claim not in claims)
                            or ("email_verified" not in claims and not always_verified))
        if wanted_elsewhere and provider.metadata().get("userinfo_endpoint"):
            more = provider.client.userinfo(token=token)
            if more.get("sub") == claims.get("sub"):
                claims = {**more, **claims}
    except requests.RequestException as exc:
        raise ProviderUnavailable(f"the token or userinfo endpoint could not be reached ({exc.__class__.__name__})") from None
    except (OAuthError, KeyError) as exc:
        log.info("sign-in could not be completed", extra={"error": exc.__class__.__name__})
        return _sso_page("Signing in did not finish, perhaps because the page was open too long. Try again.", 400)
    try:
        email = verified_email(claims, always_verified=always_verified)
    except UnusableEmail as exc:
        log.info("sign-in refused", extra={"reason": str(exc)})
        return _sso_page(UNUSABLE_EMAIL_PAGES.get(str(exc), NO_USABLE_EMAIL), 403)
    asserted = claim_roles(claims, current_app.config["OIDC_ROLES_CLAIM"])
    caller = identity.caller_for(email, asserted)
    if not (caller.is_requester or caller.is_auditor):
        return _sso_page(not_a_requester_message(), 403)
    next_url = session.get(SESSION_NEXT)
    identity.sign_in_session(email, claim_roles=asserted, id_token=token.get("id_token"))
    log.info("signed in with single sign-on")
    return redirect(next_url or url_for("portal.overview.show" if caller.is_requester else "portal.audit.search"))


@bp.post("/sign-out")
def sign_out():
    """End the session here, and at the provider too when it offers that; then show the sign-in page."""
    id_token = identity.sign_out_session()
    flash("You have signed out.", "success")
    if current_app.config["AUTH_MODE"] == "oidc" and id_token and _provider().end_session_endpoint():
        back = _provider().public_url(url_for("portal.auth.sign_in"))
        return redirect(_provider().client.create_logout_url(post_logout_redirect_uri=back,
                                                              id_token_hint=id_token)["url"])
    return redirect(url_for("portal.auth.sign_in"))
