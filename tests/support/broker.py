"""Test helpers to look into queues of the real broker."""
from __future__ import annotations

import time

from kombu import Connection


def delete_namespace(amqp_url: str, topology) -> None:
    """Delete every queue and exchange of a test's broker namespace."""
    with Connection(amqp_url) as conn:
        channel = conn.channel()
        for queue in topology.all_queues():
            queue(channel).delete()
        for exchange in topology.exchanges():
            exchange(channel).delete()


def queue_depth(amqp_url: str, queue_name: str) -> int:
    with Connection(amqp_url) as conn:
        return conn.channel().queue_declare(queue_name, passive=True).message_count


def drain(amqp_url: str, queue_name: str, limit: int = 1000) -> list:
    """Take (and ack) every message now in `queue_name`; returns the raw py-amqp messages."""
    got = []
    with Connection(amqp_url) as conn:
        channel = conn.channel()
        while len(got) < limit:
            msg = channel.basic_get(queue_name, no_ack=True)
            if msg is None:
                break
            got.append(msg)
    return got


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
