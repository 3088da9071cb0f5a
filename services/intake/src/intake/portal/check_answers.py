"""The "Check your answers" page of an invite form: what will be sent, each answer with its Change link.

The page is assembled by `check_page_sections` as a list of sections, each a heading and its rows.
Today there is one section, the answers. The template (portal/invite/check.html) draws every
section with the same summary list, and fills a named block, `deciders`, with who will decide the
request (`who_will_decide`): its levels in order, each without a Change link.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import url_for
from invite_common.messages import UserType

from intake.approvals import levels, previews
from intake.invites.words import USER_TYPE_LABELS
from intake.portal import deciders
from intake.portal.labels import phone

# The form's field each answer changes, the words it is shown under, and how its value is shown.
# The order is the form's, so the page reads as the form did.
LABELS = {
    "email": "Email address",
    "user_type": "Public officer or vendor",
    "username": "TechPass username",
    "offshore": "Offshore",
    "first_name": "First name",
    "last_name": "Last name",
    "contact_number": "Contact number",
    "organisation": "Organisation",
    "department": "Department",
    "seed_onboarding": "SEED onboarding required",
    "reason": "Reason for the request",
}
# What the change link names for a screen reader ("Change email address")
CHANGE_NAMES = {field: label[0].lower() + label[1:] for field, label in LABELS.items()} | {
    "user_type": "whether they are a public officer or a vendor",
    "offshore": "whether the vendor is offshore",
    "seed_onboarding": "whether SEED onboarding is required",
    "reason": "reason for the request",
}
VENDOR_ONLY = ("username", "offshore")


@dataclass(frozen=True)
class CheckRow:
    """One answer: its words, its value as it will be sent, and the link back to its field."""

    field: str
    key: str
    value: str
    change_href: str
    change_name: str
    multiline: bool = False


@dataclass(frozen=True)
class CheckSection:
    """A heading and its rows; `name` lets the template and the tests find it."""

    name: str
    heading: str
    rows: tuple[CheckRow, ...]


def shown(field: str, data: Mapping) -> str:
    """An answer as the check page shows it: from the data the schema read, so it is what will be sent."""
    value = data.get(field)
    if field == "user_type":
        return USER_TYPE_LABELS.get(value, value or "")
    if field in ("seed_onboarding", "offshore"):
        return "Yes" if value else "No"
    if field == "contact_number":
        return phone(value)
    if field == "username" and not value:
        return "Derived from the email"
    if field == "department" and not value:
        return "Not given"
    return value or ""


def answers_section(view: str, fields: tuple[str, ...], data: Mapping, change_args: Mapping[str, str]) -> CheckSection:
    """Every answer the form asked for, in its order; the vendor's questions only for a vendor."""
    rows = []
    for field in fields:
        if field in VENDOR_ONLY and data.get("user_type") != UserType.VENDOR:
            continue
        # the field itself, which the browser focuses (portal.css scrolls its label and hint into view too)
        href = url_for(view, change=field, **change_args, _anchor=field)
        rows.append(CheckRow(field, LABELS[field], shown(field, data), href, CHANGE_NAMES[field],
                             multiline=field == "reason"))
    return CheckSection("answers", "Request details", tuple(rows))


def check_page_sections(view: str, fields: tuple[str, ...], data: Mapping,
                        change_args: Mapping[str, str]) -> list[CheckSection]:
    """The check page's sections, top to bottom: the answers (a later section, such as who will decide
    the request, is added here after them)."""
    return [answers_section(view, fields, data, change_args)]


def who_will_decide(data: Mapping, requester: str) -> list[deciders.LevelShown]:
    """The levels the request would pass, in order, and who can decide each, the signed-in person its requester
    (so they are never named as its decider)."""
    return deciders.shown(levels.preview(previews.of_answers(data, requester), levels.Holders.of_app()))
