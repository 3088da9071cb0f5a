"""Who already holds a TechPass account in the directory, asked before a request is accepted.

Accounts made through this system are known from intake's own requests; an account made some
other way exists only in the directory (a SCIM 2.0 service, `DIRECTORY_URL`). Intake only reads
it: a search by email, many emails to a query. Approval still looks again before it creates an
account, so a directory that cannot be reached at submit time delays nothing and doubles nothing:
the request is accepted and the account check happens at provisioning, as it always does.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Protocol

import requests

from invite_common.people import person_key

log = logging.getLogger(__name__)

# emails per search: a filter of this many `or` terms stays well inside a URL's usual 8 KB
EMAILS_PER_QUERY = 20
SCIM_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class DirectoryLookup(Protocol):
    def holders(self, emails: Iterable[str]) -> set[str]:
        """Return which of these (lower-case) emails hold an account in the directory."""


class NoDirectory:
    """The local directory: every account in it was made through this system, so intake knows them all."""

    def holders(self, emails: Iterable[str]) -> set[str]:
        return set()


class LookupFailed(Exception):
    """The directory could not be asked, or answered something that is not a SCIM list."""


def _quoted(value: str) -> str:
    # a SCIM filter's value is a JSON string (RFC 7644 section 3.4.2.2): quotes and backslashes escaped
    return json.dumps(value)


class ScimLookup:
    """Searches a SCIM 2.0 directory's users by email (`emails.value eq ...`, joined with `or`)."""

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
        params = {"filter": scim_filter, "attributes": "emails", "count": str(len(emails) * 5)}
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
        held: set[str] = set()
        for user in body.get("Resources") or []:
            for address in (user.get("emails") or []) if isinstance(user, dict) else []:
                value = address.get("value") if isinstance(address, dict) else None
                if isinstance(value, str):
                    held.add(value.strip().lower())
        return held

    def close(self) -> None:
        self.session.close()


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
