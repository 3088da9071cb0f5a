"""The stand-in page: an approver names who decides their requests with them while they are away, sees the
stand-ins they named and the approvers they stand in for, and ends a stand-in early.

Days and times are typed and shown in Singapore time, as every time in the portal is; the API's schema reads
what the form sends, so a stand-in is held to the same rules whichever door it comes in by."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from invite_common.dates import SINGAPORE_TIME
from invite_common.db import utcnow

from intake.approvals import delegations
from intake.approvals.delegation_schemas import StandInSchema
from intake.auth import guards, roles
from intake.auth.identity import current_caller
from intake.db import database
from intake.errors import Conflict, Forbidden, InvalidInput, NotFound
from intake.portal import forms
from intake.portal.labels import when

bp = Blueprint("stand_ins", __name__, url_prefix="/approvals/stand-in")
bp.guard = guards.APPROVAL_PAGES

STAND_IN_SCHEMA = StandInSchema()
FIELDS = ("stand_in", "starts_on", "starts_time", "ends_on", "ends_time")
# where the schema's moments are typed on the page: a day and a time each
MOMENT_FIELDS = {"starts_at": ("starts_on", "starts_time", "start"), "ends_at": ("ends_on", "ends_time", "end")}


def _page(values: dict, errors: dict, status: int = 200):
    caller, now = current_caller(), utcnow()
    return render_template(
        "portal/approvals/stand_in.html", values=values, errors=errors,
        named=delegations.of_approver(caller.email, now), standing_in_for=delegations.to_person(caller.email, now),
        now=now, is_running=delegations.is_running, longest=delegations.LONGEST.days,
        # a stand-in decides with the approver's roles only, so has none of their own to hand on
        may_name=bool(set(caller.roles) & set(roles.DECIDING)),
    ), status


def _typed_moment(day: str, time: str, what: str) -> tuple[dt.datetime | None, str | None]:
    """The moment a day and a time typed on the page name, in Singapore time; or what is wrong with them."""
    if not day:
        return None, f"Enter the day your stand-in's duty should {what}."
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        return None, f"Enter the {what} day as a real date, for example 2027-01-31."
    try:
        clock = dt.time.fromisoformat(time) if time else dt.time()
    except ValueError:
        return None, f"Enter the {what} time as hours and minutes, for example 09:00."
    return dt.datetime.combine(date, clock.replace(tzinfo=None), SINGAPORE_TIME), None


def read_form() -> tuple[dict, dict, dict]:
    """The form as typed, the stand-in as the API's schema loads it, and what is wrong, by the page's field."""
    typed = {name: request.form.get(name, "").strip() for name in FIELDS}
    errors: dict[str, list[str]] = {}
    given = {"stand_in": typed["stand_in"]}
    for moment, (day, time, what) in MOMENT_FIELDS.items():
        found, problem = _typed_moment(typed[day], typed[time], what)
        if problem:
            errors[day] = [problem]
        else:
            given[moment] = found.isoformat()
    try:
        loaded = STAND_IN_SCHEMA.load(given)
    except ValidationError as exc:
        found = forms.plain_errors(exc.messages)
        for name, messages in found.items():
            errors.setdefault(MOMENT_FIELDS[name][0] if name in MOMENT_FIELDS else name, messages)
        loaded = {}
    return typed, loaded, errors


@bp.get("")
def page():
    """Show the stand-ins the signed-in approver named, those they stand in for, and the form to name one."""
    # from now, as most stand-ins are named as the approver leaves; until the end of a working day
    here = utcnow().astimezone(SINGAPORE_TIME)
    return _page({"starts_on": here.date().isoformat(), "starts_time": f"{here:%H:%M}", "ends_time": "18:00"}, {})


@bp.post("")
def name():
    """Name a stand-in for the period typed; say what is wrong beside its field otherwise."""
    typed, loaded, errors = read_form()
    if errors:
        return _page(typed, errors, 422)
    caller = current_caller()
    try:
        with database.atomic():
            delegation = delegations.name_stand_in(caller.email, caller.roles, loaded["stand_in"], loaded["starts_at"],
                                                   loaded["ends_at"], current_app.config["ORG_DOMAINS"])
    except InvalidInput as exc:
        found = {MOMENT_FIELDS[k][0] if k in MOMENT_FIELDS else k: v for k, v in exc.errors.items()}
        return _page(typed, found, 422)
    except Conflict as exc:
        return _page(typed, {"starts_on": [str(exc)]}, 409)
    except Forbidden as exc:
        flash(str(exc), "error")
        return redirect(url_for(".page"))
    flash(f"{delegation.stand_in} stands in for you from {when(delegation.starts_at)} "
          f"until {when(delegation.ends_at)}.", "success")
    return redirect(url_for(".page"))


@bp.post("/<delegation_id>/end")
def end(delegation_id):
    """End one of the signed-in approver's stand-ins now."""
    try:
        with database.atomic():
            delegation = delegations.end(delegation_id, current_caller().email)
    except NotFound:
        flash("Nothing was ended: no such stand-in of yours.", "error")
    except Conflict:
        flash("Nothing was ended: this stand-in has already ended.", "error")
    else:
        flash(f"{delegation.stand_in} no longer stands in for you.", "success")
    return redirect(url_for(".page"))
