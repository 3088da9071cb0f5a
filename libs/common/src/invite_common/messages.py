"""The message envelope and one marshmallow schema per message type: the services' shared language.

Commands are named as orders (`approval.decide`), events as past facts (`invite.submitted`).
Payloads carry ids and only the fields their consumer needs.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from invite_common.errors import PermanentError


class MalformedMessage(PermanentError):
    """A body that is not a valid envelope, or whose payload breaks its type's schema."""


class UnknownMessageType(PermanentError):
    """A type/version pair no schema exists for."""


class _Strict(Schema):
    class Meta:
        unknown = RAISE


# The wire vocabulary: values that travel in payloads, named once here. Every service uses
# these names instead of the strings; only the approval service gives states meaning.
class State:
    """The request lifecycle's states (the approval service's table says how they connect)."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ACCOUNT_CREATED = "account_created"
    SEED_REQUESTED = "seed_requested"
    EMAILED = "emailed"
    FAILED = "failed"
    # a failed request an operator closed with a reason, instead of retrying it
    CLOSED = "closed"
    ALL = (SUBMITTED, APPROVED, REJECTED, CANCELLED, EXPIRED, ACCOUNT_CREATED, SEED_REQUESTED, EMAILED, FAILED, CLOSED)
    # over for good: `failed` is absent because an operator's retry brings it back to life
    FINAL = frozenset({REJECTED, CANCELLED, EXPIRED, EMAILED, CLOSED})


class Verb:
    """What moved a request from one state to the next (`invite.state_changed`'s `verb`)."""

    APPROVE = "approve"
    # one level of several approved, the request waits in the next (`details`: level, next_level)
    APPROVE_LEVEL = "approve_level"
    REJECT = "reject"
    CANCEL = "cancel"
    EXPIRE = "expire"
    PROVISION = "provision"
    REQUEST_SEED = "request_seed"
    MARK_EMAILED = "mark_emailed"
    FAIL = "fail"
    RETRY = "retry"
    # an operator gives a failed request up, with a reason, instead of retrying it
    CLOSE = "close"
    # an emailed invitation delivered again (the state stays emailed)
    RESEND = "resend"
    ALL = (APPROVE, APPROVE_LEVEL, REJECT, CANCEL, EXPIRE, PROVISION, REQUEST_SEED, MARK_EMAILED, FAIL, RETRY, CLOSE,
           RESEND)


class Step:
    """The automatic steps of an approved request (`approval.advance`'s `step`)."""

    PROVISION = Verb.PROVISION
    REQUEST_SEED = Verb.REQUEST_SEED
    ALL = (PROVISION, REQUEST_SEED)


class Decision:
    """An approver's decision (`approval.decide`'s `decision`)."""

    APPROVE = Verb.APPROVE
    REJECT = Verb.REJECT
    ALL = (APPROVE, REJECT)
    # what `invite.decision_refused` may also name: the requester's own actions
    CANCEL = Verb.CANCEL
    RESEND = Verb.RESEND


class Template:
    """The emails there are (`notifier.send_email`'s `template`), named once; the notifier has one of each.

    Only an invitation's delivery moves its request on (to `emailed`, or records a `resend`); a
    notice tells someone of a move already made, and its delivery changes no request.
    """

    INVITATION = "invitation"
    INVITATION_SEED = "invitation_seed"  # an invitation with the SEED enrolment code
    REJECTION_NOTICE = "rejection_notice"
    EXPIRY_NOTICE = "expiry_notice"
    CLOSURE_NOTICE = "closure_notice"  # to the requester, when an operator closes their failed request
    INVITATION_SENT_NOTICE = "invitation_sent_notice"  # to the requester, once their invitation is out
    APPROVER_DIGEST = "approver_digest"  # sent by intake, about no one request
    ALL = (INVITATION, INVITATION_SEED, REJECTION_NOTICE, EXPIRY_NOTICE, CLOSURE_NOTICE, INVITATION_SENT_NOTICE,
           APPROVER_DIGEST)
    INVITATIONS = frozenset({INVITATION, INVITATION_SEED})


class Method:
    """How an invitee gets an account."""

    EMAIL_INVITATION = "email_invitation"
    CREATE_ACCOUNT = "create_account"
    ALL = (EMAIL_INVITATION, CREATE_ACCOUNT)


class UserType:
    """Who the invitee is."""

    PUBLIC_OFFICER = "public_officer"
    VENDOR = "vendor"
    ALL = (PUBLIC_OFFICER, VENDOR)
    # A vendor's TechPass username (chosen at request time) starts with this, and the username a
    # public officer is given (derived from the email at provisioning) never does: no vendor can
    # hold the name an officer would be given, whenever that officer comes to be invited.
    VENDOR_USERNAME_PREFIX = "v-"


# Message type names.
INVITE_SUBMITTED = "invite.submitted"
INVITE_CANCELLED = "invite.cancelled"
INVITE_RESEND_REQUESTED = "invite.resend_requested"
APPROVAL_DECIDE = "approval.decide"
APPROVAL_ADVANCE = "approval.advance"
INVITE_STATE_CHANGED = "invite.state_changed"
INVITE_DECISION_REFUSED = "invite.decision_refused"
NOTIFIER_SEND_EMAIL = "notifier.send_email"
EMAIL_SENT = "email.sent"
EMAIL_FAILED = "email.failed"


def _email():
    return fields.String(required=True, validate=validate.Length(min=3, max=254))


class InviteSubmitted(_Strict):
    """intake → approval: a requester asked for an account; what approval needs to decide and provision."""

    request_id = fields.String(required=True)
    method = fields.String(required=True, validate=validate.OneOf(Method.ALL))
    requester = _email()
    email = _email()
    user_type = fields.String(required=True, validate=validate.OneOf(UserType.ALL))
    username = fields.String(load_default=None, allow_none=True)
    first_name = fields.String(load_default="", allow_none=True)
    last_name = fields.String(load_default="", allow_none=True)
    organisation = fields.String(load_default="", allow_none=True)
    # for the directory's enterprise and phone attributes; absent from older producers' messages
    department = fields.String(load_default="", allow_none=True)
    contact_number = fields.String(load_default="", allow_none=True)
    seed_onboarding = fields.Boolean(required=True)
    offshore = fields.Boolean(load_default=False)
    submitted_at = fields.String(required=True)


class InviteCancelled(_Strict):
    """intake → approval: the requester withdrew a pending request."""

    request_id = fields.String(required=True)
    actor = _email()


class InviteResendRequested(_Strict):
    """intake → approval: the requester asked for an emailed invitation to be sent again."""

    request_id = fields.String(required=True)
    actor = _email()


class ApprovalDecide(_Strict):
    """intake → approval (command): an approver decided on a pending request."""

    request_id = fields.String(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(Decision.ALL))
    actor = _email()
    comment = fields.String(load_default="", allow_none=True)
    reason = fields.String(load_default="", allow_none=True)
    # the level intake let the actor decide: a decision for a level the request has left is refused
    level = fields.String(load_default=None, allow_none=True)
    # the approver the actor stands in for (a delegation): both are held to separation of duties
    on_behalf_of = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=3, max=254))


