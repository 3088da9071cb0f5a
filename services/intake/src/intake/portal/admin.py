"""Administration: who holds the approver, auditor and admin roles, and granting or revoking them."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from marshmallow import ValidationError

from intake.auth import known_people, people_search, roles
from intake.db import database
from intake.auth import guards
from intake.auth.identity import current_caller
from intake.invites import directory
from intake.limits.rates import limited
from intake.models import RoleGrant
from intake.validation.rules import normalise_email

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.guard = guards.ADMIN_PAGES

ROLE_LABELS = {"approver": "Approver", "security_approver": "Security approver", "auditor": "Auditor",
               "admin": "Administrator"}
ROLE_HINTS = {
    "approver": "decides on other people's requests",
    "security_approver": "decides the security level of the requests the approval policy sends there",
    "auditor": "reads every request's history",
    "admin": "grants and revokes these roles",
}
# what the people search needs typed before it looks, and the most it reads
SEARCH_SHORTEST, SEARCH_LONGEST = 2, 254


def _with_article(role: str) -> str:
    label = ROLE_LABELS[role].lower()
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


def _set_by_configuration() -> frozenset[tuple[str, str]]:
    """The (role, email) grants ROLE_GRANTS sets back at every start; empty when it is unset."""
    return roles.from_role_grants(current_app.extensions["settings"].role_grants)


def _page(values: dict, errors: dict, status: int = 200):
    settings = current_app.extensions["settings"]
    return render_template(
        "portal/admin/roles.html", grants=roles.all_grants(), values=values, errors=errors,
        role_options=[(r, ROLE_LABELS[r], ROLE_HINTS[r]) for r in roles.GRANTABLE], role_labels=ROLE_LABELS,
        managed_by_env=bool(settings.role_grants.strip()), from_setting=_set_by_configuration(),
        roles_claim=current_app.config["OIDC_ROLES_CLAIM"] if current_app.config["AUTH_MODE"] == "oidc" else "",
    ), status


def _set_back_at_start() -> bool:
    """Refuse (with a banner) what the next start would undo: while ROLE_GRANTS is set it is the list."""
    if not current_app.extensions["settings"].role_grants.strip():
        return False
    flash("Roles are set by the service's configuration: change ROLE_GRANTS and restart the service.", "error")
    return True


@bp.get("/roles")
def roles_page():
    """Show every role grant and the form to grant one."""
    return _page({"email": "", "role": ""}, {})


@bp.get("/people")
@limited("people_search")
def people():
    """Find the people whose email or name starts with `q`, as JSON for the email field's suggestions."""
    unknown = sorted(set(request.args) - {"q"})
    if unknown:
        return jsonify(errors={name: ["Unknown field."] for name in unknown}), 422
    typed = request.args.get("q", "").strip()
    if not SEARCH_SHORTEST <= len(typed) <= SEARCH_LONGEST:
        return jsonify(errors={"q": [f"Type between {SEARCH_SHORTEST} and {SEARCH_LONGEST} characters."]}), 422
    found = people_search.find(typed)
    return jsonify(source=found.source, people=[
        {"email": p.email, "name": p.name, "organisation": p.organisation} for p in found.people])


@bp.post("/roles")
def grant():
    """Grant a role to a person once the administrator has seen who they are, recorded in the history."""
    if _set_back_at_start():
        return redirect(url_for("portal.admin.roles_page"))
    values = {"email": request.form.get("email", ""), "role": request.form.get("role", "")}
    errors: dict[str, list[str]] = {}
    try:
        email = normalise_email(values["email"])
    except ValidationError as exc:
        errors["email"] = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
    if values["role"] not in roles.GRANTABLE:
        errors["role"] = ["Choose the role to grant."]
    org_domains = current_app.config["ORG_DOMAINS"]
    if not errors:
        try:
            roles.check_may_hold(values["role"], email, org_domains)
        except roles.GrantError as exc:
            errors["email"] = [f"{str(exc)[0].upper()}{str(exc)[1:]}."]  # a sentence on the page
    if errors:
        return _page(values, errors, 422)
    role = values["role"]
    if request.form.get("confirmed") != "yes":
        # who this is, and what is unusual about the grant, before anything changes
        return render_template("portal/admin/confirm_grant.html", email=email, role=role,
                               role_label=ROLE_LABELS[role], person=known_people.look_up(email),
                               outside_org=not roles.in_org(email, org_domains),
                               org_domains=" or ".join(org_domains), directory_configured=directory.configured())
    with database.atomic():
        created = roles.grant(role, email, current_caller().email)
    flash(f"{email} is now {_with_article(role)}." if created else f"{email} already was {_with_article(role)}.",
          "success")
    return redirect(url_for("portal.admin.roles_page"))


@bp.post("/roles/revoke")
def revoke():
    """Revoke one role from a person once the administrator confirms, recorded in the history."""
    try:
        email = normalise_email(request.form.get("email", ""))
        role = roles.check_role(request.form.get("role", ""))
    except (ValidationError, roles.GrantError):
        flash("That grant could not be found; the list below is up to date.", "error")
        return redirect(url_for("portal.admin.roles_page"))
    if (role, email) in _set_by_configuration():
        flash(f"{email} is {_with_article(role)} by the service's configuration: remove the grant from ROLE_GRANTS "
              "and restart the service.", "error")
        return redirect(url_for("portal.admin.roles_page"))
    caller = current_caller()
    if role == "admin" and email == caller.email:
        flash("You cannot revoke your own administrator role; ask another administrator.", "error")
        return redirect(url_for("portal.admin.roles_page"))
    if request.form.get("confirmed") != "yes":
        if RoleGrant.get_or_none(email=email, role=role) is None:
            flash("That grant had already been revoked.", "error")
            return redirect(url_for("portal.admin.roles_page"))
        return render_template("portal/admin/confirm_revoke.html", email=email, role=role,
                               role_label=ROLE_LABELS[role], person=known_people.look_up(email))
    with database.atomic():
        removed = roles.revoke(role, email, caller.email)
    flash(f"{email} is no longer {_with_article(role)}." if removed
          else "That grant had already been revoked.", "success" if removed else "error")
    return redirect(url_for("portal.admin.roles_page"))
