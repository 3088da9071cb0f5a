"""The invite forms: choose a method, then an email invitation or a new account."""
from __future__ import annotations

import re
import uuid

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

TEMPLATES = {Method.EMAIL_INVITATION: "portal/invite/email.html", Method.CREATE_ACCOUNT: "portal/invite/account.html"}
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
    fields = forms.FIELDS[method]
    if request.method == "GET":
        return _render(method, forms.typed_values({}, fields), {}, uuid.uuid4().hex)
    values = forms.typed_values(request.form, fields)
    confirmed = request.form.get(forms.CONFIRM_OFFICER_ADDRESS) == "yes"
    key = request.form.get("submission_key", "")
    key = key if _SUBMISSION_KEY.fullmatch(key) else uuid.uuid4().hex
    errors, existing_id = {}, None
    try:
        data = InviteRequestSchema(org_domains=current_app.config["ORG_DOMAINS"]).load(forms.invite_data(method, values))
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
        TEMPLATES[method],
        warn_officer_address=warn_officer_address or confirmed,
        officer_address_confirmed=confirmed,
        officer_address_warning=VENDOR_OFFICER_ADDRESS,
        values=values,
        errors=errors,
        error_order=forms.FIELDS[method],
        submission_key=key,
        existing_url=url_for("portal.status.detail", invite_id=existing_id) if existing_id else None,
    )
