"""SEED device enrolment: booking an invitee's device and issuing the code they enrol it with."""
from __future__ import annotations

import abc
import datetime as dt
import secrets
from dataclasses import dataclass

import peewee
from invite_common.db import utcnow
from invite_common.errors import TransientError

from approval.db import database
from approval.models import SeedEnrolment

# No 0/O or 1/I: the code is read off an email and typed by hand.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_PREFIX = "SEED"
CODE_GROUPS, CODE_GROUP_LENGTH = 2, 4
DEFAULT_VALID_DAYS = 14
_MAX_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class Enrolment:
    """A booked SEED enrolment: the code the invitee enters, and until when it works."""

    code: str
    expires_at: dt.datetime
    booked_at: dt.datetime


class EnrolmentUnavailable(TransientError):
    """The enrolment service could not be reached or timed out; booking may succeed later.

    Real enrolment adapters raise it; LocalEnrolment never does.
    """


class DeviceEnrolment(abc.ABC):
    """Books devices for SEED onboarding; once per request, however often it is asked."""

    @abc.abstractmethod
    def book(self, request_id: str, email: str, username: str) -> Enrolment:
        """Book the request's enrolment, or return the one already booked for it.

        Raises EnrolmentUnavailable (transient).
        """


def new_code() -> str:
    """Return a fresh, unguessable enrolment code such as `SEED-7KQ4-M9PX`."""
    groups = (
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH))
        for _ in range(CODE_GROUPS)
    )
    return "-".join((CODE_PREFIX, *groups))


def _enrolment(row: SeedEnrolment) -> Enrolment:
    """Return an enrolment row as the enrolment service's answer."""
    return Enrolment(row.code, row.expires_at, row.booked_at)


class LocalEnrolment(DeviceEnrolment):
    """A device-enrolment service kept in approval's database, for development and single-site use."""

    def __init__(self, valid_days: int = DEFAULT_VALID_DAYS) -> None:
        if valid_days < 1:
            raise ValueError("an enrolment code must stay valid for at least a day")
        self.valid_for = dt.timedelta(days=valid_days)

    def book(self, request_id: str, email: str, username: str) -> Enrolment:
        """Book the request's enrolment, or return the one already booked for it."""
        existing = SeedEnrolment.get_or_none(SeedEnrolment.request_id == request_id)
        if existing is not None:
            return _enrolment(existing)
        for _ in range(_MAX_CODE_ATTEMPTS):
            booked_at = utcnow()
            try:
                with database.atomic():
                    row = SeedEnrolment.create(
                        request_id=request_id, email=email, username=username, code=new_code(),
                        booked_at=booked_at, expires_at=booked_at + self.valid_for,
                    )
                return _enrolment(row)
            except peewee.IntegrityError:
                # Either a concurrent call booked this request, or (rarely) the code was drawn before.
                existing = SeedEnrolment.get_or_none(SeedEnrolment.request_id == request_id)
                if existing is not None:
                    return _enrolment(existing)
        raise RuntimeError("could not draw an unused enrolment code")
