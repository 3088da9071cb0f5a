"""The invite forms: choose a method, then an email invitation or a new account."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from invite_common.messages import Method
from marshmallow import ValidationError

from intake.errors import Conflict, InvalidInput
from intake.auth.identity import current_caller
from intake.limits.rates import limited
from intake.invites import service
from intake.invites.schemas import VENDOR_OFFICER_ADDRESS, InviteRequestSchema, vendor_with_officer_address
from intake.models import InviteRequest
from intake.portal import forms

bp = Blueprint("invite", __name__, url_prefix="/invite")



@dataclass(frozen=True)
class InviteForm:
    """One way to invite a person from the portal, said once: the page's view and template, the fields
    it asks in the order it asks them (so the error summary lists problems top to bottom), and the
    card that offers it. A new method is its schema, its label (invites/words.py), a row here with
    its view below, and its template."""

    method: str
    view: str
    template: str
    fields: tuple[str, ...]
    when_to_use: str


FORMS = {form.method: form for form in (
    InviteForm(Method.EMAIL_INVITATION, "portal.invite.email_invitation", "portal/invite/email.html",
               ("email", "seed_onboarding", "reason"),
               "a public officer with a government email address. They set up their own account from the email."),
    InviteForm(Method.CREATE_ACCOUNT, "portal.invite.create_account", "portal/invite/account.html",
               ("email", "user_type", "username", "offshore", "first_name", "last_name", "contact_number",
                "organisation", "department", "seed_onboarding", "reason"),
               "a vendor, or a public officer whose account you set up with their details."),
)}
# the cards that offer them (on the overview and the invite page) are a macro: a global reaches it
bp.add_app_template_global(tuple(FORMS.values()), "INVITE_FORMS")
# Each form carries a key made when it was shown: a double-click or a resent POST is recorded once.
_SUBMISSION_KEY = re.compile(r"[0-9a-f]{32}")
ALREADY_SENT = "This form was already sent with other details. Open the form again to make a new request."


@bp.get("")
def choose():
    """Show the three ways to invite users and when to use each."""
    return render_template("portal/invite/choose.html")


@bp.route("/email", methods=["GET", "POST"])
@limited("submit")
def email_invitation():
    """Show and take the email invitation form (public officers only)."""
    return _form(Method.EMAIL_INVITATION)


@bp.route("/account", methods=["GET", "POST"])
@limited("submit")
def create_account():
    """Show and take the create-account form (vendors and public officers)."""
    return _form(Method.CREATE_ACCOUNT)


def _form(method: str):
    fields = FORMS[method].fields
    if request.method == "GET":
        return _render(method, forms.typed_values({}, fields), {}, uuid.uuid4().hex)
    values = forms.typed_values(request.form, fields)
    confirmed = request.form.get(forms.CONFIRM_OFFICER_ADDRESS) == "yes"
    key = request.form.get("submission_key", "")
    key = key if _SUBMISSION_KEY.fullmatch(key) else uuid.uuid4().hex
    errors, existing_id = {}, None
    try:
        data = InviteRequestSchema(org_domains=current_app.config["ORG_DOMAINS"]).load(forms.invite_data(method, values, fields))
        if vendor_with_officer_address(data, current_app.config["ORG_DOMAINS"]) and not confirmed:
            # Nothing is wrong with the form, but nothing is sent until the requester says they checked.
            return _render(method, values, {}, key, warn_officer_address=True)
        outcome = service.submit(data, current_caller(), current_app.extensions["outbox"], idempotency_key=key)
    except ValidationError as exc:
        errors = forms.plain_errors(exc.messages)
    except InvalidInput as exc:
        errors = forms.plain_errors(exc.errors)
        if "Idempotency-Key" in errors:
            errors = {"form": [ALREADY_SENT]}
    except Conflict as exc:
        errors = {exc.field or "email": [str(exc)]}
        existing_id = _own(exc.existing_id)
    else:
        flash(f"Request sent for {outcome.invite.email}. An approver will look at it next.", "success")
        return redirect(url_for("portal.status.detail", invite_id=outcome.invite.id))
    return _render(method, values, errors, key, existing_id), 422


def _own(invite_id: str | None) -> str | None:
    """The id of a clashing request if the caller made it; another officer's request is not linked."""
    if invite_id and InviteRequest.get_or_none((InviteRequest.id == invite_id) & (InviteRequest.requester == current_caller().email)):
        return invite_id
    return None


def _render(method: str, values: dict, errors: dict, key: str, existing_id: str | None = None,
            warn_officer_address: bool = False):
    confirmed = request.form.get(forms.CONFIRM_OFFICER_ADDRESS) == "yes"
    return render_template(
        FORMS[method].template,
        warn_officer_address=warn_officer_address or confirmed,
        officer_address_confirmed=confirmed,
        officer_address_warning=VENDOR_OFFICER_ADDRESS,
        values=values,
        errors=errors,
        error_order=FORMS[method].fields,
        submission_key=key,
        existing_url=url_for("portal.status.detail", invite_id=existing_id) if existing_id else None,
    )
