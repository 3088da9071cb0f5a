"""The CSV export's rows, for people and spreadsheets: the pages' words and Singapore time.

Scripts read the JSON Lines export, whose fields are the API's (codes, UTC). The CSV is opened in
a spreadsheet, so it says what the pages say: times in Singapore time as `2026-12-07 14:05:09`
(a form spreadsheets read as a date and time; the heading names the zone), events, states, methods
and actors in the portal's words (portal/labels.py, the one place they are kept), and each fact an
event carries in a column of its own instead of a JSON object in one cell.
"""
from __future__ import annotations

import datetime as dt
import json

from invite_common.dates import SINGAPORE_TIME

from intake.invites.words import METHOD_LABELS
from intake.portal.labels import actor_label, event_label, state_label

_SGT = dt.timedelta(hours=8)

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
    if isinstance(raw, str):
        raw = dt.datetime.fromisoformat(raw)
    if raw.tzinfo is not None:
        return raw.astimezone(SINGAPORE_TIME).strftime("%Y-%m-%d %H:%M:%S")
    return (raw + _SGT).strftime("%Y-%m-%d %H:%M:%S")


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


def row(event: tuple) -> list:
    """One event (the queries' EVENT_FIELDS order, `at` as the driver gives it) as the CSV's cells."""
    (entry_id, position, at, request_id, verb, from_state, to_state, actor, note, details_text,
     chain_hash, invitee, requester, method, request_state, batch_id) = event
    details = json.loads(details_text) if details_text and details_text != "{}" else {}
    method = method or details.get("method")
    named = [_detail(key, details[key]) if key in details else "" for key in DETAIL_COLUMNS]
    other = "; ".join(_other(k, v) for k, v in details.items() if k not in DETAIL_COLUMNS and k not in _IN_OTHER_COLUMNS)
    return [
        sgt(at), event_label(verb), actor_label(actor), note,
        state_label(from_state) if from_state else "", state_label(to_state) if to_state else "",
        invitee or "", requester or "", METHOD_LABELS.get(method, method or ""), batch_id or "",
        state_label(request_state) if request_state else "", request_id,
        *named, other,
        entry_id, "" if position is None else position, chain_hash or "",
    ]