class ApprovalAdvance(_Strict):
    """approval → approval (command): run the next automatic step of an approved request."""

    request_id = fields.String(required=True)
    step = fields.String(required=True, validate=validate.OneOf(Step.ALL))


class StateStep(_Strict):
    """One move of a request's state: its sequence number, from where to where, by what, by whom, when."""

    seq = fields.Integer(required=True)
    from_state = fields.String(required=True, allow_none=True)
    to_state = fields.String(required=True)
    verb = fields.String(required=True)
    actor = fields.String(required=True)
    note = fields.String(load_default="", allow_none=True)
    changed_at = fields.String(required=True)
    details = fields.Dict(keys=fields.String(), load_default=dict)


class InviteStateChanged(StateStep):
    """approval → everyone: the authoritative state of a request moved.

    `then` lists the moves that followed in the same transaction (approve, then provision), in
    order: one event for them all instead of one each.
    """

    request_id = fields.String(required=True)
    then = fields.List(fields.Nested(StateStep), load_default=list)


class InviteDecisionRefused(_Strict):
    """approval → intake: a decision or cancellation intake accepted could not be applied."""

    request_id = fields.String(required=True)
    decision = fields.String(required=True)
    actor = fields.String(required=True)
    error = fields.String(required=True)


class NotifierSendEmail(_Strict):
    """approval → notifier (command): send one templated email for a request."""

    request_id = fields.String(required=True)
    template = fields.String(required=True)
    to = _email()
    send_key = fields.String(required=True)
    context = fields.Dict(keys=fields.String(), required=True)


class EmailSent(_Strict):
    """notifier → approval: the SMTP server accepted the email."""

    request_id = fields.String(required=True)
    template = fields.String(required=True)
    send_key = fields.String(required=True)
    smtp_message_id = fields.String(required=True)


class EmailFailed(_Strict):
    """notifier → approval: the email could not be delivered (permanently, or after its retries)."""

    request_id = fields.String(required=True)
    template = fields.String(required=True)
    send_key = fields.String(required=True)
    error = fields.String(required=True)
    permanent = fields.Boolean(required=True)


@dataclass(frozen=True)
class MessageType:
    """A message type's contract: its schema and the service that publishes it."""

    name: str
    version: int
    schema: type[Schema]
    publisher: str
    kind: str  # "event" or "command"
    consumer: str = ""  # the service a command is addressed to


