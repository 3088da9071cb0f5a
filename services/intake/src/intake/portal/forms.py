"""Turn the portal's form posts into the data the API's schemas read, and their errors into plain words."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from invite_common.messages import Method, UserType

from intake.batches.service import COLUMNS
from intake.invites.schemas import BULK_SIZE

EMAIL_INVITATION_FIELDS = ("email", "seed_onboarding", "reason")
# In the order the page asks them, so the error summary lists problems top to bottom.
CREATE_ACCOUNT_FIELDS = (
    "email", "user_type", "username", "offshore", "first_name", "last_name", "contact_number",
    "organisation", "department", "seed_onboarding", "reason",
)
FIELDS = {Method.EMAIL_INVITATION: EMAIL_INVITATION_FIELDS, Method.CREATE_ACCOUNT: CREATE_ACCOUNT_FIELDS}
YES_NO = {"yes": True, "no": False}
# The box a requester ticks to send a vendor's request with a public-officer address (never sent on).
CONFIRM_OFFICER_ADDRESS = "confirm_officer_address"
CHECKBOXES = ("offshore",)

# The schema speaks to API clients in wire values; on a page the same rule reads better in words.
PLAIN_WORDS = {
    "Choose the user type: public_officer or vendor.": "Choose whether the person is a public officer or a vendor.",
    "Choose the method: email_invitation or create_account.": "Choose how to invite the person.",
    "Enter the reason for rejecting.": "Give the reason for rejecting: the requester reads it.",
}
# The bulk form's fields are the page's: one note, buttons for the decision, boxes for the requests.
BULK_DECISION_FIELDS = {"comment": "note", "reason": "note", "decision": "decision", "id": "ids"}
BULK_WORDS = {
    "Choose the decision: approve or reject.": "Choose Approve selected or Reject selected.",
    BULK_SIZE: "Select at least one request to decide on.",
}


def typed_values(form: Mapping[str, str], fields: Iterable[str]) -> dict[str, str]:
    """What the user typed or chose in each field, exactly, to show the form again."""
    return {name: form.get(name, "") for name in fields}


def invite_data(method: str, values: Mapping[str, str]) -> dict:
    """The invite request a form's values describe, in the shape the API receives."""
    data: dict = {"method": method}
    for name in FIELDS[method]:
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
        errors[field] = [PLAIN_WORDS.get(str(m), str(m)) for m in items if isinstance(m, str)]
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
                worded = BULK_WORDS.get(message, PLAIN_WORDS.get(message, message))
                if worded not in errors.setdefault(field, []):
                    errors[field].append(worded)

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
    worded = {}
    for name, messages in errors.items():
        worded[name] = [_row_message(name, labels.get(name, name), m) for m in messages]
    return worded


def _row_message(name: str, label: str, message: str) -> str:
    clash = _OPEN_REQUEST.fullmatch(message)
    if clash:
        return clash.group(1) + "."
    if message == "Enter yes or no.":
        return {"seed_onboarding": "Say whether SEED onboarding is required: yes or no.",
                "offshore": "Say whether the vendor is offshore: yes or no."}.get(name, f"{label}: enter yes or no.")
    if message.startswith("Also on row"):
        # "Also on row 7." beside a cell; on its own it needs to say what is repeated.
        first = label.split()[0]
        # "Email address" reads as "the same email address"; a name such as "TechPass" keeps its capitals.
        noun = label[0].lower() + label[1:] if first[1:].islower() else label
        return f"The same {noun} is {message[0].lower() + message[1:]}"
    return PLAIN_WORDS.get(message, message)


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
