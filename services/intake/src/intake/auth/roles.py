"""Who holds which role: grants in intake's role table, roles asserted by the identity provider, and
every change to the table recorded in the history auditors read.

Roles add up: a person has a role when the table grants it OR the provider's roles claim asserts it.
The provider's claim therefore wins over the table when they disagree about a role the claim asserts:
revoking it here does not take it away; it must be removed at the provider. Everyone with an
organisation email is a requester; no grant or claim is needed for that.

Who may approve is one rule (`may_hold`): a public officer (an address in ORG_EMAIL_DOMAINS) holding
the approver role. The same goes for administrators, whose pages are the portal's and so a public
officer's. A grant or claim of either to anyone else gives nothing, and granting it is refused. Only
the auditor role may be held from outside the organisation: external auditors exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from invite_common.db import utcnow
from invite_common.statements import Statements

from intake import history
from intake.models import RoleGrant
from intake.validation.rules import in_org_domains, normalise_email

# asked on every request: a statement built once (the query builder cost more than the query)
_grants = Statements(RoleGrant)

ROLES = ("requester", "approver", "security_approver", "auditor", "admin")
# The roles a grant or a claim can give; being a requester comes from the email's domain.
GRANTABLE = ("approver", "security_approver", "auditor", "admin")
# The roles a level of approval may name (APPROVAL_POLICY), itself or as its fallback: auditing is
# read-only, so an auditor decides nothing.
DECIDING = ("approver", "security_approver", "admin")
# Role changes are not about one invite request; they share one history key of their own.
ROLE_HISTORY_KEY = "role-grants"
FROM_ROLE_GRANTS = "ROLE_GRANTS"


class GrantError(ValueError):
    """A grant or revocation that cannot be made as asked."""


@dataclass(frozen=True)
class GrantChanges:
    """What applying ROLE_GRANTS changed."""

    granted: tuple[tuple[str, str], ...] = ()
    revoked: tuple[tuple[str, str], ...] = ()


# The one role a person outside the organisation may hold.
OUTSIDE_ORG_ROLE = "auditor"
_HOLDERS = {"approver": "approvers", "security_approver": "security approvers", "admin": "administrators",
            "auditor": "auditors"}


def holder_name(role: str) -> str:
    """One holder of `role` in words: "security approver"."""
    return holders_name(role)[:-1]


def holders_name(role: str) -> str:
    """The holders of `role` in words: "security approvers"."""
    return _HOLDERS.get(role, role.replace("_", " ") + "s")


def holders(role: str, org_domains: Iterable[str]) -> list[str]:
    """Who the role table grants `role` to and may use it, by address (the provider's claims are seen only
    at each holder's sign-in, so a role given only by claims has no holders here)."""
    return [g.email for g in RoleGrant.select(RoleGrant.email).where(RoleGrant.role == role).order_by(RoleGrant.email)
            if may_hold(role, g.email, org_domains)]


def in_org(email: str, org_domains: Iterable[str]) -> bool:
    """Tell whether an address is a public officer's (ends in one of ORG_EMAIL_DOMAINS)."""
    return in_org_domains(email.rpartition("@")[2], org_domains)


def may_hold(role: str, email: str, org_domains: Iterable[str]) -> bool:
    """Tell whether a person can use a role: approving and administering are for public officers only."""
    return role == OUTSIDE_ORG_ROLE or in_org(email, org_domains)


def only_audits(email: str) -> bool:
    """Whether the role table makes `email` an auditor: auditing is read-only, so they decide nothing, even as a
    stand-in or given one request."""
    return RoleGrant.select().where((RoleGrant.email == email.strip().lower()) & (RoleGrant.role == OUTSIDE_ORG_ROLE)).exists()


# what naming an auditor to decide is answered
AUDITOR_DECIDES_NOTHING = "This person is an auditor, and an auditor only audits: name someone else."


def check_may_hold(role: str, email: str, org_domains: Iterable[str]) -> None:
    """Refuse a grant its holder could never use (approver or administrator outside the organisation)."""
    if not may_hold(role, email, org_domains):
        raise GrantError(f"only public officers can be {holders_name(role)}, and {email} is not an address "
                         f"ending in {' or '.join(org_domains)}")


def from_role_grants(raw: str) -> frozenset[tuple[str, str]]:
    """The (role, email) grants ROLE_GRANTS sets back at every start; empty when it is unset."""
    return frozenset(parse_role_grants(raw))


def check_role(role: str) -> str:
    """Return the grantable role named (any case), or raise GrantError."""
    name = (role or "").strip().lower()
    if name not in GRANTABLE:
        raise GrantError(f"{role!r} is not a role that can be granted ({', '.join(GRANTABLE)})")
    return name


def parse_role_grants(raw: str) -> list[tuple[str, str]]:
    """Parse `approver:bob@tech.gov.sg,auditor:carol@tech.gov.sg` into (role, email) pairs."""
    grants = []
    for item in (x.strip() for x in raw.split(",")):
        if not item:
            continue
        role, sep, email = item.partition(":")
        if not sep or role.strip().lower() not in GRANTABLE:
            raise GrantError(f"ROLE_GRANTS entry {item!r} is not role:email with role {', '.join(GRANTABLE)}")
        try:
            grants.append((role.strip().lower(), normalise_email(email)))
        except Exception as exc:  # marshmallow's ValidationError: name the entry, not the library
            raise GrantError(f"ROLE_GRANTS entry {item!r} has no valid email address") from exc
    return grants


def _record(event: str, role: str, email: str, actor: str) -> None:
    history.append(ROLE_HISTORY_KEY, event, actor=actor, at=utcnow(), note=f"{role} {email}",
                   details={"role": role, "email": email})


def grant(role: str, email: str, actor: str) -> bool:
    """Grant a role and record who did it; False when it was already held. Call inside a transaction."""
    role, email = check_role(role), normalise_email(email)
    _, created = RoleGrant.get_or_create(email=email, role=role, defaults={"granted_by": actor, "granted_at": utcnow()})
    if created:
        _record("role_granted", role, email, actor)
    return created


def revoke(role: str, email: str, actor: str) -> bool:
    """Revoke a role and record who did it; False when it was not held. Call inside a transaction."""
    role, email = check_role(role), normalise_email(email)
    removed = RoleGrant.delete().where((RoleGrant.email == email) & (RoleGrant.role == role)).execute()
    if removed:
        _record("role_revoked", role, email, actor)
    return bool(removed)


def apply_role_grants(raw: str) -> GrantChanges:
    """Make the role table exactly ROLE_GRANTS when it is set: grant what it adds, revoke what is not in it.

    Unset (empty), it changes nothing and the table is managed by administrators. Call inside a transaction."""
    wanted = set(parse_role_grants(raw))
    if not wanted:
        return GrantChanges()
    held = {(g.role, g.email) for g in RoleGrant.select(RoleGrant.role, RoleGrant.email)}
    granted = sorted(wanted - held)
    revoked = sorted(held - wanted)
    for role, email in granted:
        grant(role, email, FROM_ROLE_GRANTS)
    for role, email in revoked:
        revoke(role, email, FROM_ROLE_GRANTS)
    return GrantChanges(tuple(granted), tuple(revoked))


def all_grants() -> list[RoleGrant]:
    """Every grant in the role table, by person then role."""
    return list(RoleGrant.select().order_by(RoleGrant.email, RoleGrant.role))


def claim_roles(claims: dict, claim: str) -> frozenset[str]:
    """The grantable roles a token's claim asserts; `claim` may be a dotted path (realm_access.roles)."""
    if not claim:
        return frozenset()
    value: object = claims
    for part in claim.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        # some providers send one space- or comma-separated string
        value = value.replace(",", " ").split()
    if not isinstance(value, list):
        return frozenset()
    return frozenset(r.strip().lower() for r in value if isinstance(r, str) and r.strip().lower() in GRANTABLE)


def roles_for(email: str, org_domains: tuple[str, ...], asserted: Iterable[str] = ()) -> frozenset[str]:
    """A person's roles: requester by email domain, plus the table's grants and the provider's claim
    that the person can use (`may_hold`)."""
    roles = {g.role for g in _grants.all(("role",), order_by="role", email=email)}
    roles.update(r for r in asserted if r in GRANTABLE)
    roles = {r for r in roles if may_hold(r, email, org_domains)}
    if in_org_domains(email.rpartition("@")[2], org_domains):
        roles.add("requester")
    return frozenset(roles)
