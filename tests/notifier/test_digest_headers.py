"""The approvers' digest names requesters and invitees, which people typed: none of it reaches a header."""
import email
import email.policy

import pytest

from notifier.message import compose_bytes, message_id_for, parse_sender
from notifier.rendering import render
from tests.notifier.test_rendering import approver_digest, digest_item

MAIL_FROM = "TechPass Invites <no-reply@invites.local>"
HOSTILE = ["=?utf-8?b?QmNjOiBldmlsQGV2aWwuZXhhbXBsZQ==?=@example.com", "x\r\nBcc: evil@evil.example",
           "y\nSubject: changed", "z\u2028Reply-To: evil@evil.example"]


@pytest.mark.parametrize("typed", HOSTILE)
def test_a_digests_headers_hold_nothing_a_person_typed(typed):
    group = {"requester": typed, "count": 1, "batch_url": None, "closer_look": 0,
             "items": [digest_item(typed, requester=typed, method=typed)]}
    batch = {"requester": typed, "count": 5, "batch_url": "https://invites.example.gov.sg/approvals?batch=b",
             "closer_look": 1, "items": []}
    rendered = render("approver_digest", approver_digest(new_groups=[batch, group], expiring_groups=[group]))
    data, _ = compose_bytes(parse_sender(MAIL_FROM), "dana@tech.gov.sg", rendered,
                            message_id_for("digest-1", "approver_digest", "k", "invites.local"))
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    names = [line.split(":", 1)[0] for line in head.split("\r\n") if not line.startswith((" ", "\t"))]
    assert names == ["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Type"]
    assert "evil" not in head and "=?" not in head and "changed" not in head
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Subject"] == "300 TechPass requests waiting for approval (1 expiring soon)"
    text = message.get_body(("plain",)).get_content()
    assert "\nBcc:" not in text and "\nSubject:" not in text  # line breaks in typed values are flattened
    page = message.get_body(("html",)).get_content()
    assert "Batch of 5 from" in text and "Batch of 5 from" in page
    assert "https://invites.example.gov.sg/approvals?batch=b" in text
    assert 'href="https://invites.example.gov.sg/approvals?batch=b"' in page
