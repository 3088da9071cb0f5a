"""The account directory: where an approved invitee's TechPass account is created."""
from __future__ import annotations

import abc
import datetime as dt
import itertools
import uuid
from dataclasses import dataclass

from invite_common.db import utcnow
from invite_common.errors import PermanentError, TransientError
from invite_common.messages import UserType
from invite_common.people import person_key
from invite_common.statements import Statements

from approval.models import Account
from approval.usernames import derive_username, is_valid_username, numbered

# the account table's statements, built once (see invite_common.statements): every provisioning runs them
accounts = Statements(Account)

_CANDIDATES_PER_QUERY = 20
_MAX_INSERT_ATTEMPTS = 20


@dataclass(frozen=True)
class ProvisionedAccount:
    """An account as the directory holds it."""

    username: str
    account_id: str
    created_at: dt.datetime
    # the request the account was created for, when the directory knows it (None: made elsewhere)
    request_id: str | None = None


class UsernameTaken(PermanentError):
    """The username asked for belongs to another account (compared case-insensitively)."""


class InvalidUsername(PermanentError):
    """The username breaks the TechPass username rules, or a vendor came without one."""


class AccountExists(PermanentError):
    """The directory already holds an account for the invitee's email, made by someone else."""


class DirectoryRefused(PermanentError):
    """The directory refused the account as we described it (a schema or value it does not accept)."""


class DirectoryUnavailable(TransientError):
    """The directory could not be reached or timed out; creating the account may succeed later.

    Real directory adapters raise it; LocalDirectory never does.
    """


class AccountDirectory(abc.ABC):
    """Creates TechPass accounts; once per request, however often it is asked."""

    # True when accounts are kept in approval's own database, so creating one can join the
    # transaction that approves the request; a directory reached over the network cannot.
    provisions_in_transaction = False

    @abc.abstractmethod
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
        """Create the request's account, or return the one already created for it.

        Raises UsernameTaken, InvalidUsername, AccountExists (permanent) or DirectoryUnavailable
        (transient).
        """

    @abc.abstractmethod
    def find_by_email(self, email: str) -> ProvisionedAccount | None:
        """Return the account the directory holds for `email`'s person (its address as given, or
        without a `+tag`: see invite_common.people), if any."""

    def close(self) -> None:
        """Let go of connections to the directory, if it holds any (called when the service stops)."""


def _provisioned(row: Account) -> ProvisionedAccount:
    """Return an account row as the directory's answer."""
    return ProvisionedAccount(row.username, str(row.account_id), row.created_at, row.request_id)


class LocalDirectory(AccountDirectory):
    """An account directory kept in approval's database, for development and single-site use."""

    provisions_in_transaction = True

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
        """Create the request's account, or return the one already created for it."""
        existing = accounts.get(request_id=request_id)
        if existing is not None:
            return _provisioned(existing)
        if username is None and user_type == UserType.VENDOR:
            raise InvalidUsername("a vendor account needs a username")
        if username is not None and not is_valid_username(username):
            raise InvalidUsername("the username breaks the TechPass username rules")
        fields = dict(
            request_id=request_id, email=email, person_key=person_key(email), first_name=first_name,
            last_name=last_name, user_type=user_type,
        )

        for _ in range(_MAX_INSERT_ATTEMPTS):
            chosen = username if username is not None else self._free_username(
                derive_username(email, first_name, last_name))
            row = dict(account_id=uuid.uuid4(), username=chosen, username_key=chosen.lower(), created_at=utcnow(), **fields)
            # insert-or-ignore instead of a savepoint around a plain insert: a concurrent call that
            # won the race, for this very request or for the name, leaves nothing inserted
            if accounts.insert(row, ignore=True) == 1:
                return ProvisionedAccount(chosen, str(row["account_id"]), row["created_at"], request_id)
            existing = accounts.get(request_id=request_id)
            if existing is not None:
                return _provisioned(existing)
            if username is not None:
                raise UsernameTaken("the username is already taken")
        raise RuntimeError("could not pick a free username under concurrent sign-ups")

    def find_by_email(self, email: str) -> ProvisionedAccount | None:
        """Return the oldest account held for `email`'s person, if any."""
        columns = ("username", "account_id", "created_at", "request_id")

        def build(param: str, postgres: bool) -> str:
            cols = ", ".join(accounts.column(c) for c in columns)
            # an account the previous version made during a rollout has no key: its address is
            # compared, lower(email) as the index account_email_lower has it
            return (f'SELECT {cols} FROM "{accounts.table}" WHERE {accounts.column("person_key")} = {param} '
                    f'OR ({accounts.column("person_key")} IS NULL AND lower({accounts.column("email")}) = {param}) '
                    f'ORDER BY {accounts.column("created_at")} LIMIT 1')

        found = accounts.execute(accounts.sql(("by_person",), build), (person_key(email), email.strip().lower())).fetchone()
        if found is None:
            return None
        return _provisioned(accounts.instance(columns, found))

    @staticmethod
    def _free_username(base: str) -> str:
        """Return the first of base, base2, base3, ... that no account holds."""
        names = numbered(base)
        while True:
            batch = list(itertools.islice(names, _CANDIDATES_PER_QUERY))

            def build(param: str, postgres: bool) -> str:
                marks = ", ".join(param for _ in batch)
                return f'SELECT {accounts.column("username_key")} FROM "{accounts.table}" WHERE {accounts.column("username_key")} IN ({marks})'

            sql = accounts.sql(("taken", len(batch)), build)
            taken = {row[0] for row in accounts.execute(sql, [name.lower() for name in batch])}
            for name in batch:
                if name.lower() not in taken:
                    return name

