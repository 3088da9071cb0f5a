"""One broker user per service, and what RabbitMQ lets each do, derived from the topology and the contracts.

- configure: only names starting with `<service>.` (its queues and the exchanges it owns);
- write: those, and the exchanges of the messages it publishes (`approval.commands` for intake);
  on each topic exchange, topic permissions let it use only the routing keys (message types) it
  publishes, so intake may send `approval.decide` but not `approval.advance`, and notifier may
  put nothing on the `notifier.commands` exchange it owns;
- read: its own names, and the exchanges its queues are bound to.

Nobody may write to the default exchange, which reaches every queue. `definitions` renders all
of it, with the whole topology, in RabbitMQ's definitions format: `python -m invite_common.broker_users`
writes deploy/rabbitmq/definitions.json (quorum queues, as the manifests ask), loadable with
`rabbitmqctl import_definitions`.
"""
from __future__ import annotations

import json
import re
import sys

from invite_common.messages import MESSAGE_TYPES
from invite_common.topology import CONSUMERS, SERVICES, Topology, exchange_for, owner

DEFAULT_USERS = {service: service for service in SERVICES}
# a routing-key pattern no message type matches (types are never empty)
NOTHING = "^$"


def _any_of(names) -> str:
    return "^(" + "|".join(re.escape(n) for n in sorted(set(names))) + ")$"


def published(service: str) -> dict[str, set[str]]:
    """{exchange base name: message types} that `service` publishes."""
    found: dict[str, set[str]] = {}
    for contract in MESSAGE_TYPES.values():
        if contract.publisher == service:
            found.setdefault(exchange_for(contract), set()).add(contract.name)
    return found


def bound_from(service: str) -> set[str]:
    """The exchange base names `service`'s queues are bound to."""
    wanted = {t for consumer, types in CONSUMERS.items() if owner(consumer) == service for t in types}
    return {exchange_for(c) for c in MESSAGE_TYPES.values() if c.name in wanted}


def permissions(topology: Topology, service: str) -> dict[str, str]:
    """The configure, write and read patterns of `service`'s user."""
    own = "^" + re.escape(topology.name(service + ".")) + ".*$"
    outside = lambda bases: [topology.name(b) for b in bases if not b.startswith(service + ".")]  # noqa: E731
    return {
        "configure": own,
        "write": _either(own, outside(published(service))),
        "read": _either(own, outside(bound_from(service))),
    }


def _either(own: str, others: list[str]) -> str:
    return f"{own}|{_any_of(others)}" if others else own


def topic_permissions(topology: Topology, service: str) -> list[dict[str, str]]:
    """Per topic exchange `service` may write to (its own, and those it publishes to): the routing
    keys it may use there, the types it publishes; none on its own commands exchange unless it
    sends itself commands."""
    sent = published(service)
    topic = {exchange_for(c) for c in MESSAGE_TYPES.values()}
    writable = set(sent) | {base for base in topic if base.startswith(service + ".")}
    return [
        {"exchange": topology.name(base), "write": _any_of(sent[base]) if base in sent else NOTHING, "read": ".*"}
        for base in sorted(writable)
    ]


def definitions(
    topology: Topology, vhost: str = "/", users: dict[str, str] | None = None, passwords: dict[str, str] | None = None
) -> dict:
    """The users, their permissions and the whole topology of one vhost, in RabbitMQ's definitions format.

    Without `passwords` the users have none (`password_hash` empty): an operator sets each with
    `rabbitmqctl change_password`, so no secret is ever in the file.
    """
    users = users or DEFAULT_USERS
    declared = Topology(topology.namespace, topology.quorum, topology.retry_delays)
    exchanges = declared.exchanges()
    queues = declared.all_queues()
    return {
        "users": [
            {"name": name, "tags": []} | (
                {"password": passwords[service]} if passwords else {"password_hash": "", "hashing_algorithm": "rabbit_password_hashing_sha256"}
            )
            for service, name in users.items()
        ],
        "vhosts": [{"name": vhost}],
        "permissions": [{"user": users[s], "vhost": vhost} | permissions(topology, s) for s in users],
        "topic_permissions": [
            {"user": users[s], "vhost": vhost} | rule for s in users for rule in topic_permissions(topology, s)
        ],
        "exchanges": [
            {"name": e.name, "vhost": vhost, "type": e.type, "durable": True, "auto_delete": False, "internal": False,
             "arguments": {}}
            for e in exchanges
        ],
        "queues": [
            {"name": q.name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": q.queue_arguments or {}}
            for q in queues
        ],
        "bindings": [
            {"source": b.exchange.name, "vhost": vhost, "destination": q.name, "destination_type": "queue",
             "routing_key": b.routing_key, "arguments": {}}
            for q in queues for b in _bindings(q)
        ],
    }


def _bindings(queue):
    if queue.bindings:
        return sorted(queue.bindings, key=lambda b: (b.exchange.name, b.routing_key))
    if queue.exchange is not None and queue.exchange.name:
        from kombu import binding

        return [binding(queue.exchange, routing_key=queue.routing_key)]
    return []


def main(argv: list[str] | None = None) -> int:
    """Print the definitions of the shipped deployment: no namespace, vhost `/`, and quorum queues,
    as its manifests' AMQP_QUORUM_QUEUES=true asks (`--classic-queues` for AMQP_QUORUM_QUEUES=false)."""
    args = sys.argv[1:] if argv is None else argv
    unknown = [a for a in args if a != "--classic-queues"]
    if unknown:
        print(f"usage: python -m invite_common.broker_users [--classic-queues]; not understood: {' '.join(unknown)}",
              file=sys.stderr)
        return 2
    json.dump(definitions(Topology(quorum="--classic-queues" not in args)), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
