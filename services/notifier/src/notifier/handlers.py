"""What the notifier does with `notifier.send_email`: send the email once, log its outcome, announce it.

Sending happens outside any transaction (`send_email`), under a lock on the email that keeps
other notifier processes from sending it too (`notifier.sending`); its outcome is then recorded
with the announcement in the consumer's transaction (`record_email_sent`), the lock let go once
that has committed (`release_send_lock`), or, when the consumer gives up, recorded as a failure
(`record_email_failed`). Logs name the request, template and outcome only:
never the address or the body.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from invite_common.db import utcnow
from invite_common.errors import PermanentError, TransientError
from invite_common import messages, metrics
from invite_common.messages import Envelope, new_message
from invite_common.outbox import Outbox

from notifier import catalog, deliveries, models
from notifier.adapters.mailer import SmtpMailer, hide_addresses
from notifier.db import database
from notifier.sending import BeingSent, SendLocks
from notifier.message import InvalidRecipient, check_recipient
from notifier.rendering import render

log = logging.getLogger(__name__)

PRODUCER = "notifier"

# Enough to ride out a database outage; beyond it the oldest are forgotten (and may be resent once).
ACCEPTED_KEPT = 10_000

SendKey = tuple[str, str, str]


class InvalidSendCommand(PermanentError):
    """A send command whose ids are too long for the delivery log."""


@dataclass(frozen=True)
class Accepted:
    """The mail server took the email: what its delivery record and announcement say."""

    smtp_message_id: str
    recipient_domain: str
    sent_at: dt.datetime


class AlreadySent:
    """`send_email`'s answer when the delivery log shows the email went out before."""


ALREADY_SENT = AlreadySent()


@dataclass
class Dependencies:
    """What the handlers need from outside: the outbox and the mailer."""

    outbox: Outbox
    mailer: SmtpMailer
    # Emails the server accepted whose outcome is not committed yet. If the commit fails (the
    # database went away) the command comes back, finds its email here and is not mailed again.
    accepted: dict[SendKey, Accepted] = field(default_factory=dict)
    # who is sending which email, across the notifier's processes
    locks: SendLocks = field(default_factory=lambda: SendLocks(database))


def _key(payload: dict) -> SendKey:
    return payload["request_id"], payload["template"], payload["send_key"]


def _fits_the_log(payload: dict) -> bool:
    return (
        len(payload["request_id"]) <= models.REQUEST_ID_MAX
        and len(payload["template"]) <= models.TEMPLATE_MAX
        and len(payload["send_key"]) <= models.SEND_KEY_MAX
    )


def _ids(payload: dict) -> dict:
    return {"request_id": payload["request_id"], "template": payload["template"], "send_key": payload["send_key"]}


def recipient_domain(to: str) -> str:
    """Return the recipient's ASCII domain, or "" when the address is not one we would send to."""
    try:
        return check_recipient(to).rpartition("@")[2]
    except InvalidRecipient:
        return ""


def template_label(template: str) -> str:
    """The template as a metric label: a name from the catalog, or `other` (labels must stay few)."""
    return template if template in catalog.CATALOG else "other"


def describe(exc: Exception) -> str:
    """Say what went wrong in words safe to store and log: anything like an address is hidden."""
    return hide_addresses(f"{type(exc).__name__}: {exc}")[:500]


def send_email(env: Envelope, deps: Dependencies) -> Accepted | AlreadySent:
    """Render and send the requested email unless it already went out; safe to repeat."""
    p = env.payload
    key = _key(p)
    if not _fits_the_log(p):
        # refused before sending: an email whose outcome cannot be recorded would go out on every retry
        raise InvalidSendCommand("request_id, template or send_key is too long to record")
    earlier = deps.accepted.get(key)
    if earlier is not None and not deliveries.find_sent(*key):
        log.info("email was accepted before its outcome could be recorded; not sending it again", extra=_ids(p))
        return earlier
    # Taken before looking at the delivery log and held until the outcome is committed
    # (release_send_lock): another process's copy of this command waits, then finds it sent.
    if not deps.locks.acquire(key):
        log.info("email is being sent by another notifier; looking again shortly", extra=_ids(p))
        raise BeingSent("another notifier is sending this email")
    try:
        if deliveries.find_sent(*key):
            deps.accepted.pop(key, None)
            deps.locks.release(key)
            log.info("email already sent; not sending it again", extra=_ids(p))
            return ALREADY_SENT
        rendered = render(p["template"], p["context"])
        # the same for every attempt, so a resend after a crash can be recognised as the same email
        message_id = deps.mailer.message_id(*key)
        deps.mailer.send(p["to"], rendered, message_id)
    except BaseException:
        deps.locks.release(key)
        raise
    metrics.EMAILS_SENT.labels(template_label(p["template"])).inc()
    accepted = Accepted(message_id, recipient_domain(p["to"]), utcnow())
    if len(deps.accepted) >= ACCEPTED_KEPT:
        deps.accepted.pop(next(iter(deps.accepted)))
    deps.accepted[key] = accepted
    log.info("email accepted by the mail server", extra=_ids(p) | {"smtp_message_id": message_id})
    return accepted


def release_send_lock(env: Envelope, outcome: Accepted | AlreadySent, deps: Dependencies) -> None:
    """Let other processes at this email once its outcome is committed (or its recording failed)."""
    deps.locks.release(_key(env.payload))


def record_email_sent(env: Envelope, outcome: Accepted | AlreadySent, deps: Dependencies) -> None:
    """Record the delivery as sent and announce `email.sent`; in the consumer's transaction."""
    if outcome is ALREADY_SENT:
        return  # announced when it was first sent
    p = env.payload
    key = _key(p)
    if deliveries.find_sent(*key) is None:
        deliveries.record(
            *key,
            status=models.SENT,
            smtp_message_id=outcome.smtp_message_id,
            recipient_domain=outcome.recipient_domain,
            sent_at=outcome.sent_at,
            error="",
        )
        deps.outbox.add(
            new_message(
                messages.EMAIL_SENT,
                _ids(p) | {"smtp_message_id": outcome.smtp_message_id},
                correlation_id=p["request_id"],
                producer=PRODUCER,
                causation_id=env.message_id,
            )
        )
    # Last, so a failure above leaves the email remembered as accepted.
    deps.accepted.pop(key, None)


def record_email_failed(env: Envelope, exc: Exception, deps: Dependencies) -> None:
    """Record the delivery as failed and announce `email.failed`; runs when the consumer gives up."""
    if env.type != messages.NOTIFIER_SEND_EMAIL:
        return
    p = env.payload
    key = _key(p)
    if key in deps.accepted:
        # the server took the email; only recording it failed, so it is sent, not failed
        record_email_sent(env, deps.accepted[key], deps)
        return
    if _fits_the_log(p):
        if deliveries.find_sent(*key):
            return
        deliveries.record(*key, status=models.FAILED, recipient_domain=recipient_domain(p["to"]), error=describe(exc))
    permanent = not isinstance(exc, TransientError)
    metrics.EMAILS_FAILED.labels(template_label(p["template"])).inc()
    deps.outbox.add(
        new_message(
            messages.EMAIL_FAILED,
            _ids(p) | {"error": describe(exc), "permanent": permanent},
            correlation_id=p["request_id"],
            producer=PRODUCER,
            causation_id=env.message_id,
        )
    )
    log.warning("email not delivered", extra=_ids(p) | {"permanent": permanent, "error": describe(exc)})
