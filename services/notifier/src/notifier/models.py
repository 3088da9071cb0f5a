"""Notifier's tables: the delivery log, one row per (request, template, send), saying whether its email went out."""
from __future__ import annotations

import peewee

from invite_common.db import UTCDateTimeField, utcnow

from notifier.db import BaseModel

SENT = "sent"
FAILED = "failed"

# Widths of the key columns; a command whose ids are longer is refused before any email goes out,
# since an email whose outcome cannot be recorded would be sent again on every retry.
REQUEST_ID_MAX = 64
TEMPLATE_MAX = 64
SEND_KEY_MAX = 100


class Delivery(BaseModel):
    """What became of one email. Holds no address or body: the recipient's domain is enough to
    tell a provider's outage from a single bad mailbox."""

    request_id = peewee.CharField(max_length=REQUEST_ID_MAX)
    template = peewee.CharField(max_length=TEMPLATE_MAX)
    send_key = peewee.CharField(max_length=SEND_KEY_MAX)
    recipient_domain = peewee.CharField(max_length=253, default="")
    smtp_message_id = peewee.CharField(max_length=320, null=True)
    status = peewee.CharField(max_length=16, index=True)  # SENT or FAILED
    # How many outcomes were recorded for this send: more than one when a failed send was
    # tried again under the same key (e.g. a dead-lettered command put back in its queue).
    attempts = peewee.IntegerField(default=0)
    error = peewee.TextField(default="")
    sent_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "delivery"
        indexes = ((("request_id", "template", "send_key"), True),)
