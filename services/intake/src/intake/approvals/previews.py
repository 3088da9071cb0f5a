"""Who will decide a request not yet sent: a form's answers or a batch row's cells read as the request they
would make (`Proposed`), for `levels.preview`; and the levels as the API gives them."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from intake.approvals import levels
from intake.batches.validation import request_fields


@dataclass(frozen=True)
class Proposed:
    """The fields of a request that the approval policy's rules read, the signed-in person its requester."""

    method: str
    email: str
    user_type: str
    seed_onboarding: bool
    offshore: bool
    requester: str


def of_answers(data: Mapping, requester: str) -> Proposed:
    """A valid form's answers (as the schema loaded them) as the request `requester` would make."""
    return Proposed(str(data.get("method") or ""), str(data.get("email") or ""), str(data.get("user_type") or ""),
                    bool(data.get("seed_onboarding")), bool(data.get("offshore")), requester)


def of_cells(cells: Mapping[str, str], requester: str) -> Proposed:
    """A batch row's cells as the request it asks for (a row with problems too: its levels are the best reading)."""
    return of_answers(request_fields(cells), requester)


def level_json(who: levels.WhoDecides) -> dict:
    """One level of a preview as the API gives it."""
    return {"name": who.level.name, "title": who.level.label, "role": who.role, "names": list(who.names),
            "fallback": who.fell_back, "approved_by": who.approved_by}
