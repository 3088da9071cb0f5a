"""Who may use each entrypoint, checked once, where the entrypoint is declared.

An API route names its guard under its `@blp.route` (`@requires(guards.APPROVER)`, api/blueprint.py);
a portal area names its guard beside its blueprint (`bp.guard = guards.APPROVAL_PAGES`), and the
portal checks it with the rest of what every page needs (portal/layout.py). The services behind
them check no role again: tests/intake/test_route_matrix.py holds every route to its guard.
"""
from __future__ import annotations

from dataclasses import dataclass

from intake.auth.identity import Caller
from intake.errors import Forbidden


@dataclass(frozen=True)
class Guard:
    """A role an entrypoint needs, and what someone without it is told (403)."""

    role: str
    refusal: str

    def check(self, caller: Caller) -> None:
        """Refuse the caller unless they hold the role (as Caller says: an auditor only audits)."""
        if not getattr(caller, f"is_{self.role}"):
            raise Forbidden(self.refusal)


REQUESTER = Guard("requester", "Only public officers with an organisation email can request invites.")
# approvers are public officers holding the role (auth/roles.may_hold)
APPROVER = Guard("approver", "Only public officers holding the approver role can decide on requests.")
APPROVAL_QUEUE = Guard("approver", "Only public officers holding the approver role can see the approval queue.")
AUDITOR = Guard("auditor", "Only auditors can read the audit history.")
# whoever decides requests (Caller.is_approver: a deciding role, a stand-in's duty, a request given to them)
DECIDES = Guard("approver", "Only someone who decides requests can name a stand-in.")
# a stand-in is ended by the approver who named it (the service finds only theirs) or by an administrator
STAND_IN_ENDING = Guard("approver_or_admin", "Only the approver who named a stand-in, or an administrator, can end it.")
ADMIN = Guard("admin", "Only administrators can reassign requests.")

# The portal's areas: every page is also a public officer's (a requester's), but the audit area's.
APPROVAL_PAGES = Guard("approver", "Only public officers holding the approver role can open the requests to approve.")
AUDIT_PAGES = Guard("auditor", "Only auditors can open the audit pages.")
ADMIN_PAGES = Guard("admin", "Only administrators can manage roles.")
ADMIN_REQUEST_PAGES = Guard("admin", "Only administrators can reassign requests.")
