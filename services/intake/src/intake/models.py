"""Intake's tables: requests as submitted, the request history read model, roles, idempotency keys, batch drafts."""
from __future__ import annotations

import peewee

from invite_common.db import UTCDateTimeField, utcnow

from intake.db import BaseModel


class InviteRequest(BaseModel):
    """One invite request as its requester submitted it, with the state approval last reported."""

    id = peewee.CharField(max_length=36, primary_key=True)
    method = peewee.CharField(max_length=32, index=True)
    email = peewee.CharField(max_length=254, index=True)
    user_type = peewee.CharField(max_length=32)
    username = peewee.CharField(max_length=64, null=True)
    first_name = peewee.CharField(max_length=100, default="")
    last_name = peewee.CharField(max_length=100, default="")
    contact_number = peewee.CharField(max_length=20, default="")
    organisation = peewee.CharField(max_length=150, default="")
    department = peewee.CharField(max_length=150, default="")
    seed_onboarding = peewee.BooleanField(default=False)
    offshore = peewee.BooleanField(default=False)
    reason = peewee.TextField()
    requester = peewee.CharField(max_length=254)
    # as approval last reported it (intake.lifecycle asks every question about it)
    state = peewee.CharField(max_length=32, index=True)
    # the last approval event applied, so a late or replayed event cannot move state backwards
    state_seq = peewee.IntegerField(default=0)
    # set (to the actor) when a decision or cancellation was accepted and sent to approval;
    # the conditional update that sets it is what lets exactly one of two racing decisions in
    pending_action = peewee.CharField(max_length=16, null=True)
    pending_actor = peewee.CharField(max_length=254, null=True)
    # the invitee's person key (invite_common.people): amy+x@ and amy@ are one person, so one account
    invitee_key = peewee.CharField(max_length=254, null=True, index=True)
    # unique while the request is open, NULL after: one open request per person (the invitee's
    # person key, despite the name) / username
    open_email = peewee.CharField(max_length=254, null=True, unique=True)
    open_username_key = peewee.CharField(max_length=64, null=True, unique=True)
    batch_id = peewee.CharField(max_length=36, null=True, index=True)
    # The level of approval it waits in while submitted (approvals/levels.py): its name, the role whose
    # holders decide it now (the level's, or its fallback's when every holder is excluded), the
    # requester's organisation domain when only holders there decide, and since when it waits there.
    level = peewee.CharField(max_length=32, null=True)
    # every level it passes, in order, as the policy gave them at submission (names, comma-separated); NULL
    # for a request submitted before levels were recorded
    levels = peewee.TextField(null=True)
    level_role = peewee.CharField(max_length=32, null=True)
    level_agency = peewee.CharField(max_length=254, null=True)
    level_since = UTCDateTimeField(null=True)
    # who decided its earlier levels (and whom they stood in for), as `|key|key|` person keys; the
    # database's default ('') fills it on insert, so a replica that predates it inserts requests too
    deciders = peewee.TextField(null=True)
    # the person an administrator reassigned the level it waits in to (a person key): only they decide it
    assignee = peewee.CharField(max_length=254, null=True, index=True)
    created_at = UTCDateTimeField(default=utcnow, index=True)
    updated_at = UTCDateTimeField(default=utcnow)
    # when retention replaced the request's personal data by pseudonyms
    erased_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "invite_request"
        # the approvers' queue: waiting requests, oldest first, read a page at a time; a requester's
        # requests by age (lists, the daily quota); migration 6 adds the open requests by requester
        indexes = ((("state", "created_at", "id"), False), (("requester", "created_at"), False))


class HistoryEntry(BaseModel):
    """One fact in a request's history, appended unchained and then linked into the one chain of all entries.

    Appending only inserts the row; the history linker later fills `chain_seq` (the entry's place
    in the chain), `salt`, `personal_digest`, `actor_ref`, `prev_hash` and `hash` (audit/chain.py).
    """

    id = peewee.AutoField()
    request_id = peewee.CharField(max_length=36, index=True)
    event = peewee.CharField(max_length=32)
    from_state = peewee.CharField(max_length=32, null=True)
    to_state = peewee.CharField(max_length=32, null=True)
    actor = peewee.CharField(max_length=254)
    note = peewee.TextField(default="")
    details = peewee.TextField(default="{}")
    at = UTCDateTimeField()
    # approval's sequence number of the transition, so a redelivered event is recorded once
    source_seq = peewee.IntegerField(null=True)
    # the message that brought the entry: a redelivered message never adds a second one
    message_id = peewee.CharField(max_length=36, null=True, unique=True)
    chain_seq = peewee.BigIntegerField(null=True, unique=True)
    # random per entry; the digest of the personal fields is salted with it so that, once
    # retention erases the fields and the salt, the digest cannot be matched against guesses
    salt = peewee.CharField(max_length=32, null=True)
    personal_digest = peewee.CharField(max_length=64, null=True)
    # a keyed pseudonym of the actor, committed by the chain; what is shown once the actor is erased
    actor_ref = peewee.CharField(max_length=40, null=True)
    prev_hash = peewee.CharField(max_length=64, null=True)
    hash = peewee.CharField(max_length=64, null=True, unique=True)

    class Meta:
        table_name = "history_entry"
        indexes = ((("request_id", "source_seq"), True), (("at", "id"), False), (("actor", "event", "request_id"), False))


class ChainHead(BaseModel):
    """A signed statement of the chain's last entry at a moment: what makes cutting entries off the end visible."""

    seq = peewee.BigIntegerField(primary_key=True)
    hash = peewee.CharField(max_length=64)
    signed_at = UTCDateTimeField()
    key_id = peewee.CharField(max_length=16)
    signature = peewee.CharField(max_length=128)

    class Meta:
        table_name = "chain_head"


