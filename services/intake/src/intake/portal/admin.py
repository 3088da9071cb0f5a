"""Administration: who holds the approver, auditor and admin roles, and granting or revoking them."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from intake.auth import roles
from intake.db import database
from intake.auth import guards
from intake.auth.identity import current_caller
from intake.validation.rules import normalise_email

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.guard = guards.ADMIN_PAGES

ROLE_LABELS = {"approver": "Approver", "auditor": "Auditor", "admin": "Administrator"}
ROLE_HINTS = {
    "approver": "decides on other people's requests",
    "auditor": "reads every request's history",
    "admin": "grants and revokes these roles",
}


def _with_article(role: str) -> str:
    label = ROLE_LABELS[role].lower()
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


def _page(values: dict, errors: dict, status: int = 200):
    settings = current_app.extensions["settings"]
    return render_template(
        "portal/admin/roles.html", grants=roles.all_grants(), values=values, errors=errors,
        role_options=[(r, ROLE_LABELS[r], ROLE_HINTS[r]) for r in roles.GRANTABLE], role_labels=ROLE_LABELS,
        managed_by_env=bool(settings.role_grants.strip()), roles_claim=current_app.config["OIDC_ROLES_CLAIM"]
        if current_app.config["AUTH_MODE"] == "oidc" else "",
    ), status


@bp.get("/roles")
def roles_page():
    """Show every role grant and the form to grant one."""
    return _page({"email": "", "role": ""}, {})


@bp.post("/roles")
def grant():
    """Grant a role to a person, recorded in the history with the administrator's name."""
    values = {"email": request.form.get("email", ""), "role": request.form.get("role", "")}
    errors: dict[str, list[str]] = {}
    try:
        email = normalise_email(values["email"])
    except ValidationError as exc:
        errors["email"] = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
    if values["role"] not in roles.GRANTABLE:
        errors["role"] = ["Choose the role to grant."]
    if not errors:
        try:
            roles.check_may_hold(values["role"], email, current_app.config["ORG_DOMAINS"])
        except roles.GrantError as exc:
            errors["email"] = [f"{str(exc)[0].upper()}{str(exc)[1:]}."]  # a sentence on the page
    if errors:
        return _page(values, errors, 422)
    with database.atomic():
        created = roles.grant(values["role"], email, current_caller().email)
    role = _with_article(values["role"])
    flash(f"{email} is now {role}." if created else f"{email} already was {role}.", "success")
    return redirect(url_for("portal.admin.roles_page"))


@bp.post("/roles/revoke")
def revoke():
    """Revoke one role from a person, recorded in the history with the administrator's name."""
    try:
        email = normalise_email(request.form.get("email", ""))
        role = roles.check_role(request.form.get("role", ""))
    except (ValidationError, roles.GrantError):
        flash("That grant could not be found; the list below is up to date.", "error")
        return redirect(url_for("portal.admin.roles_page"))
    caller = current_caller()
    if role == "admin" and email == caller.email:
        flash("You cannot revoke your own administrator role; ask another administrator.", "error")
        return redirect(url_for("portal.admin.roles_page"))
    with database.atomic():
        removed = roles.revoke(role, email, caller.email)
    flash(f"{email} is no longer {_with_article(role)}." if removed
          else "That grant had already been revoked.", "success" if removed else "error")
    return redirect(url_for("portal.admin.roles_page"))
