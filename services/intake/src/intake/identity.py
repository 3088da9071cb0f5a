"""Who is calling, and with which roles: dev identity (`X-Dev-User`) and grants from ROLE_GRANTS."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app, g, request
from marshmallow import ValidationError

from intake.models import RoleGrant
from intake.validation import in_org_domains, normalise_email

log = logging.getLogger(__name__)

ROLES = ("requester", "approver", "auditor")
GRANTABLE = ("approver", "auditor")


@dataclass(frozen=True)
class Caller:
    """The signed-in person and what they may do."""

    email: str
    roles: frozenset[str]

    @property
    def is_requester(self) -> bool:
        return "requester" in self.roles

    @property
    def is_approver(self) -> bool:
        return "approver" in self.roles

    @property
    def is_auditor(self) -> bool:
        return "auditor" in self.roles


class Unauthenticated(Exception):
    """No usable identity on the request (401)."""


def parse_role_grants(raw: str) -> list[tuple[str, str]]:
    """Parse `approver:bob@tech.gov.sg,auditor:carol@tech.gov.sg` into (role, email) pairs."""
    grants = []
    for item in (x.strip() for x in raw.split(",")):
        if not item:
            continue
        role, sep, email = item.partition(":")
        role = role.strip().lower()
        if not sep or role not in GRANTABLE:
            raise ValueError(f"ROLE_GRANTS entry {item!r} is not role:email with role approver or auditor")
        grants.append((role, normalise_email(email)))
    return grants


def apply_role_grants(raw: str) -> int:
    """Record the grants of ROLE_GRANTS (adding, never removing); return how many were new."""
    added = 0
    for role, email in parse_role_grants(raw):
        _, created = RoleGrant.get_or_create(email=email, role=role)
        added += int(created)
    return added


def roles_for(email: str, org_domains: tuple[str, ...]) -> frozenset[str]:
    """Everyone with an org email is a requester; approver and auditor come from grants."""
    roles = {g.role for g in RoleGrant.select(RoleGrant.role).where(RoleGrant.email == email)}
    domain = email.rpartition("@")[2]
    if in_org_domains(domain, org_domains):
        roles.add("requester")
    return frozenset(roles)


def caller_for(email: str) -> Caller:
    """Build the Caller for an already authenticated email."""
    return Caller(email=email, roles=roles_for(email, current_app.config["ORG_DOMAINS"]))


def current_caller() -> Caller:
    """The caller of this HTTP request; raises Unauthenticated when there is none."""
    if "caller" in g:
        return g.caller
    raw = request.headers.get("X-Dev-User") if current_app.config["AUTH_MODE"] == "dev" else None
    if not raw:
        raise Unauthenticated("Sign in first: send X-Dev-User: <your email> in dev mode.")
    try:
        email = normalise_email(raw)
    except ValidationError:
        raise Unauthenticated("X-Dev-User is not a valid email address.") from None
    g.caller = caller_for(email)
    return g.caller
