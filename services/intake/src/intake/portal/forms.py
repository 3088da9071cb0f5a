"""Turn the portal's form posts into the data the API's schemas read, and their errors into plain words."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from invite_common.messages import UserType

from intake.batches.service import COLUMNS
from intake.batches.validation import ALSO_ON_ROWS, YES_OR_NO
from intake.approvals.decisions import BULK_SIZE, DECISION_CHOICE, REJECTION_REASON
from intake.invites.schemas import METHOD_CHOICE, USER_TYPE_CHOICE
from intake.portal.labels import phone
from intake.validation.problems import CHOICE, NOT_A_NUMBER, NOT_YES_OR_NO, OUT_OF_RANGE, TOO_LONG, code_of

YES_NO = {"yes": True, "no": False}
# The box a requester ticks to send a vendor's request with a public-officer address (never sent on).
CONFIRM_OFFICER_ADDRESS = "confirm_officer_address"
CHECKBOXES = ("offshore",)

# The schema speaks to API clients in wire values; on a page the same rule reads better in words.
# Keyed by the problems' codes (validation/problems.py), so the schema's words may change freely.
PLAIN_WORDS = {
    USER_TYPE_CHOICE.code: "Choose whether the person is a public officer or a vendor.",
    METHOD_CHOICE.code: "Choose how to invite the person.",
    REJECTION_REASON.code: "Give the reason for rejecting: the requester reads it.",
}
# The bulk form's fields are the page's: one note, buttons for the decision, boxes for the requests.
BULK_DECISION_FIELDS = {"comment": "note", "reason": "note", "decision": "decision", "id": "ids"}
BULK_WORDS = {
    DECISION_CHOICE.code: "Choose Approve selected or Reject selected.",
    BULK_SIZE.code: "Select at least one request to decide on.",
}


# A list's filters as the API's schemas refuse them, in the page's words.
FILTER_WORDS = {
    CHOICE.code: "Choose one of the options in the list.",
    NOT_YES_OR_NO.code: "Choose one of the options in the list.",
    TOO_LONG.code: "This is longer than anything it could match; shorten it.",
    NOT_A_NUMBER.code: "Enter a whole number of days, such as 7.",
    OUT_OF_RANGE.code: "Enter a number of days from 0 to 3650.",
}


def filter_problems(messages: Mapping, names: Mapping[str, str] = {}) -> dict[str, list[str]]:
    """A filter schema's errors by the page's field (`names` maps the schema's to the page's), in plain words."""
    return {names.get(field, field): [worded(m, FILTER_WORDS) for m in found if isinstance(m, str)]
            for field, found in messages.items() if isinstance(found, list)}


def worded(message: str, *words: Mapping[str, str]) -> str:
    """The page's words for a schema's message: the first of `words` that words its code, else the message."""
    code = code_of(message)
    for table in words:
        if code in table:
            return table[code]
    return message


def typed_values(form: Mapping[str, str], fields: Iterable[str]) -> dict[str, str]:
    """What the user typed or chose in each field, exactly, to show the form again."""
    return {name: form.get(name, "") for name in fields}


# What a link may fill in on a form: its choices only with an option the form offers, text as it came.
PREFILL_CHOICES = {"user_type": UserType.ALL, "seed_onboarding": tuple(YES_NO)}


def prefilled(args: Mapping[str, str], fields: Iterable[str]) -> dict[str, str]:
    """A new form's values as a link gives them (?email=…&user_type=vendor), each field at most once."""
    values = {}
    for name in fields:
        value = args.get(name, "")
        values[name] = value if name not in PREFILL_CHOICES or value in PREFILL_CHOICES[name] else ""
    return values


def request_again_values(invite, fields: Iterable[str]) -> dict[str, str]:
    """An earlier request's answers as its form shows them (of `fields`), to be checked and sent again."""
    answers = {
        "seed_onboarding": "yes" if invite.seed_onboarding else "no",
        "offshore": "yes" if invite.offshore else "",
        # stored in E.164 (+6591234567); shown as people write it, which the rule reads back the same
        "contact_number": phone(invite.contact_number) if invite.contact_number else "",
    }
    return {name: answers[name] if name in answers else (getattr(invite, name, None) or "") for name in fields}


def invite_data(method: str, values: Mapping[str, str], fields: Iterable[str]) -> dict:
    """The invite request a form's values (of `fields`) describe, in the shape the API receives."""
    data: dict = {"method": method}
    for name in fields:
        value = values.get(name, "")
        if name == "seed_onboarding":
            # An unanswered question is left out, so the schema says it is required (not "no").
            if value:
                data[name] = YES_NO.get(value, value)
        elif name in CHECKBOXES:
            # An unticked box says nothing: an email invitation or an officer must not carry it.
            if value:
                data[name] = True
        else:
            data[name] = value
    return data


