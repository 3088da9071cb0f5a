"""The CSV export's rows, for people and spreadsheets: the pages' words and Singapore time, each cell
safe to open.

Scripts read the JSON Lines export, whose fields are the API's (codes, UTC). The CSV is opened in
a spreadsheet, so it says what the pages say: times in Singapore time as `2026-12-07 14:05:09`
(a form spreadsheets read as a date and time; the heading names the zone), events, states, methods
and actors in the portal's words (portal/labels.py, the one place they are kept), and each fact an
event carries in a column of its own instead of a JSON object in one cell.

Requesters write free text that is stored as given, so every text cell a spreadsheet would take for
a formula (starting with =, +, -, @, a tab or a carriage return) is prefixed with an apostrophe,
which spreadsheets show as text and never evaluate. Cells are made safe as they are made: the
words of a code once per export, free text in each row.
"""
from __future__ import annotations

import datetime as dt
import json

from invite_common.dates import SINGAPORE_TIME

from intake.invites.words import METHOD_LABELS

_SGT = dt.timedelta(hours=8)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = "".join(FORMULA_STARTS)


def neutralise(value):
    """Make a text cell safe to open in a spreadsheet; other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value

# the facts events carry (history/, approval's moves, roles, retention), each with its column
DETAIL_COLUMNS = {
    "role": "Role",
    "email": "Role holder",
    "username": "TechPass username",
    "seed_expires_at": "SEED code expires (SGT)",
    "smtp_message_id": "Email Message-ID",
    "decision": "Decision asked for",
    "policy": "Approval policy",
    "retention_days": "Retention period (days)",
}
# shown in the Method column: the request's method, which the submission entry also records
_IN_OTHER_COLUMNS = frozenset({"method"})
DECISION_WORDS = {"approve": "Approve", "reject": "Reject", "cancel": "Cancel", "resend": "Send again"}

HEADINGS = (
    "Time (SGT)", "Event", "By", "Comment or reason", "State before", "State after",
    "Invitee email", "Requester", "Method", "Batch", "Request state now", "Request id",
    *DETAIL_COLUMNS.values(), "Other details",
    "Entry id", "Chain position", "Chain hash",
)


def sgt(raw) -> str:
    """A stored moment (naive UTC datetime, aware datetime, or SQLite's text) as `2026-12-07 14:05:09`, SGT."""
    if not raw:
        return ""
    if raw.__class__ is str:
        raw = dt.datetime.fromisoformat(raw)
    if raw.tzinfo is not None:
        raw = raw.astimezone(SINGAPORE_TIME).replace(tzinfo=None)
    else:
        raw = raw + _SGT
    return raw.isoformat(" ", "seconds")


class _Words(dict):
    """A label function's answers, kept: an export asks the same few codes a million times."""

    def __init__(self, label):
        super().__init__()
        self.label = label

    def __missing__(self, code):
        words = self[code] = neutralise(self.label(code)) if code else ""
        return words


def _detail(key: str, value) -> str:
    if key == "seed_expires_at":
        try:
            return sgt(value)
        except (TypeError, ValueError):
            return str(value)
    if key == "decision":
        return DECISION_WORDS.get(value, str(value))
    return "" if value is None else str(value)


def _other(key: str, value) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"{key.replace('_', ' ').capitalize()}: {shown}"


_NO_DETAILS = [""] * (len(DETAIL_COLUMNS) + 1)


# details kept by one export once read: most entries' details are one of a few ({"method": ...})
SEEN_AT_MOST = 1024


def _details(text: str, seen: dict) -> tuple[list, str | None]:
    """The detail columns' cells (and the last, for facts of no column's), and the method recorded, if any."""
    known = seen.get(text)
    if known is not None:
        return known
    details = json.loads(text)
    cells = [neutralise(_detail(key, details[key])) if key in details else "" for key in DETAIL_COLUMNS]
    cells.append(neutralise("; ".join(_other(k, v) for k, v in details.items()
                                      if k not in DETAIL_COLUMNS and k not in _IN_OTHER_COLUMNS)))
    found = cells, details.get("method")
    if len(seen) < SEEN_AT_MOST:
        seen[text] = found
    return found


def rows(events):
    """Each event (the queries' EVENT_FIELDS order, `at` as the driver gives it) as the CSV's cells."""
    # here, not at the top: importing the portal's package imports its pages, and they import the export
    from intake.portal.labels import actor_label, event_label, state_label

    events_, states, actors = _Words(event_label), _Words(state_label), _Words(actor_label)
    methods = _Words(lambda code: METHOD_LABELS.get(code, code))
    seen: dict[str, tuple[list, str | None]] = {}
    formula = _FORMULA_FIRST
    for (entry_id, position, at, request_id, verb, from_state, to_state, actor, note, details_text,
         chain_hash, invitee, requester, method, request_state, batch_id) in events:
        if details_text and details_text != "{}":
            detail_cells, recorded_method = _details(details_text, seen)
            method = method or recorded_method
        else:
            detail_cells = _NO_DETAILS
        # neutralise() inlined for the free text: this runs for every row exported
        yield [
            sgt(at), events_[verb], actors[actor], "'" + note if note and note[0] in formula else note,
            states[from_state], states[to_state],
            "'" + invitee if invitee and invitee[0] in formula else invitee or "",
            "'" + requester if requester and requester[0] in formula else requester or "",
            methods[method], "'" + batch_id if batch_id and batch_id[0] in formula else batch_id or "",
            states[request_state], "'" + request_id if request_id and request_id[0] in formula else request_id,
            *detail_cells,
            entry_id, "" if position is None else position, chain_hash or "",
        ]


def row(event: tuple) -> list:
    """One event as the CSV's cells."""
    return next(rows((event,)))