MESSAGE_TYPES: dict[tuple[str, int], MessageType] = {
    (t.name, t.version): t
    for t in [
        MessageType(INVITE_SUBMITTED, 1, InviteSubmitted, "intake", "event"),
        MessageType(INVITE_CANCELLED, 1, InviteCancelled, "intake", "event"),
        MessageType(INVITE_RESEND_REQUESTED, 1, InviteResendRequested, "intake", "event"),
        MessageType(APPROVAL_DECIDE, 1, ApprovalDecide, "intake", "command", "approval"),
        MessageType(APPROVAL_ADVANCE, 1, ApprovalAdvance, "approval", "command", "approval"),
        MessageType(INVITE_STATE_CHANGED, 1, InviteStateChanged, "approval", "event"),
        MessageType(INVITE_DECISION_REFUSED, 1, InviteDecisionRefused, "approval", "event"),
        MessageType(NOTIFIER_SEND_EMAIL, 1, NotifierSendEmail, "approval", "command", "notifier"),
        MessageType(EMAIL_SENT, 1, EmailSent, "notifier", "event"),
        MessageType(EMAIL_FAILED, 1, EmailFailed, "notifier", "event"),
    ]
}


# One schema instance per type, built once: a schema's construction costs more than a load,
# and loading keeps no state on the instance, so threads can share them.
_SCHEMAS: dict[tuple[str, int], Schema] = {key: t.schema() for key, t in MESSAGE_TYPES.items()}


def message_type(name: str, version: int = 1) -> MessageType:
    """Return the contract of `name` at `version`, or raise UnknownMessageType."""
    try:
        return MESSAGE_TYPES[(name, version)]
    except KeyError:
        raise UnknownMessageType(f"unknown message type {name!r} version {version!r}") from None


class EnvelopeSchema(_Strict):
    type = fields.String(required=True)
    version = fields.Integer(required=True, strict=True)
    message_id = fields.UUID(required=True)
    correlation_id = fields.String(required=True)
    causation_id = fields.String(required=True, allow_none=True)
    occurred_at = fields.AwareDateTime(required=True)
    producer = fields.String(required=True)
    payload = fields.Dict(required=True)


_ENVELOPE = EnvelopeSchema()
_ENVELOPE_KEYS = frozenset(_ENVELOPE.fields)
# The forms `new_message` writes: a lower-case hyphenated UUID and an ISO time in UTC.
_PLAIN_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PLAIN_UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?\+00:00")


def _plain_envelope(raw: dict) -> bool:
    """Whether `raw` is an envelope exactly as `new_message` writes them, checked in a few µs.

    Only a subset of what EnvelopeSchema accepts passes; anything else (a valid envelope in
    another form, or a broken one) goes through the schema, which gives the verdict and the
    error. Loading the schema cost more than the rest of a message's handling.
    """
    if raw.keys() != _ENVELOPE_KEYS:
        return False
    message_id, occurred_at, causation_id = raw["message_id"], raw["occurred_at"], raw["causation_id"]
    if not (
        type(raw["type"]) is str and type(raw["version"]) is int and type(raw["correlation_id"]) is str
        and type(raw["producer"]) is str and type(raw["payload"]) is dict
        and (causation_id is None or type(causation_id) is str)
        and type(message_id) is str and _PLAIN_UUID.fullmatch(message_id)
        and type(occurred_at) is str and _PLAIN_UTC_TIME.fullmatch(occurred_at)
    ):
        return False
    try:
        dt.datetime.fromisoformat(occurred_at)  # the pattern lets through dates like 31 February
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Envelope:
    """One message on the wire: routing facts around a typed payload."""

    type: str
    version: int
    message_id: str
    correlation_id: str
    causation_id: str | None
    occurred_at: str
    producer: str
    payload: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"), sort_keys=True)


def new_message(
    type_name: str,
    payload: dict,
    *,
    correlation_id: str,
    producer: str,
    causation_id: str | None = None,
    version: int = 1,
) -> Envelope:
    """Build an envelope for `payload`, refusing a payload its schema would refuse on arrival."""
    message_type(type_name, version)
    errors = _SCHEMAS[(type_name, version)].validate(payload)
    if errors:
        raise ValueError(f"invalid {type_name} payload: {errors}")
    return Envelope(
        type=type_name,
        version=version,
        message_id=str(uuid.uuid4()),
        correlation_id=correlation_id,
        causation_id=causation_id,
        occurred_at=dt.datetime.now(dt.timezone.utc).isoformat(),
        producer=producer,
        payload=payload,
    )


def decode(body: bytes | str) -> Envelope:
    """Parse and validate a wire body; raise MalformedMessage or UnknownMessageType."""
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessage(f"body is not JSON: {exc.__class__.__name__}") from None
    if not isinstance(raw, dict):
        raise MalformedMessage("body is not a JSON object")
    if not _plain_envelope(raw):
        try:
            _ENVELOPE.load(raw)
        except ValidationError as exc:
            raise MalformedMessage(f"bad envelope: {sorted(exc.messages)}") from None
    contract = message_type(raw["type"], raw["version"])
    try:
        payload = _SCHEMAS[(contract.name, contract.version)].load(raw["payload"])
    except ValidationError as exc:
        # field names only: values may be personal data
        raise MalformedMessage(f"bad {contract.name} payload in fields {sorted(exc.messages)}") from None
    return Envelope(
        type=raw["type"],
        version=raw["version"],
        message_id=str(raw["message_id"]),
        correlation_id=raw["correlation_id"],
        causation_id=raw["causation_id"],
        occurred_at=raw["occurred_at"],
        producer=raw["producer"],
        payload=payload,
    )
