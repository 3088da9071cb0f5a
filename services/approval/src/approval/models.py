"""Approval's tables: each request's authoritative record and transition log, and the local adapters' accounts and SEED bookings."""
from __future__ import annotations

import uuid

import peewee

from invite_common.db import UTCDateTimeField, utcnow

from approval.db import BaseModel
from approval.usernames import USERNAME_MAX


class InviteRequest(BaseModel):
    """One request as approval knows it: who asked, for whom, and where it stands."""

    id = peewee.CharField(max_length=64, primary_key=True)
    method = peewee.CharField(max_length=32)
    requester = peewee.CharField(max_length=320)
    email = peewee.CharField(max_length=320)
    user_type = peewee.CharField(max_length=32)
    username = peewee.CharField(max_length=64, null=True)
    first_name = peewee.CharField(default="")
    last_name = peewee.CharField(default="")
    organisation = peewee.CharField(default="")
    department = peewee.CharField(default="")
    contact_number = peewee.CharField(max_length=32, default="")
    seed_onboarding = peewee.BooleanField(default=False)
    offshore = peewee.BooleanField(default=False)
    state = peewee.CharField(max_length=32, index=True)
    # the levels of approval it passes, in order, fixed at submission (invite_common.approval_policy):
    # one name a line, a level an auto-approval rule approved written `name=rule name`
    levels = peewee.TextField(default="approval")
    # which of them it waits in (0 for the first) while it is submitted
    level = peewee.IntegerField(default=0)
    # who decided its earlier levels (and whom they stood in for), as person keys, one per line: none of
    # them decides another level
    deciders = peewee.TextField(default="")
    failed_from = peewee.CharField(max_length=32, null=True)
    seq = peewee.IntegerField(default=0)
    invitation_sends = peewee.IntegerField(default=0)
    submitted_at = UTCDateTimeField()
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "invite_request"


class Transition(BaseModel):
    """One move of a request's state: who or what caused it, when, and why."""

    request = peewee.ForeignKeyField(InviteRequest, backref="transitions", on_delete="CASCADE")
    seq = peewee.IntegerField()
    from_state = peewee.CharField(max_length=32, null=True)
    to_state = peewee.CharField(max_length=32)
    verb = peewee.CharField(max_length=32)
    actor = peewee.CharField(max_length=320)
    note = peewee.TextField(default="")
    at = UTCDateTimeField(default=utcnow)
    caused_by = peewee.CharField(max_length=36, null=True)

    class Meta:
        table_name = "transition"
        indexes = ((("request", "seq"), True),)


class Account(BaseModel):
    """A TechPass account held in approval's own database by LocalDirectory."""

    account_id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    username = peewee.CharField(max_length=USERNAME_MAX)
    # Lower-cased username: its unique index makes `Jane.Tan` and `jane.tan` the same name.
    username_key = peewee.CharField(max_length=USERNAME_MAX, unique=True)
    email = peewee.CharField(max_length=320)
    # the email's person key (invite_common.people): one account per person, whatever +tag was typed
    person_key = peewee.CharField(max_length=320, null=True, index=True)
    first_name = peewee.CharField()
    last_name = peewee.CharField()
    user_type = peewee.CharField(max_length=32)
    request_id = peewee.CharField(max_length=64, unique=True)
    created_at = UTCDateTimeField()

    class Meta:
        table_name = "account"


class SeedEnrolment(BaseModel):
    """A SEED enrolment held in approval's own database by LocalEnrolment."""

    request_id = peewee.CharField(max_length=64, unique=True)
    email = peewee.CharField(max_length=320)
    username = peewee.CharField(max_length=64)
    code = peewee.CharField(max_length=32, unique=True)
    booked_at = UTCDateTimeField()
    expires_at = UTCDateTimeField()

    class Meta:
        table_name = "seed_enrolment"
