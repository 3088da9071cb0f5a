"""Who already holds a TechPass account in the directory, asked before a request is accepted.

Accounts made through this system are known from intake's own requests; an account made some
other way exists only in the directory (a SCIM 2.0 service, `DIRECTORY_URL`). Intake only reads
it: a search by email, many emails to a query. Approval still looks again before it creates an
account, so a directory that cannot be reached at submit time delays nothing and doubles nothing:
the request is accepted and the account check happens at provisioning, as it always does.

The Roles page also reads it: who a person is (name, organisation) before a role is granted, and the
people whose username, email or name starts with what an administrator types.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import requests

from invite_common.people import person_key

log = logging.getLogger(__name__)

# emails per search: a filter of this many `or` terms stays well inside a URL's usual 8 KB
EMAILS_PER_QUERY = 20
SCIM_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# what the Roles page shows of a person: no phone number, no more than it needs
PERSON_ATTRIBUTES = f"userName,displayName,name,emails,{ENTERPRISE_USER}:organization"


@dataclass(frozen=True)
class DirectoryPerson:
    """Who holds an account in the directory, as the Roles page shows them."""

    email: str
    name: str = ""
    organisation: str = ""


class DirectoryLookup(Protocol):
    def holders(self, emails: Iterable[str]) -> set[str]:
        """Return which of these (lower-case) emails hold an account in the directory."""

    def person(self, email: str) -> DirectoryPerson | None:
        """Return the account holder of this (lower-case) email, or None."""

    def people_starting(self, prefix: str, limit: int) -> list[DirectoryPerson]:
        """Return up to `limit` people whose username, email, given or family name starts with `prefix`."""


class NoDirectory:
    """The local directory: every account in it was made through this system, so intake knows them all."""

    def holders(self, emails: Iterable[str]) -> set[str]:
        return set()

    def person(self, email: str) -> DirectoryPerson | None:
        return None

    def people_starting(self, prefix: str, limit: int) -> list[DirectoryPerson]:
        return []


class LookupFailed(Exception):
    """The directory could not be asked, or answered something that is not a SCIM list."""


def _quoted(value: str) -> str:
    # a SCIM filter's value is a JSON string (RFC 7644 section 3.4.2.2): quotes and backslashes escaped
    return json.dumps(value)


class ScimLookup:
    """Searches a SCIM 2.0 directory's users by email (`emails.value eq ...`, joined with `or`), and by
    the start of a username, email or name (`sw`) for the Roles page."""

    def __init__(self, base_url: str, token: str = "", *, timeout: float = 3.0) -> None:
        self.url = base_url.rstrip("/") + "/Users"
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/scim+json, application/json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def holders(self, emails: Iterable[str]) -> set[str]:
        wanted = sorted({e.strip().lower() for e in emails if e and e.strip()})
        found: set[str] = set()
        for start in range(0, len(wanted), EMAILS_PER_QUERY):
            chunk = wanted[start:start + EMAILS_PER_QUERY]
            found |= self._search(chunk) & set(chunk)
        return found

    def _search(self, emails: list[str]) -> set[str]:
        scim_filter = " or ".join(f"emails.value eq {_quoted(e)}" for e in emails)
        held: set[str] = set()
        for user in self._users({"filter": scim_filter, "attributes": "emails", "count": str(len(emails) * 5)}):
            held |= set(_addresses(user))
        return held

    def person(self, email: str) -> DirectoryPerson | None:
        wanted = email.strip().lower()
        users = self._users({"filter": f"emails.value eq {_quoted(wanted)}", "attributes": PERSON_ATTRIBUTES,
                             "count": "5"})
        return next((_person(user, wanted) for user in users if wanted in _addresses(user)), None)

    def people_starting(self, prefix: str, limit: int) -> list[DirectoryPerson]:
        value = _quoted(prefix.strip().lower())
        scim_filter = " or ".join(f"{attribute} sw {value}" for attribute in
                                  ("userName", "emails.value", "name.givenName", "name.familyName"))
        users = self._users({"filter": scim_filter, "attributes": PERSON_ATTRIBUTES, "count": str(limit)})
        people = [_person(user, prefix.strip().lower()) for user in users if _addresses(user)]
        return people[:limit]

    def _users(self, params: dict[str, str]) -> list[dict]:
        """The users a search finds; LookupFailed when the directory cannot say."""
        try:
            response = self.session.get(self.url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise LookupFailed(f"the directory could not be reached ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise LookupFailed(f"the directory answered a search with {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise LookupFailed("the directory answered a search with something other than JSON") from None
        if not isinstance(body, dict) or SCIM_LIST not in body.get("schemas", []):
            raise LookupFailed("the directory answered a search with something other than a SCIM list")
        return [user for user in body.get("Resources") or [] if isinstance(user, dict)]

    def close(self) -> None:
        self.session.close()


def _addresses(user: dict) -> list[str]:
    """A SCIM user's email addresses, lower-case, the primary one first."""
    found = [a for a in user.get("emails") or [] if isinstance(a, dict) and isinstance(a.get("value"), str)]
    found.sort(key=lambda a: a.get("primary") is not True)
    return [a["value"].strip().lower() for a in found]


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _person(user: dict, prefix: str) -> DirectoryPerson:
    """Who a SCIM user is: the address that starts with what was typed (else the primary one), their
    name as the directory formats it, and their organisation (the enterprise extension's)."""
    addresses = _addresses(user)
    email = next((a for a in addresses if a.startswith(prefix)), addresses[0])
    name = user.get("name") if isinstance(user.get("name"), dict) else {}
    full = (_text(name.get("formatted")) or _text(user.get("displayName"))
            or " ".join(p for p in (_text(name.get("givenName")), _text(name.get("familyName"))) if p))
    enterprise = user.get(ENTERPRISE_USER) if isinstance(user.get(ENTERPRISE_USER), dict) else {}
    return DirectoryPerson(email=email, name=full, organisation=_text(enterprise.get("organization")))


