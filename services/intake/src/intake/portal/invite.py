"""The invite forms: choose a method, then an email invitation or a new account."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from invite_common.messages import Method, UserType
from marshmallow import ValidationError

from intake import history
from intake.errors import Conflict, InvalidInput, NotFound
from intake.auth.identity import current_caller
from intake.limits.rates import limited
from intake.invites import service
from intake.invites.schemas import OFFICERS_ONLY, VENDOR_OFFICER_ADDRESS, InviteRequestSchema, vendor_with_officer_address
from intake.models import InviteRequest
from intake.validation.problems import code_of
from intake.portal import check_answers, forms, labels

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
# a request's id as ?repeats= or the form's field gives it: anything else names no request
_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STILL_OPEN = ("The request you are asking for again still holds this email address: it waits for an operator "
              "to try it again or close it. Use another address, or send this once it is closed.")
ALREADY_SENT = "This form was already sent with other details. Open the form again to make a new request."
# A valid form is first shown back on its check page; only the check page's button sends it, with confirmed=yes
# (as every check page of the portal does).
ANSWERS_CHECKED = "confirmed"


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
        if "change" in request.args:
            return _change(method)
        if not request.args.get("repeats"):
            # a link from the other form may name what was typed there (an email invitation's to a
            # vendor), kept in the session under `answers`; a link may also give values itself
            kept = _kept_answers(request.args.get("answers", ""))
            given = kept["values"] if kept else request.args
            return _render(method, forms.prefilled(given, fields), {}, uuid.uuid4().hex)
        return _request_again(method, request.args["repeats"])
    values = forms.typed_values(request.form, fields)
    repeats = request.form.get("repeats", "")
    confirmed = request.form.get(forms.CONFIRM_OFFICER_ADDRESS) == "yes"
    key = request.form.get("submission_key", "")
    key = key if _SUBMISSION_KEY.fullmatch(key) else uuid.uuid4().hex
    errors, existing_id = {}, None
    try:
        given = forms.invite_data(method, values, fields) | ({"repeats": repeats} if repeats else {})
        data = InviteRequestSchema(org_domains=current_app.config["ORG_DOMAINS"]).load(given)
        if vendor_with_officer_address(data, current_app.config["ORG_DOMAINS"]) and not confirmed:
            # Nothing is wrong with the form, but nothing is sent until the requester says they checked.
            return _render(method, values, {}, key, warn_officer_address=True, repeated=_repeated(repeats))
        if request.form.get(ANSWERS_CHECKED) != "yes":
            # Valid, and nothing recorded yet: the answers are shown back, and sent only from there. The
            # check page carries them in hidden fields, so its post is read again with the same schema.
            service.check_submittable(data, current_caller())
            return _check_page(method, values, data, key, repeats, confirmed)
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
        if existing_id and existing_id == repeats:
            # a failed request holds its invitee until an operator closes it (or tries it again)
            errors = {"email": [STILL_OPEN]}
    else:
        flash(f"Request sent for {outcome.invite.email}. An approver will look at it next.", "success")
        return redirect(url_for("portal.status.detail", invite_id=outcome.invite.id))
    email_link = None
    if any(code_of(message) == OFFICERS_ONLY.code for message in errors.get("email", ())):
        domains = " or ".join(current_app.config["ORG_DOMAINS"])
        errors["email"] = [f"Email invitation is for public officers, whose address ends in {domains}. "
                           "To invite a vendor, use Create account."]
        # what was typed goes along, so nothing is typed twice: kept in the session, the link names it
        carried = {"email": values["email"], "user_type": UserType.VENDOR, "seed_onboarding": values["seed_onboarding"],
                   "reason": values["reason"]}
        _keep_answers(key, carried)
        email_link = {"href": url_for(FORMS[Method.CREATE_ACCOUNT].view, answers=key),
                      "text": "Create an account for a vendor instead"}
    return _render(method, values, errors, key, existing_id, repeated=_repeated(repeats), email_link=email_link), 422


# The answers a link back to a form stands for, in the signed-in person's server-side session, by the
# form's key: in the link itself they would land in the browser's history and in every proxy's access
# log (names, addresses, phone numbers). The last few forms are kept, for a person with several tabs.
ANSWERS_KEPT = "answers_kept"
FORMS_KEPT = 5


def _keep_answers(key: str, values: dict, **extra) -> None:
    kept = dict(session.get(ANSWERS_KEPT) or {})
    kept.pop(key, None)
    kept[key] = {"values": {name: value for name, value in values.items() if value}, **extra}
    while len(kept) > FORMS_KEPT:
        kept.pop(next(iter(kept)))
    session[ANSWERS_KEPT] = kept


def _kept_answers(key: str) -> dict | None:
    if not _SUBMISSION_KEY.fullmatch(key or ""):
        return None
    return (session.get(ANSWERS_KEPT) or {}).get(key)


def _change_args(values: dict, key: str, repeats: str, confirmed: bool) -> dict:
    """What a Change link carries back to the form: only the form's key; the answers as typed, what it
    repeats and the officer-address confirmation wait in the session under that key."""
    _keep_answers(key, values, repeats=repeats, confirmed=confirmed)
    return {"submission_key": key}


def _check_page(method: str, values: dict, data: dict, key: str, repeats: str, confirmed: bool):
    """Show every answer of a valid form, each with a Change link, and the button that sends it."""
    form = FORMS[method]
    change_args = _change_args(values, key, repeats, confirmed)
    return render_template(
        "portal/invite/check.html",
        form=form,
        sections=check_answers.check_page_sections(form.view, form.fields, data, change_args),
        deciders=check_answers.who_will_decide(data, current_caller().email),
        back_href=url_for(form.view, change="", **change_args),
        values=values,
        submission_key=key,
        repeats=repeats,
        repeated=_repeated(repeats),
        officer_address_confirmed=confirmed,
        confirmed_field=ANSWERS_CHECKED,
    )


def _change(method: str):
    """Open the form again from its check page, every answer kept, to change one (`?change=<field>`)."""
    fields = FORMS[method].fields
    key = request.args.get("submission_key", "")
    kept = _kept_answers(key) or {}  # none when the session ended meanwhile: the form starts afresh
    key = key if _SUBMISSION_KEY.fullmatch(key) else uuid.uuid4().hex
    repeated = _repeated(kept.get("repeats", ""))
    confirmed = bool(kept.get("confirmed"))
    values = forms.typed_values(kept.get("values", {}), fields)
    return _render(method, values, {}, key, repeated=repeated, warn_officer_address=confirmed,
                   officer_address_confirmed=confirmed)


def _own(invite_id: str | None) -> str | None:
    """The id of a clashing request if the caller made it; another officer's request is not linked."""
    if invite_id and _own_request(invite_id):
        return invite_id
    return None


