"""The broker topology, derived by rule from the message contracts: the only place names are made.

- a durable topic exchange per publishing service for its events (`intake.events`, ...)
- a durable topic exchange per service for the commands addressed to it (`approval.commands`, ...)
- routing key = message type
- one durable queue per consumer and purpose, named `<service>.<purpose>`, bound to the types it
  handles, each with a dead-letter queue `<queue>.dlq` (via the service's `<service>.dead-letter`
  exchange) and one delay queue per retry delay, `<queue>.retry.<ms>ms`, reached and left through
  the service's `<service>.retry` exchange.

Every name a service declares starts with the service's own name, so each service's broker user
can be allowed to configure only `<service>.*` (see `permissions`); nothing goes through the
default exchange, which would let any user with write access reach any queue.
"""
from __future__ import annotations

from dataclasses import dataclass

from amqp.exceptions import PreconditionFailed
from kombu import Exchange, Queue, binding

from invite_common import messages
from invite_common.messages import MESSAGE_TYPES, MessageType, message_type

# consumer queue -> the message types it handles; the purpose is in the name. Each service's
# bootstrap declares its own queues with exactly these types (tests/common holds them equal).
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
RETRY_EXCHANGE = "retry"
SERVICES = ("intake", "approval", "notifier")


class TopologyMismatch(Exception):
    """A queue exists on the broker with other arguments (its type, say) than this deployment declares.

    Nothing a retry can mend: the service stops and says which queue, so an operator can act."""

    def __init__(self, queue: str, reply: str):
        super().__init__(f"queue {queue} exists on the broker with other arguments than this service declares "
                         f"(AMQP_QUORUM_QUEUES decides its type); the broker says: {reply}")
        self.queue = queue


def owner(consumer: str) -> str:
    """The service a consumer queue belongs to: the first part of its name."""
    return consumer.split(".", 1)[0]

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
    # The service this process runs as, when it connects as that service's own broker user: it
    # then declares only its own names and checks (passively) that the others exist.
    service: str = ""

    def name(self, base: str) -> str:
        return f"{self.namespace}.{base}" if self.namespace else base

    def _foreign(self, name: str) -> bool:
        return bool(self.service) and not name.startswith(self.name(self.service + "."))

    def exchange(self, base: str) -> Exchange:
        name = self.name(base)
        return Exchange(name, type="topic", durable=True, auto_delete=False, passive=self._foreign(name))

    def exchange_for_type(self, type_name: str, version: int = 1) -> Exchange:
        return self.exchange(exchange_for(message_type(type_name, version)))

    def direct_exchange(self, service: str, purpose: str) -> Exchange:
        """A service's own `dead-letter` or `retry` exchange."""
        name = self.name(f"{service}.{purpose}")
        return Exchange(name, type="direct", durable=True, auto_delete=False, passive=self._foreign(name))

    def exchanges(self, service: str | None = None) -> list[Exchange]:
        """Every exchange, or those `service` owns: its events, the commands addressed to it, its retry and dead-letter."""
        bases = sorted({exchange_for(c) for c in MESSAGE_TYPES.values()})
        consumers = sorted({owner(c) for c in CONSUMERS})
        found = [self.exchange(b) for b in bases] + [
            self.direct_exchange(s, purpose) for s in consumers for purpose in (DEAD_LETTER_EXCHANGE, RETRY_EXCHANGE)
        ]
        if service is None:
            return found
        return [e for e in found if e.name.startswith(self.name(service + "."))]

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
        # back from a delay queue
        bindings.append(binding(self.direct_exchange(owner(consumer), RETRY_EXCHANGE), routing_key=self.name(consumer)))
        args = self._queue_args() | {
            "x-dead-letter-exchange": self.name(f"{owner(consumer)}.{DEAD_LETTER_EXCHANGE}"),
            "x-dead-letter-routing-key": self.name(consumer),
        }
        return Queue(self.name(consumer), bindings=bindings, durable=True, queue_arguments=args)

    def dead_letter_queue(self, consumer: str) -> Queue:
        return Queue(
            self.name(consumer) + ".dlq",
            exchange=self.direct_exchange(owner(consumer), DEAD_LETTER_EXCHANGE),
            routing_key=self.name(consumer),
            durable=True,
            queue_arguments=self._queue_args(),
        )

    def retry_queue_name(self, consumer: str, delay: float) -> str:
        return f"{self.name(consumer)}.retry.{int(delay * 1000)}ms"

    def retry_exchange(self, consumer: str) -> Exchange:
        """Where a consumer puts a message to retry it later (routing key: the delay queue's name)."""
        return self.direct_exchange(owner(consumer), RETRY_EXCHANGE)

    def retry_queues(self, consumer: str) -> list[Queue]:
        """Delay queues: nothing consumes them; an expired message goes back to the work queue."""
        queues = []
        retry = self.retry_exchange(consumer)
        for delay in self.retry_delays:
            args = self._queue_args() | {
                "x-message-ttl": int(delay * 1000),
                "x-dead-letter-exchange": retry.name,
                "x-dead-letter-routing-key": self.name(consumer),
            }
            if self.quorum:
                # quorum queues dead-letter at-most-once unless told otherwise
                args |= {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
            name = self.retry_queue_name(consumer, delay)
            queues.append(Queue(name, exchange=retry, routing_key=name, durable=True, queue_arguments=args))
        return queues

    def all_queues(self, service: str | None = None) -> list[Queue]:
        """Every queue, or those of `service`'s consumers."""
        queues = []
        for consumer in CONSUMERS:
            if service is None or owner(consumer) == service:
                queues += [self.queue(consumer), self.dead_letter_queue(consumer), *self.retry_queues(consumer)]
        return queues

    def declare(self, channel) -> None:
        """Declare every exchange, queue and binding (idempotent), or only the service's own; raise
        TopologyMismatch for a queue the broker holds with other arguments (the channel is then closed).

        A service running as its own broker user declares only its own names (its user may
        configure nothing else); the rest exist already, loaded from deploy/rabbitmq/definitions.json.
        """
        service = self.service or None
        for exchange in self.exchanges(service):
            exchange(channel).declare()
        for queue in self.all_queues(service):
            try:
                queue(channel).declare()
            except PreconditionFailed as exc:
                raise TopologyMismatch(queue.name, getattr(exc, "reply_text", str(exc))) from None


def for_service(settings, service: str) -> Topology:
    """The topology as `service` uses it: limited to its own names when it has a broker user of its own."""
    own_user = settings.own_broker_user
    return Topology(
        settings.amqp_namespace, settings.amqp_quorum_queues, settings.retry_delays, service=service if own_user else ""
    )
