"""Who an email address belongs to, as every service must answer it alike.

Mail systems (Exchange Online, Gmail, Postfix) deliver `amy+anything@tech.gov.sg` to
`amy@tech.gov.sg`, so for "is this the same person" (self-invitation, separation of duties, one
open request and one account per person) two addresses are compared by their person key: the
address lower-cased, its domain in IDNA (ASCII) form and a `+tag` taken off the part before the @.
Dots are kept (`a.tan` and `atan` may be two people). Mail still goes to the address as typed.

A public officer is a person whose address is in ORG_EMAIL_DOMAINS: a domain covers its
subdomains at a label boundary (`x@tech.gov.sg` yes, `x@evilgov.sg` and `x@gov.sg.evil.com` no).
"""
from __future__ import annotations

from collections.abc import Iterable

import idna


def _ascii_domain(domain: str) -> str:
    domain = domain.strip().lower()
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        # not a domain mail can reach; kept as it is, it equals no valid address's domain
        return domain


def person_key(email: str) -> str:
    """The key two addresses of one person share: lower-cased, IDNA domain, without a `+tag`."""
    local, at, domain = email.strip().rpartition("@")
    if not at:
        return email.strip().lower()
    base, plus, _ = local.partition("+")
    # an address that is all tag ("+x@...") has no base to fall back on: it stays as it is
    local = base if plus and base else local
    return f"{local.lower()}@{_ascii_domain(domain)}"


def same_person(first: str, second: str) -> bool:
    """Tell whether two addresses reach the same person (see `person_key`)."""
    return person_key(first) == person_key(second)


def parse_domains(raw: str) -> tuple[str, ...]:
    """ORG_EMAIL_DOMAINS ("gov.sg, other.sg") as lower-case IDNA domains, in order, without repeats."""
    found: list[str] = []
    for part in raw.split(","):
        domain = _ascii_domain(part).strip(".")
        if domain and domain not in found:
            found.append(domain)
    return tuple(found)


def in_domains(domain: str, domains: Iterable[str]) -> bool:
    """Tell whether a domain is one of `domains` or a subdomain of one (at a label boundary)."""
    domain = _ascii_domain(domain)
    return any(domain == d or domain.endswith("." + d) for d in domains)


def is_public_officer(email: str, org_domains: Iterable[str]) -> bool:
    """Tell whether the address is a public officer's: its domain is in the organisation's domains."""
    local, at, domain = email.strip().rpartition("@")
    return bool(at and local) and in_domains(domain, org_domains)
