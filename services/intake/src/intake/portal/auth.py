"""Sign in (dev mode: pick a sample user or type an email) and sign out."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from intake import identity
from intake.models import RoleGrant
from intake.portal.layout import not_a_requester_message, safe_next
from intake.validation import normalise_email

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


def _sso_not_configured():
    return render_template("portal/auth/sso_not_configured.html"), 503


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Show the dev sign-in page, or sign in the chosen person."""
    if current_app.config["AUTH_MODE"] != "dev":
        return _sso_not_configured()
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


@bp.post("/sign-out")
def sign_out():
    """Sign out and return to the sign-in page."""
    identity.sign_out_session()
    flash("You have signed out.", "success")
    return redirect(url_for("portal.auth.sign_in"))