def _own_request(invite_id: str) -> InviteRequest | None:
    if not _REQUEST_ID.fullmatch(invite_id):
        return None
    return InviteRequest.get_or_none((InviteRequest.id == invite_id) & (InviteRequest.requester == current_caller().email))


def _request_again(method: str, invite_id: str):
    """Open the form filled in with an earlier request's answers, to check and send again (`?repeats=`).

    Only its own requester may, and only once it ended without its invitation: anyone else's request,
    or an unknown id, is not found; a request still under way, or sent, goes back to its own page."""
    repeated = _own_request(invite_id)
    if repeated is None:
        raise NotFound(invite_id)
    if not labels.may_request_again(repeated):
        flash("Only a request that ended without its invitation can be asked for again.", "error")
        return redirect(url_for("portal.status.detail", invite_id=repeated.id))
    if repeated.method != method:
        # each request is asked for again on the form of its own method
        return redirect(url_for(FORMS[repeated.method].view, repeats=repeated.id))
    values = forms.request_again_values(repeated, FORMS[method].fields)
    return _render(method, values, {}, uuid.uuid4().hex, repeated=repeated)


def _repeated(invite_id: str) -> InviteRequest | None:
    """The request a sent form says it repeats, to say so again beside the form (the service checks it)."""
    return _own_request(invite_id) if invite_id else None


def _render(method: str, values: dict, errors: dict, key: str, existing_id: str | None = None,
            warn_officer_address: bool = False, repeated: InviteRequest | None = None, email_link: dict | None = None,
            officer_address_confirmed: bool = False):
    confirmed = officer_address_confirmed or request.form.get(forms.CONFIRM_OFFICER_ADDRESS) == "yes"
    if existing_id:
        email_link = {"href": url_for("portal.status.detail", invite_id=existing_id), "text": "View the open request"}
    return render_template(
        FORMS[method].template,
        repeated=repeated,
        repeated_ending=labels.ending(repeated, [history.as_dict(e) for e in history.for_request(repeated.id)]) if repeated else None,
        warn_officer_address=warn_officer_address or confirmed,
        officer_address_confirmed=confirmed,
        officer_address_warning=VENDOR_OFFICER_ADDRESS,
        values=values,
        errors=errors,
        error_order=FORMS[method].fields,
        submission_key=key,
        email_link=email_link,
    )
