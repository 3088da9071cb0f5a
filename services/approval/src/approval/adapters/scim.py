"""An account directory that speaks SCIM 2.0 (RFC 7643/7644) to an identity provider.

Creating an account is made safe to repeat by looking before writing: every attempt first asks
for a user whose `externalId` is our request id (a create whose answer was lost already made
it), then for a user holding the invitee's email (someone else's account: a permanent refusal),
then for the username. Only then does it POST. So a retried request, or a second replica
handling a redelivered message, finds the user instead of making a second one.

What is retried: timeouts, connection failures, 5xx and 429 answers (waiting as `Retry-After`
says when the wait is short), a few times in process, then `DirectoryUnavailable` hands the
message to the consumer's delay queues and, once those are used up, the request is `failed`
with the error for an operator to retry. What is not: a username taken (409), an existing
account for the email, a refused attribute; those fail the request at once with the reason.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import json
import logging
import time
from typing import Callable, TypeVar

import httpx2
import pydantic
from invite_common.db import utcnow
from invite_common.messages import UserType
from invite_common.people import person_key
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_client.errors import RequestNetworkException, SCIMClientException
from scim2_models import (
    ConflictException, Email, EnterpriseUser, ListResponse, Name, PhoneNumber, ResourceType, SCIMException,
    ScimProvider, SearchRequest, UnauthorizedException, ForbiddenException, User,
)

from approval.adapters.directory import (
    AccountDirectory, AccountExists, DirectoryRefused, DirectoryUnavailable, InvalidUsername,
    ProvisionedAccount, UsernameTaken,
)
from approval.usernames import derive_username, is_valid_username, numbered

log = logging.getLogger(__name__)

T = TypeVar("T")
ScimUser = User[EnterpriseUser]
USER_TYPES = {UserType.PUBLIC_OFFICER: "Public Officer", UserType.VENDOR: "Vendor"}

_CANDIDATES_PER_QUERY = 10
_MAX_NAME_RACES = 5


class DirectoryBusy(Exception):
    """The directory answered 429 or 5xx: it may take the request later."""

    def __init__(self, status: int, retry_after: float | None):
        super().__init__(f"the directory answered {status}")
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Read a `Retry-After` header (seconds, or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - (now or utcnow())).total_seconds())


class _Client(SyncSCIMClient):
    """scim2-client over httpx2 that turns 429 and 5xx answers into DirectoryBusy before parsing."""

    def request(self, method: str, url: str, **kwargs):
        response = super().request(method, url, **kwargs)
        if response.status_code == 429 or response.status_code >= 500:
            raise DirectoryBusy(response.status_code, retry_after_seconds(response.headers.get("Retry-After")))
        return response


def _quoted(value: str) -> str:
    """Quote a value for a SCIM filter: its grammar takes a JSON string (RFC 7644 section 3.4.2.2)."""
    return json.dumps(value)


class ScimDirectory(AccountDirectory):
    """Creates TechPass accounts as SCIM users in an identity provider."""

    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.5,
        max_wait: float = 10.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx2.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        provider = ScimProvider(models=[User, EnterpriseUser], resource_types=[ResourceType.from_resource(ScimUser)])
        self.scim = _Client(self.http, provider=provider)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_wait = max_wait

    def close(self) -> None:
        """Close the pooled connections to the directory."""
        self.http.close()

    # the interface ----------------------------------------------------------------------------
    def find_by_email(self, email: str) -> ProvisionedAccount | None:
        """Return an account the directory holds for `email`'s person (as given, or without its `+tag`), if any."""
        addresses = sorted({email.strip(), person_key(email)})
        scim_filter = " or ".join(f"emails.value eq {_quoted(address)}" for address in addresses)
        found = self._retrying(lambda: self._search(scim_filter))
        return self._provisioned(found[0]) if found else None

    def create_account(
        self,
        request_id: str,
        username: str | None,
        email: str,
        first_name: str,
        last_name: str,
        user_type: str,
        *,
        organisation: str = "",
        department: str = "",
        contact_number: str = "",
    ) -> ProvisionedAccount:
        """Create the request's user in the directory, or return the one already made for it."""
        if username is None and user_type == UserType.VENDOR:
            raise InvalidUsername("a vendor account needs a username")
        if username is not None and not is_valid_username(username):
            raise InvalidUsername("the username breaks the TechPass username rules")

        def user(name: str) -> ScimUser:
            return self._user(request_id, name, email, first_name, last_name, user_type,
                              organisation, department, contact_number)

        return self._retrying(lambda: self._ensure(request_id, username, email, first_name, last_name, user))

    # the steps of one attempt -----------------------------------------------------------------
    def _ensure(self, request_id, username, email, first_name, last_name, user) -> ProvisionedAccount:
        for _ in range(_MAX_NAME_RACES):
            mine = self._search(f"externalId eq {_quoted(request_id)}")
            if mine:
                return self._provisioned(mine[0])
            holders = self._search(f"emails.value eq {_quoted(email)}")
            # ours if it carries our request id: another attempt's create landed after our first look
            for holder in holders:
                if holder.external_id == request_id:
                    return self._provisioned(holder)
            if holders:
                raise AccountExists("the directory already holds an account for this email")
            if username is not None:
                if self._search(f"userName eq {_quoted(username)}"):
                    raise UsernameTaken("the username is already taken in the directory")
                chosen = username
            else:
                chosen = self._free_username(derive_username(email, first_name, last_name))
            try:
                created = self.scim.create(user(chosen))
            except ConflictException:
                # Someone took the name between our look and our write; a derived name can move on
                # to the next number, one asked for cannot. Our own earlier create is looked for first.
                if username is not None and not self._search(f"externalId eq {_quoted(request_id)}"):
                    raise UsernameTaken("the username is already taken in the directory") from None
                continue
            log.info("account created in the directory", extra={"request_id": request_id})
            return self._provisioned(created)
        raise DirectoryUnavailable("could not settle on a free username while others were signing up")

    def _free_username(self, base: str) -> str:
        """Return the first of base, base2, base3, ... the directory does not hold."""
        names = numbered(base)
        while True:
            batch = list(itertools.islice(names, _CANDIDATES_PER_QUERY))
            query = " or ".join(f"userName eq {_quoted(name)}" for name in batch)
            taken = {str(u.user_name).lower() for u in self._search(query)}
            for name in batch:
                if name.lower() not in taken:
                    return name

    def _search(self, scim_filter: str) -> list[ScimUser]:
        """Return the users matching a SCIM filter."""
        response = self.scim.query(ScimUser, query_parameters=SearchRequest(filter=scim_filter, count=50))
        if not isinstance(response, ListResponse):
            raise DirectoryRefused("the directory answered a search with something other than a list")
        return list(response.resources or [])

    @staticmethod
    def _user(request_id, username, email, first_name, last_name, user_type,
              organisation, department, contact_number) -> ScimUser:
        """Map our invitee to SCIM's core and enterprise user attributes."""
        full_name = " ".join(x for x in (first_name, last_name) if x)
        user = ScimUser(
            user_name=username,
            external_id=request_id,
            display_name=full_name or None,
            name=Name(given_name=first_name or None, family_name=last_name or None, formatted=full_name or None),
            emails=[Email(value=email, type="work", primary=True)],
            phone_numbers=[PhoneNumber(value=contact_number, type="work")] if contact_number else None,
            user_type=USER_TYPES.get(user_type, user_type),
            active=True,
        )
        if organisation or department:
            user[EnterpriseUser] = EnterpriseUser(organization=organisation or None, department=department or None)
        return user

    @staticmethod
    def _provisioned(user: ScimUser) -> ProvisionedAccount:
        created = user.meta.created if user.meta is not None and user.meta.created else utcnow()
        return ProvisionedAccount(str(user.user_name), str(user.id), created.astimezone(dt.timezone.utc))

    # retries ------------------------------------------------------------------------------------
    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run `attempt`, again after a short wait when the directory is slow, down or busy."""
        last: Exception | None = None
        for n in range(self.attempts):
            try:
                return attempt()
            except DirectoryBusy as exc:
                last, wait = exc, exc.retry_after
            except RequestNetworkException as exc:
                last, wait = exc, None
            except (UnauthorizedException, ForbiddenException) as exc:
                # Credentials are fixed by an operator, not by waiting here; the consumer's retries
                # give them time before the request is marked failed.
                raise DirectoryUnavailable(f"the directory refused our credentials ({exc.status})") from exc
            except SCIMException as exc:
                raise DirectoryRefused(f"the directory refused the request: {exc}") from exc
            except pydantic.ValidationError as exc:
                fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
                raise DirectoryRefused(f"the account does not fit the directory's schema: {fields}") from exc
            except SCIMClientException as exc:
                raise DirectoryUnavailable(f"the directory gave an answer we cannot read: {exc}") from exc
            wait = self.backoff * 2**n if wait is None else wait
            if wait > self.max_wait or n + 1 == self.attempts:
                break
            log.warning("directory not answering, trying again", extra={"error": str(last), "in_seconds": wait})
            time.sleep(wait)
        raise DirectoryUnavailable(f"the directory is unavailable: {_describe(last)}")


def _describe(exc: Exception | None) -> str:
    if isinstance(exc, RequestNetworkException) and exc.__cause__ is not None:
        return f"{type(exc.__cause__).__name__}: {exc.__cause__}" if str(exc.__cause__) else type(exc.__cause__).__name__
    return str(exc)
