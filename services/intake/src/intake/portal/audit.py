"""The auditors' pages: search requests and role changes, read their timelines, export, check the history's integrity.

Read-only by construction: every route is a GET, and none of these pages carries a control that
changes anything. Only auditors may open them.
"""
from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError, fields

from invite_common.dates import SINGAPORE_TIME
from invite_common.messages import Method

from intake import lifecycle
from intake.audit import export as exporting
from intake.audit import keys, queries, role_changes, stand_ins
from intake.audit.filters import FilterArgs, Filters, person_field
from intake.audit.verify import verify
from intake.errors import NotFound
from intake.auth import guards
from intake.auth.roles import GRANTABLE, ROLE_HISTORY_KEY
from intake.models import InviteRequest, RoleGrant
from intake.portal import forms
from intake.portal.layout import ROLE_WORDS
from intake.portal.paging import PER_PAGE, Page, page_number, paginate

bp = Blueprint("audit", __name__, url_prefix="/audit")
bp.guard = guards.AUDIT_PAGES

FIELDS = ("email", "requester", "approver", "batch", "state", "method", "from", "to")
# the first Singapore day whose start UTC can hold (1 January of year 1 began in UTC's year 0)
EARLIEST_DAY = dt.date.min + dt.timedelta(days=1)


bp.add_app_template_filter(lambda text: json.loads(text or "{}"), "from_json")
bp.add_app_template_filter(lambda role: ROLE_WORDS.get(role, role), "role_word")


