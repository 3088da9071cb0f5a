"""The email templates the notifier knows, and the context each one needs."""
from __future__ import annotations

import datetime as dt

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from invite_common.errors import PermanentError
from invite_common.messages import Template

_required = validate.Length(min=1)


class UnknownTemplate(PermanentError):
    """A send was asked for a template the notifier does not have."""


class InvalidContext(PermanentError):
    """The context for a template is missing fields, has unknown ones, or has bad values."""

    def __init__(self, template: str, errors: dict) -> None:
        # marshmallow's messages name fields and rules, never the values, so they are safe to log.
        super().__init__(f"invalid context for template {template!r}: {errors}")
        self.template = template
        self.errors = errors


class InvitationContext(Schema):
    """What an invitation to activate a TechPass account says."""

    class Meta:
        unknown = RAISE

    request_id = fields.String(required=True, validate=_required)
    # An email invitation knows only the address, so the name may be empty.
    recipient_name = fields.String(required=True)
    username = fields.String(required=True, validate=_required)
    requester_email = fields.String(required=True, validate=_required)
    # Only web links: a javascript: or data: URL must never become a button in an email.
    activation_url = fields.Url(required=True, schemes={"https", "http"}, require_tld=False)


class InvitationSeedContext(InvitationContext):
    """An invitation that also carries the invitee's SEED enrolment code."""

    seed_code = fields.String(required=True, validate=_required)
    # A time without an offset is taken as UTC, the system's wire convention.
    seed_expires_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)


class RejectionNoticeContext(Schema):
    """What a requester is told when an approver rejects their request."""

    class Meta:
        unknown = RAISE

    request_id = fields.String(required=True, validate=_required)
    invitee_email = fields.String(required=True, validate=_required)
    reason = fields.String(required=True, validate=_required)
    decided_by = fields.String(required=True, validate=_required)


class ExpiryNoticeContext(Schema):
    """What a requester is told when nobody decided on their request in time."""

    class Meta:
        unknown = RAISE

    request_id = fields.String(required=True, validate=_required)
    invitee_email = fields.String(required=True, validate=_required)
    expiry_days = fields.Integer(required=True, validate=validate.Range(min=1))


class ClosureNoticeContext(Schema):
    """What a requester is told when an operator closes their failed request, and why."""

    class Meta:
        unknown = RAISE

    request_id = fields.String(required=True, validate=_required)
    invitee_email = fields.String(required=True, validate=_required)
    reason = fields.String(required=True, validate=_required)


class InvitationSentNoticeContext(Schema):
    """What a requester is told, if they asked for emails, once the invitation is out."""

    class Meta:
        unknown = RAISE

    request_id = fields.String(required=True, validate=_required)
    invitee_email = fields.String(required=True, validate=_required)


class DigestItem(Schema):
    """One request named in an approvers' digest."""

    class Meta:
        unknown = RAISE

    invitee_email = fields.String(required=True, validate=_required)
    requester = fields.String(required=True, validate=_required)
    method = fields.String(required=True, validate=_required)
    expires_at = fields.AwareDateTime(required=True, default_timezone=dt.timezone.utc)
    # the request's page in the portal; digests queued before links were sent have none
    url = fields.Url(load_default=None, schemes={"https", "http"}, require_tld=False)


class DigestGroup(Schema):
    """A line of the digest: a batch (one line with a link to it), or a requester's requests (a line each)."""

    class Meta:
        unknown = RAISE

    requester = fields.String(required=True, validate=_required)
    count = fields.Integer(required=True, validate=validate.Range(min=1))
    # set for a batch: its requests in the portal's queue
    batch_url = fields.Url(required=True, allow_none=True, schemes={"https", "http"}, require_tld=False)
    closer_look = fields.Integer(required=True, validate=validate.Range(min=0))
    items = fields.List(fields.Nested(DigestItem), required=True)


def _as_groups(items: list[dict]) -> list[dict]:
    """A digest queued before grouping: its requests, grouped by requester as the template shows them."""
    groups: dict[str, dict] = {}
    for item in items:
        group = groups.setdefault(item["requester"], {"requester": item["requester"], "count": 0, "batch_url": None,
                                                      "closer_look": 0, "items": []})
        group["count"] += 1
        group["items"].append(item)
    return list(groups.values())


class ApproverDigestContext(Schema):
    """What approvers are told now and then: requests new since the last digest, and those about to
    expire, each grouped (a batch as one line, other requests by requester) and bounded in size."""

    class Meta:
        unknown = RAISE

    request_id = fields.String(required=True, validate=_required)
    new_groups = fields.List(fields.Nested(DigestGroup), load_default=list)
    new_count = fields.Integer(required=True, validate=validate.Range(min=0))
    new_more = fields.Integer(load_default=0, validate=validate.Range(min=0))
    expiring_groups = fields.List(fields.Nested(DigestGroup), load_default=list)
    expiring_count = fields.Integer(required=True, validate=validate.Range(min=0))
    expiring_more = fields.Integer(load_default=0, validate=validate.Range(min=0))
    waiting_count = fields.Integer(required=True, validate=validate.Range(min=0))
    queue_url = fields.Url(required=True, schemes={"https", "http"}, require_tld=False)
    # a digest queued by an earlier intake: its requests as one list each (read into groups below)
    new = fields.List(fields.Nested(DigestItem), load_default=list)
    expiring = fields.List(fields.Nested(DigestItem), load_default=list)

    @post_load
    def _group_earlier_lists(self, data: dict, **_) -> dict:
        for part in ("new", "expiring"):
            items = data.pop(part)
            if items and not data[f"{part}_groups"]:
                data[f"{part}_groups"] = _as_groups(items)
                data[f"{part}_more"] = max(0, data[f"{part}_count"] - len(items))
        return data


# one schema for each email the message contract names (Template.ALL), and no other
CATALOG: dict[str, Schema] = {
    Template.INVITATION: InvitationContext(),
    Template.INVITATION_SEED: InvitationSeedContext(),
    Template.REJECTION_NOTICE: RejectionNoticeContext(),
    Template.EXPIRY_NOTICE: ExpiryNoticeContext(),
    Template.CLOSURE_NOTICE: ClosureNoticeContext(),
    Template.INVITATION_SENT_NOTICE: InvitationSentNoticeContext(),
    Template.APPROVER_DIGEST: ApproverDigestContext(),
}


def validate_context(template: str, context: dict) -> dict:
    """Return the context loaded by its template's schema, or raise UnknownTemplate / InvalidContext."""
    schema = CATALOG.get(template)
    if schema is None:
        raise UnknownTemplate(f"no email template named {template!r}")
    try:
        return schema.load(context)
    except ValidationError as exc:
        raise InvalidContext(template, exc.normalized_messages()) from None
