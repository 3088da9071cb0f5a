"""The broker topology, derived by rule from the message contracts: the only place names are made.

- a durable topic exchange per publishing service for its events (`intake.events`, ...)
- a durable topic exchange per service for the commands addressed to it (`approval.commands`, ...)
- routing key = message type
- one durable queue per consumer and purpose, bound to the types it handles, each with a
  dead-letter queue `<queue>.dlq` (via the `dead-letter` exchange) and one delay queue per retry
  delay, `<queue>.retry.<ms>ms`, whose expired messages flow back into the queue.
"""
from __future__ import annotations

from dataclasses import dataclass

from kombu import Exchange, Queue, binding

from invite_common import messages
from invite_common.messages import MESSAGE_TYPES, MessageType, message_type

# consumer queue -> the message types it handles; the purpose is in the name
CONSUMERS: dict[str, tuple[str, ...]] = {
    "approval.workflow": (
        messages.INVITE_SUBMITTED,
        messages.INVITE_CANCELLED,
        messages.INVITE_RESEND_REQUESTED,
        messages.APPROVAL_DECIDE,
        messages.APPROVAL_ADVANCE,
    ),
    "approval.email-outcomes": (messages.EMAIL_SENT, messages.EMAIL_FAILED),
    "intake.history": (messages.INVITE_STATE_CHANGED, messages.INVITE_DECISION_REFUSED),
    "notifier.send-email": (messages.NOTIFIER_SEND_EMAIL,),
}

DEAD_LETTER_EXCHANGE = "dead-letter"

def exchange_for(contract: MessageType) -> str:
    """Return the un-namespaced exchange a message type is published to."""
    if contract.kind == "command":
        return f"{contract.consumer}.commands"
    return f"{contract.publisher}.events"

@dataclass(frozen=True)
class Topology:
    """Every exchange and queue of one deployment; `namespace` isolates deployments sharing a broker."""

    namespace: str = ""
    quorum: bool = False
    retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0)

    def name(self, base: str) -> str:
        return f"{self.namespace}.{base}" if self.namespace else base

    def exchange(self, base: str) -> Exchange:
        return Exchange(self.name(base), type="topic", durable=True, auto_delete=False)

    def exchange_for_type(self, type_name: str, version: int = 1) -> Exchange:
        return self.exchange(exchange_for(message_type(type_name, version)))

    def exchanges(self) -> list[Exchange]:
        bases = sorted({exchange_for(c) for c in MESSAGE_TYPES.values()})
        dead = Exchange(self.name(DEAD_LETTER_EXCHANGE), type="direct", durable=True)
        return [self.exchange(b) for b in bases] + [dead]

    def _queue_args(self) -> dict:
        return {"x-queue-type": "quorum"} if self.quorum else {}

    def queue(self, consumer: str) -> Queue:
        """The work queue of `consumer`, bound to each message type it handles."""
        types = CONSUMERS[consumer]
        bindings = []

        for type_name in types:
            versions = [c for c in MESSAGE_TYPES.values() if c.name == type_name]
            for exchange in {exchange_for(c) for c in versions}:
                bindings.append(binding(self.exchange(exchange), routing_key=type_name))
        args = self._queue_args() | {
            "x-dead-letter-exchange": self.name(DEAD_LETTER_EXCHANGE),
            "x-dead-letter-routing-key": self.name(consumer),
        }
        return Queue(self.name(consumer), bindings=bindings, durable=True, queue_arguments=args)

    def dead_letter_queue(self, consumer: str) -> Queue:
        return Queue(
            self.name(consumer) + ".dlq",
            exchange=Exchange(self.name(DEAD_LETTER_EXCHANGE), type="direct", durable=True),
            routing_key=self.name(consumer),
            durable=True,
            queue_arguments=self._queue_args(),
        )

    def retry_queue_name(self, consumer: str, delay: float) -> str:
        return f"{self.name(consumer)}.retry.{int(delay * 1000)}ms"

    def retry_queues(self, consumer: str) -> list[Queue]:
        """Delay queues: nothing consumes them; an expired message goes back to the work queue."""
        queues = []
        for delay in self.retry_delays:
            args = self._queue_args() | {
                "x-message-ttl": int(delay * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.name(consumer),
            }
            if self.quorum:
                # quorum queues dead-letter at-most-once unless told otherwise
                args |= {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
            queues.append(
                Queue(self.retry_queue_name(consumer, delay), durable=True, queue_arguments=args)
            )
        return queues

    def all_queues(self) -> list[Queue]:
        queues = []
        for consumer in CONSUMERS:
            queues += [self.queue(consumer), self.dead_letter_queue(consumer), *self.retry_queues(consumer)]
        return queues

    def declare(self, channel) -> None:
        """Declare every exchange, queue and binding (idempotent); every service does it at start."""
        for exchange in self.exchanges():
            exchange(channel).declare()
        for queue in self.all_queues():
            queue(channel).declare()