class RoleGrant(BaseModel):
    """A role (approver, auditor) granted to a person, by ROLE_GRANTS or an administrator."""

    email = peewee.CharField(max_length=254)
    role = peewee.CharField(max_length=32)
    granted_at = UTCDateTimeField(default=utcnow)
    granted_by = peewee.CharField(max_length=254, default="ROLE_GRANTS")

    class Meta:
        table_name = "role_grant"
        indexes = ((("email", "role"), True),)


class Delegation(BaseModel):
    """An approver's stand-in for a period: while it runs, the requests at the approver's levels reach the
    stand-in too, and their decisions are recorded as the stand-in's for the approver."""

    id = peewee.CharField(max_length=36, primary_key=True)
    approver = peewee.CharField(max_length=254, index=True)
    stand_in = peewee.CharField(max_length=254, index=True)
    # the deciding roles the approver held when naming the stand-in (some come from the provider's
    # claim, which intake sees only at the approver's own sign-in), space-separated
    roles = peewee.CharField(max_length=200)
    starts_at = UTCDateTimeField()
    ends_at = UTCDateTimeField()
    created_at = UTCDateTimeField(default=utcnow)
    # set when the approver (or an administrator) ends it early
    ended_at = UTCDateTimeField(null=True)
    ended_by = peewee.CharField(max_length=254, null=True)

    class Meta:
        table_name = "delegation"


class TakenUsername(BaseModel):
    """A TechPass username approval has given to an account, learnt from its events."""

    username_key = peewee.CharField(max_length=64, primary_key=True)
    request_id = peewee.CharField(max_length=36)

    class Meta:
        table_name = "taken_username"


class IdempotencyKey(BaseModel):
    """The answer already given to a requester's `Idempotency-Key`, replayed on a retry."""

    requester = peewee.CharField(max_length=254)
    key = peewee.CharField(max_length=200)
    fingerprint = peewee.CharField(max_length=64)
    request_id = peewee.CharField(max_length=36)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "idempotency_key"
        primary_key = peewee.CompositeKey("requester", "key")


class DraftStatus:
    """A batch draft's own status, as the batch API shows it (not a request's state): open to
    review and edit, then submitted whole."""

    OPEN = "draft"
    SUBMITTED = "submitted"


class BatchDraft(BaseModel):
    """One uploaded file of requests, kept until its requester submits it."""

    id = peewee.CharField(max_length=36, primary_key=True)
    requester = peewee.CharField(max_length=254, index=True)
    # a display-safe version of the uploaded name, never used as a path
    filename = peewee.CharField(max_length=255)
    created_at = UTCDateTimeField(default=utcnow)
    submitted_at = UTCDateTimeField(null=True)
    status = peewee.CharField(max_length=16, default=DraftStatus.OPEN)
    unknown_columns = peewee.TextField(default="[]")

    class Meta:
        table_name = "batch_draft"


class BatchRow(BaseModel):
    """One request of a draft: the cells as given, and what is wrong with them."""

    id = peewee.AutoField()
    draft = peewee.ForeignKeyField(BatchDraft, backref="rows", on_delete="CASCADE", index=False)
    # the row number the requester sees in the file (the heading is row 1)
    row = peewee.IntegerField()
    fields = peewee.TextField()
    # the row's own problems (its cells, the field rules, open requests) as {field: [message]}
    errors = peewee.TextField(default="{}")
    # other rows of the draft with the same email or username, as {"email": [row, ...]}
    duplicates = peewee.TextField(default="{}")
    has_errors = peewee.BooleanField(default=False)
    # the email's person key (invite_common.people) and the vendor username's, compared across
    # rows and with open requests
    email_key = peewee.CharField(max_length=254, null=True)
    username_key = peewee.CharField(max_length=64, null=True)

    class Meta:
        table_name = "batch_row"
        indexes = ((("draft", "row"), True),)


class BatchRemoval(BaseModel):
    """Rows just taken out of a draft, kept with everything they held so that taking them out can be undone."""

    id = peewee.CharField(max_length=36, primary_key=True)
    draft = peewee.ForeignKeyField(BatchDraft, backref="removals", on_delete="CASCADE")
    created_at = UTCDateTimeField()
    # the removed rows' stored columns, as a JSON list in file order
    rows = peewee.TextField()
    # how many of them were later copies of a person already in the draft
    duplicate_count = peewee.IntegerField(default=0)

    class Meta:
        table_name = "batch_removal"


class PortalSession(BaseModel):
    """A portal session kept on the server: the cookie holds only a random token, whose hash is the id,
    so signing out (deleting the row) ends the session wherever its cookie is."""

    id = peewee.CharField(max_length=64, primary_key=True)
    email = peewee.CharField(max_length=254, null=True, index=True)
    data = peewee.TextField(default="{}")
    created_at = UTCDateTimeField(default=utcnow)
    last_seen_at = UTCDateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "portal_session"


class DigestRun(BaseModel):
    """One approvers' digest: the stretch of time it covered and what it told them."""

    id = peewee.AutoField()
    # where the previous digest stopped; unique, so two processes cannot send the same digest twice
    covered_from = UTCDateTimeField(unique=True)
    covered_until = UTCDateTimeField(index=True)
    new_count = peewee.IntegerField(default=0)
    expiring_count = peewee.IntegerField(default=0)
    emails = peewee.IntegerField(default=0)

    class Meta:
        table_name = "digest_run"