def _day(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _singapore_day(day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
    """The day's first moment and the next day's, in UTC; None for a day UTC cannot hold (1 January of year 1)."""
    try:
        start = dt.datetime.combine(day, dt.time(), SINGAPORE_TIME).astimezone(dt.timezone.utc)
    except OverflowError:
        return None
    # the end is reckoned in UTC: the day after 31 December 9999 is past the calendar, its start is not
    return start, start + dt.timedelta(days=1)


class SearchArgs(FilterArgs):
    """The page's filters: the API's (audit/filters.py), with days, read below, in place of its moments."""

    from_ = fields.String(data_key="from")
    to = fields.String()


SEARCH_ARGS = SearchArgs()


class RoleSearchArgs(role_changes.RoleFilterArgs):
    """The role search's filters: the API's, with days in place of its moments."""

    from_ = fields.String(data_key="from")
    to = fields.String()


ROLE_SEARCH_ARGS = RoleSearchArgs()
ROLE_FIELDS = ("person", "role", "by", "from", "to")


def _read_args(schema: Schema, names: tuple[str, ...]) -> tuple[dict, dict, dict]:
    """A search's filters from the query string: (loaded values, values to show in the form, problems).

    A filter that is wrong is left out and named beside its field; the search still shows."""
    values = {name: request.args.get(name, "").strip() for name in names}
    try:
        loaded, problems = schema.load({k: v for k, v in values.items() if v}), {}
    except ValidationError as exc:
        loaded, problems = exc.valid_data or {}, forms.filter_problems(exc.messages)
    start, end = _day(values["from"]), _day(values["to"])
    days = {}
    for name, day in (("from", start), ("to", end)):
        if values[name] and day is None:
            problems[name] = ["Enter a date like 2027-01-31."]
        elif day is not None:
            days[name] = _singapore_day(day)
            if days[name] is None:
                problems[name] = [f"Enter a date from {EARLIEST_DAY} to {dt.date.max}."]
    if start and end and end < start:
        problems["to"] = ["The end date must be on or after the start date."]
    # Dates are Singapore days: from the start of the first to the end of the last.
    dates_wrong = "from" in problems or "to" in problems
    loaded["from_"] = days["from"][0] if start and not dates_wrong else None
    loaded["to"] = days["to"][1] if end and not dates_wrong else None
    return loaded, values, problems


def read_filters() -> tuple[Filters, dict, dict]:
    """The request search's filters from the query string: (filters, values to show in the form, problems)."""
    loaded, values, problems = _read_args(SEARCH_ARGS, FIELDS)
    return Filters.of(loaded), values, problems


def _form_args(values: dict, problems: dict) -> dict:
    """The filters in force, as the page's links carry them on."""
    return {k: v for k, v in values.items() if v and k not in problems}


@bp.get("")
def search():
    """Search requests by requester, invitee, approver, state, method, batch and dates."""
    filters, values, problems = read_filters()
    page = paginate(queries.requests(filters), page_number(request.args.get("page", "1")))
    return render_template(
        "portal/audit/search.html", page=page, values=values, problems=problems, args=_form_args(values, problems),
        states=lifecycle.STATES, methods=Method.ALL, first_row=(page.number - 1) * PER_PAGE + 1,
    ), (422 if problems else 200)


@bp.get("/requests/<invite_id>")
def timeline(invite_id):
    """Show everything recorded about one request, in order, with times in Singapore time."""
    if invite_id == ROLE_HISTORY_KEY:
        # the key role changes share in the history (and the exports): they have pages of their own
        return redirect(url_for("portal.audit.roles"))
    invite = InviteRequest.get_or_none(InviteRequest.id == invite_id)
    if invite is None:
        raise NotFound(invite_id)
    return render_template("portal/audit/timeline.html", invite=invite, entries=queries.timeline(invite.id),
                           back=request.args.get("back", ""))


@bp.get("/roles")
def roles():
    """Search role grants and revocations by person, role, who made them and dates."""
    loaded, values, problems = _read_args(ROLE_SEARCH_ARGS, ROLE_FIELDS)
    query = role_changes.changes(role_changes.RoleFilters.of(loaded))
    page = paginate(query, page_number(request.args.get("page", "1")))
    return render_template(
        "portal/audit/roles.html", page=page, values=values, problems=problems, args=_form_args(values, problems),
        roles=GRANTABLE, facts=role_changes.facts, first_row=(page.number - 1) * PER_PAGE + 1,
    ), (422 if problems else 200)


@bp.get("/stand-ins")
def stand_ins_page():
    """The stand-ins approvers named and those ended early, newest first, about one person if asked."""
    person = request.args.get("person", "").strip()[:254]
    page = paginate(stand_ins.changes(person), page_number(request.args.get("page", "1")))
    return render_template("portal/audit/stand_ins.html", page=page, person=person, facts=stand_ins.as_dict,
                           args={"person": person} if person else {})


@bp.get("/roles/<int:entry_id>")
def role_change(entry_id):
    """Show one role grant or revocation, and every role change of the same person, in order."""
    entry = role_changes.get(entry_id) if entry_id < 2**63 else None
    if entry is None:
        raise NotFound(str(entry_id))
    about = role_changes.facts(entry)
    return render_template("portal/audit/role_change.html", entry=entry, about=about, facts=role_changes.facts,
                           history=role_changes.for_person(about["person"]))


class PersonSearchArgs(Schema):
    """The person page's filters: the events filter `person` (audit/filters.py), and days."""

    person = person_field()
    from_ = fields.String(data_key="from")
    to = fields.String()


PERSON_SEARCH_ARGS = PersonSearchArgs()
PERSON_FIELDS = ("person", "from", "to")


@bp.get("/people")
def person():
    """Show everything one person did or was party to, oldest first, with the roles they hold now."""
    loaded, values, problems = _read_args(PERSON_SEARCH_ARGS, PERSON_FIELDS)
    email = loaded.get("person", "")
    page, held = None, []
    if email and not problems:
        filters = Filters.of(loaded)
        total = queries.count_events(filters)
        count = max(1, -(-total // PER_PAGE))
        number = min(page_number(request.args.get("page", "1")), count)
        page = Page(queries.events_at(filters, (number - 1) * PER_PAGE, PER_PAGE), number, count, total)
        for event in page.items:
            event["capacity"] = queries.capacity(event, email)
        held = [g.role for g in RoleGrant.select().where(RoleGrant.email == email).order_by(RoleGrant.role)]
    return render_template(
        "portal/audit/person.html", page=page, person=email, held=held, values=values, problems=problems,
        args=_form_args(values, problems), role_key=ROLE_HISTORY_KEY, delegation_key=stand_ins.DELEGATION_HISTORY_KEY,
        first_row=((page.number - 1) * PER_PAGE + 1) if page else 0,
    ), (422 if problems else 200)


@bp.get("/export.<any(csv, jsonl):fmt>")
def export(fmt):
    """Download the events matching the search (in its date range), as CSV or JSON Lines."""
    filters, _, problems = read_filters()
    if problems:
        return search()
    return exporting.download(filters, fmt)


@bp.get("/integrity")
def integrity():
    """Check the whole history chain now and say whether it is intact, or which entry fails."""
    result = verify(keys.verify_keys(current_app.extensions["settings"]))
    bad = result.first_bad
    invite = InviteRequest.get_or_none(InviteRequest.id == bad.get("request_id")) if bad and bad.get("request_id") else None
    role_change = bad is not None and bad.get("request_id") == ROLE_HISTORY_KEY and bad.get("id") is not None
    return render_template("portal/audit/integrity.html", result=result, bad_invite=invite,
                           bad_is_role_change=role_change)