def plain_errors(messages: Mapping) -> dict[str, list[str]]:
    """The schema's errors per field, each message as a requester should read it."""
    errors: dict[str, list[str]] = {}
    for field, found in messages.items():
        items = found if isinstance(found, list) else [found]
        errors[field] = [worded(m, PLAIN_WORDS) for m in items if isinstance(m, str)]
    return errors


def bulk_decision_data(ids: Iterable[str], decision: str, note: str) -> dict:
    """The bulk decision the queue's form describes, in the shape the API receives: the one note
    as each request's comment (approve) or reason (reject)."""
    field = "reason" if decision == "reject" else "comment"
    return {"decisions": [{"id": i, "decision": decision, field: note} for i in ids]}


def bulk_decision_errors(messages: Mapping) -> dict[str, list[str]]:
    """The bulk schema's errors on the queue's fields; every request carries the same note, so
    each problem is said once."""
    errors: dict[str, list[str]] = {}

    def add(field: str, found) -> None:
        for message in found if isinstance(found, list) else [found]:
            if isinstance(message, str):
                words = worded(message, BULK_WORDS, PLAIN_WORDS)
                if words not in errors.setdefault(field, []):
                    errors[field].append(words)

    decisions = messages.get("decisions", {})
    if isinstance(decisions, list):
        add("ids", decisions)
    else:
        for item in decisions.values():
            for name, found in item.items():
                add(BULK_DECISION_FIELDS.get(name, "note"), found)
    return errors


# A batch row's cells are text as typed in a spreadsheet; on the edit page three of them are choices.
ROW_CHOICES = {"user_type": UserType.ALL, "seed_onboarding": ("yes", "no"), "offshore": ("yes", "no")}
_YES_WORDS = frozenset({"yes", "y", "true", "1"})
_NO_WORDS = frozenset({"no", "n", "false", "0"})


def _choice(name: str, cell: str) -> str:
    """The option a spreadsheet cell means ("Vendor" → vendor, "Y" → yes), or "" when it means none."""
    word = cell.strip().lower()
    if name == "user_type":
        word = "_".join(word.replace("-", " ").split())
        return word if word in ROW_CHOICES[name] else ""
    return "yes" if word in _YES_WORDS else "no" if word in _NO_WORDS else ""


# The API names the clashing request by id; a page links to it instead (when the requester may open it).
_OPEN_REQUEST = re.compile(r"(An open request for this email already exists) \(request ([0-9a-f-]{36})\)\.")


def open_request_ids(errors: Mapping[str, list[str]]) -> dict[str, str]:
    """The id of the open request a row's field clashes with, by field, as the row's errors name them."""
    found = {}
    for name, messages in errors.items():
        for message in messages:
            match = _OPEN_REQUEST.fullmatch(message)
            if match:
                found[name] = match.group(2)
    return found


def row_errors(errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """A batch row's errors, reworded where a message leans on its cell to be understood."""
    labels = dict(COLUMNS)
    reworded = {}
    for name, messages in errors.items():
        reworded[name] = [_row_message(name, labels.get(name, name), m) for m in messages]
    return reworded


def _row_message(name: str, label: str, message: str) -> str:
    clash = _OPEN_REQUEST.fullmatch(message)
    if clash:
        return clash.group(1) + "."
    code = code_of(message)
    if code == YES_OR_NO.code:
        return {"seed_onboarding": "Say whether SEED onboarding is required: yes or no.",
                "offshore": "Say whether the vendor is offshore: yes or no."}.get(name, f"{label}: enter yes or no.")
    if code == ALSO_ON_ROWS.code:
        # "Also on row 7." beside a cell; on its own it needs to say what is repeated.
        first = label.split()[0]
        # "Email address" reads as "the same email address"; a name such as "TechPass" keeps its capitals.
        noun = label[0].lower() + label[1:] if first[1:].islower() else label
        return f"The same {noun} is {message[0].lower() + message[1:]}"
    return worded(message, PLAIN_WORDS)


def row_values(cells: Mapping[str, str]) -> dict[str, str]:
    """A batch row's cells as the edit form shows them, choices preselected where the cell is clear."""
    return {name: (_choice(name, value or "") if name in ROW_CHOICES else value or "") for name, value in cells.items()}


def row_changes(form: Mapping[str, str]) -> dict[str, str]:
    """The cells an edit form sets; an unanswered choice leaves the file's cell as it was."""
    changes = {}
    for name, _ in COLUMNS:
        value = form.get(name, "")
        if name in ROW_CHOICES and value not in ROW_CHOICES[name]:
            continue
        changes[name] = value
    return changes
