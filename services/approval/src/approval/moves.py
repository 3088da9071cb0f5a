"""What one transaction does to requests and announces: their moves, the emails and steps it asks for.

A step moves a request (`move`: per the workflow table, logged in its transitions) and asks for
what follows (`email`, `start_step`, `refuse`) as it goes; none of it reaches the outbox until
`announce`, called once the step's work is done, still inside its transaction. Every move one
request makes in a transaction then goes out as one `invite.state_changed` (its first move, the
others as `then`, in order), in the place of its first move among the transaction's messages: an
approval and the provisioning it ran at once are one event, however the steps were called.
Each changed request's columns are written once, then too.
"""
from __future__ import annotations

import logging

from invite_common import messages
from invite_common.db import utcnow
from invite_common.messages import Envelope, Verb, new_message
from invite_common.outbox import Outbox

from approval import records, workflow
from approval.models import InviteRequest

log = logging.getLogger(__name__)

PRODUCER = "approval"
# the actor of what approval does by itself
SYSTEM = "system"
# the actor of an approval given by an auto-approval rule; the rule's name is in the details
POLICY = "policy"


class Moves:
    """The moves and messages of one transaction, caused by one message (`cause`) or by none."""

    def __init__(self, outbox: Outbox, cause: str | None = None) -> None:
        self.outbox = outbox
        self.cause = cause
        # in order: an envelope, or the id of a request whose state_changed goes in that place
        self._outgoing: list[Envelope | str] = []
        self._moves: dict[str, list[dict]] = {}
        self._changed: dict[str, InviteRequest] = {}

    def move(self, request: InviteRequest, verb: str, *, actor: str, note: str = "", details: dict | None = None) -> None:
        """Apply `verb` to `request` per the workflow table (InvalidTransition if it allows none) and log it."""
        previous = request.state
        target = workflow.next_state(previous, verb, failed_from=request.failed_from)
        now = utcnow()
        request.state = target
        if verb == Verb.FAIL:
            request.failed_from = previous  # where an operator's retry resumes
        elif verb == Verb.RETRY:
            request.failed_from = None
        request.seq += 1
        request.updated_at = now
        records.add_transition(request, from_state=previous, to_state=target, verb=verb, actor=actor,
                               note=note or "", at=now, caused_by=self.cause)
        self.changed(request)
        if request.id not in self._moves:
            self._moves[request.id] = []
            self._outgoing.append(request.id)
        self._moves[request.id].append({
            "seq": request.seq,
            "from_state": previous,
            "to_state": target,
            "verb": verb,
            "actor": actor,
            "note": note or "",
            "changed_at": now.isoformat(),
            "details": details or {},
        })
        # debug: the transition table and the history already keep every move, and an INFO line for
        # each of them was a noticeable share of an invite's CPU
        log.debug("request moved", extra={"from": previous, "to": target, "verb": verb})

    def changed(self, request: InviteRequest) -> None:
        """Have the request's changed columns written at the end (a move does this itself)."""
        self._changed[request.id] = request

    def email(self, request: InviteRequest, template: str, *, to: str, send_key: str, context: dict) -> None:
        """Ask the notifier for one email about `request` (`send_key` tells this send from another)."""
        self._send(messages.NOTIFIER_SEND_EMAIL,
                   {"request_id": request.id, "template": template, "to": to, "send_key": send_key, "context": context},
                   request.id)

    def start_step(self, request: InviteRequest, step: str) -> None:
        """Ask for an automatic step through `approval.advance`, so its retries and giving up are the consumer's."""
        self._send(messages.APPROVAL_ADVANCE, {"request_id": request.id, "step": step}, request.id)

    def refuse(self, request_id: str, decision: str, actor: str, error: str) -> None:
        """Tell intake that a decision, cancellation or resend it accepted could not be applied."""
        log.warning("decision refused", extra={"decision": decision, "error": error})
        self._send(messages.INVITE_DECISION_REFUSED,
                   {"request_id": request_id, "decision": decision, "actor": actor, "error": error}, request_id)

    def _send(self, type_name: str, payload: dict, request_id: str) -> None:
        self._outgoing.append(new_message(type_name, payload, correlation_id=request_id, producer=PRODUCER,
                                          causation_id=self.cause))

    def announce(self) -> None:
        """Write the changed requests and every message, in order, into the outbox; inside the transaction."""
        for request in self._changed.values():
            records.save_request(request)
        for item in self._outgoing:
            if isinstance(item, str):
                first, *then = self._moves[item]
                payload = {"request_id": item, **first}
                if then:
                    payload["then"] = then
                item = new_message(messages.INVITE_STATE_CHANGED, payload, correlation_id=payload["request_id"],
                                   producer=PRODUCER, causation_id=self.cause)
            self.outbox.add(item)
        self._outgoing, self._moves, self._changed = [], {}, {}