_LOCAL = NoDirectory()


def current() -> DirectoryLookup:
    """The running app's lookup (set up from DIRECTORY_URL); the local directory outside an app."""
    from flask import current_app, has_app_context

    return current_app.extensions.get("directory", _LOCAL) if has_app_context() else _LOCAL


def configured() -> bool:
    """Whether accounts live in an outside directory that intake must ask."""
    return not isinstance(current(), NoDirectory)


def lookup_for(directory_url: str, token: str, timeout: float) -> DirectoryLookup:
    """The lookup for these settings: the SCIM directory when one is set, else the local one."""
    return ScimLookup(directory_url, token, timeout=timeout) if directory_url else NoDirectory()


def people_holding(emails: Iterable[str]) -> set[str]:
    """The person keys (invite_common.people) of these emails whose person holds an account in the
    directory, asked for by the address as typed and without its `+tag`."""
    typed = {e for e in emails if e}
    return {person_key(e) for e in holders(typed | {person_key(e) for e in typed})}


def person(email: str) -> DirectoryPerson | None:
    """The directory's account holder of this email, or None (also when the directory cannot answer,
    which is logged: the page then shows what intake itself knows)."""
    if not configured():
        return None
    try:
        return current().person(email)
    except LookupFailed as exc:
        log.warning("directory lookup of a person skipped", extra={"error": str(exc)})
        return None


def holders(emails: Iterable[str]) -> set[str]:
    """Ask the directory which of these emails hold an account; when it cannot answer, say none
    (provisioning looks again before creating anything) and log why."""
    if not configured():
        return set()
    try:
        return current().holders(emails)
    except LookupFailed as exc:
        log.warning("directory lookup skipped: provisioning will check for an existing account",
                    extra={"error": str(exc)})
        return set()
