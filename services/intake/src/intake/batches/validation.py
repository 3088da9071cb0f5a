"""Check batch rows: each by the same rules as a single request, then against each other and open requests."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from marshmallow import ValidationError

from invite_common.messages import Method, UserType
from invite_common.people import person_key

from intake.auth.identity import Caller
from intake.batches.columns import FIELDS
from intake.invites import rules
from intake.invites.schemas import InviteRequestSchema
from intake.tables import invite_requests
from intake.validation.problems import declare

MAX_CELL_LENGTH = 1000
_TRUE = frozenset({"yes", "y", "true", "1"})
_FALSE = frozenset({"no", "n", "false", "0"})
_BOOLEANS = ("seed_onboarding", "offshore")
USERNAME_TAKEN = "This TechPass username is already taken; choose another."
# a cell's own problems, worded beside their column by the portal (portal/forms.py)
YES_OR_NO = declare("cell.yes_or_no", "Enter yes or no.")
ALSO_ON_ROWS = declare("row.duplicate", "Also on {rows}.")


@dataclass
class CheckedRow:
    """A row's fields with its own problems, its normalised request when it has none, and its keys."""

    row: int
    fields: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    data: dict | None = None
    # the normalised address as typed (where mail goes) and its person key (who it is)
    email: str | None = None
    email_key: str | None = None
    username_key: str | None = None


class RowChecker:
    """Checks rows against the request rules, with one schema built for the whole file."""

    def __init__(self, org_domains: Iterable[str]):
        self.schema = InviteRequestSchema(org_domains=tuple(org_domains))

    def check(self, row: int, fields: Mapping[str, str]) -> CheckedRow:
        """Return the row checked on its own (cells, field rules); the database is checked apart."""
        checked = CheckedRow(row, dict(fields))
        given, cell_errors = _request_input(fields)
        try:
            checked.data = self.schema.load(given)
            valid = checked.data
        except ValidationError as error:
            checked.errors = {name: list(msgs) for name, msgs in error.messages.items() if isinstance(msgs, list)}
            valid = error.valid_data or {}
        checked.errors.update(cell_errors)
        if cell_errors:
            checked.data = None
        checked.email = valid.get("email")
        checked.email_key = person_key(checked.email) if checked.email else None
        if valid.get("username") and valid.get("user_type") == UserType.VENDOR:
            checked.username_key = valid["username"].lower()
        checked.errors = {name: checked.errors[name] for name in FIELDS if name in checked.errors}
        return checked


def user_type_of(cell: str) -> str:
    """The wire value a user-type cell means: spreadsheets capitalise ("Vendor", "Public officer")."""
    return "_".join(cell.strip().lower().replace("-", " ").split())


def request_fields(fields: Mapping[str, str]) -> dict:
    """A row's cells as the request they ask for, the cells no rule can read left out (a yes/no cell that is
    neither counts as no): enough to say which levels of approval the row would pass."""
    return _request_input(fields)[0]


def _request_input(fields: Mapping[str, str]) -> tuple[dict, dict[str, list[str]]]:
    """Turn a row's cells into a create_account request body, and the cells no rule can read."""
    given: dict = {"method": Method.CREATE_ACCOUNT}
    problems: dict[str, list[str]] = {}
    for name in FIELDS:
        value = fields.get(name, "")
        if len(value) > MAX_CELL_LENGTH:
            problems[name] = [f"This cell has more than {MAX_CELL_LENGTH:,} characters, the most a cell may have."]
        elif name in _BOOLEANS:
            word = value.strip().lower()
            if word in _TRUE or word in _FALSE:
                given[name] = word in _TRUE
            elif word:
                problems[name] = [YES_OR_NO]
        elif name == "user_type":
            word = user_type_of(value)
            given[name] = word if word in UserType.ALL else value
        else:
            given[name] = value
    return given, problems


def check_open_requests(rows: list[CheckedRow], caller: Caller, in_directory: set[str] = frozenset()) -> None:
    """Flag the requester's own email, emails with an open request or an account (made here, or
    `in_directory`: the person keys found in the directory beforehand), and vendor usernames already
    taken, a few queries for all rows. Emails are compared by person (`amy+x@` is amy)."""
    emails = {r.email_key for r in rows if r.email_key}
    usernames = {r.username_key for r in rows if r.username_key}
    open_emails = {invite.open_email: rules.shown_id(caller, invite) for invite in invite_requests.open_for_people(emails)}
    with_accounts = invite_requests.people_with_accounts(emails) | (set(in_directory) & emails)
    own = person_key(caller.email)
    taken = invite_requests.usernames_in_use(usernames)
    for r in rows:
        if r.email_key == own:
            _add(r, "email", rules.SELF_INVITATION)
        elif r.email_key in open_emails:
            shown = open_emails[r.email_key]
            # another requester's request stays unnamed: its id would let anyone probe who asked for whom
            _add(r, "email", f"{rules.OPEN_REQUEST[:-1]} (request {shown})." if shown else rules.OPEN_REQUEST)
        elif r.email_key in with_accounts:
            _add(r, "email", rules.HAS_ACCOUNT)
        if r.username_key in taken:
            _add(r, "username", USERNAME_TAKEN)


def _add(row: CheckedRow, name: str, message: str) -> None:
    row.errors.setdefault(name, []).append(message)
    row.errors = {n: row.errors[n] for n in FIELDS if n in row.errors}
    row.data = None


def find_duplicates(keys: Iterable[tuple[int, str | None, str | None]]) -> dict[int, dict[str, list[int]]]:
    """Given (row, email key, username key) for every row, return {row: {field: [other rows]}} for shared keys."""
    by_email: dict[str, list[int]] = defaultdict(list)
    by_username: dict[str, list[int]] = defaultdict(list)
    for row, email_key, username_key in keys:
        if email_key:
            by_email[email_key].append(row)
        if username_key:
            by_username[username_key].append(row)
    found: dict[int, dict[str, list[int]]] = defaultdict(dict)
    for name, groups in (("email", by_email), ("username", by_username)):
        for rows in groups.values():
            if len(rows) > 1:
                for row in rows:
                    found[row][name] = sorted(other for other in rows if other != row)
    return dict(found)


def describe_duplicates(duplicates: Mapping[str, list[int]]) -> dict[str, list[str]]:
    """Say, per field, on which other rows the same value is: "Also on row 7." or "Also on rows 3, 7 and 9."."""
    messages = {}
    for name, rows in duplicates.items():
        shown = [str(r) for r in rows[:5]] + ([f"{len(rows) - 5} more"] if len(rows) > 5 else [])
        listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
        messages[name] = [ALSO_ON_ROWS.format(rows=f"row{'s' if len(rows) > 1 else ''} {listed}")]
    return messages
