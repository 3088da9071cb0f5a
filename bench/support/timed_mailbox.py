"""The run's SMTP server: tests.support.mailbox.Mailbox, recording when each recipient's mail arrives."""
from __future__ import annotations

import threading
import time

from tests.support.mailbox import Mailbox


class TimedMailbox(Mailbox):
    """Notes the arrival time of each recipient's first email; skips parsing the message,
    which would only take CPU from the processes being measured."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[str, float] = {}
        self.deliveries: dict[str, int] = {}  # every email per recipient, to catch a doubled one
        self._arrivals_lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.monotonic()
        with self._arrivals_lock:
            for rcpt in envelope.rcpt_tos:
                self.arrivals.setdefault(rcpt.lower(), now)
                self.deliveries[rcpt.lower()] = self.deliveries.get(rcpt.lower(), 0) + 1
        return "250 2.0.0 OK: queued"

    def emails_to(self, addresses: list[str]) -> int:
        """How many emails, doubles included, went to `addresses`."""
        with self._arrivals_lock:
            return sum(self.deliveries.get(a, 0) for a in addresses)

    def wait_for(self, addresses: list[str], deadline: float) -> bool:
        """Block until every address has mail, or until the monotonic `deadline`. The times
        come from the arrivals themselves, so polling costs no precision."""
        pending = list(addresses)
        while True:
            with self._arrivals_lock:
                pending = [a for a in pending if a not in self.arrivals]
            if not pending:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, 0.05))

    def arrived(self, addresses: list[str]) -> list[float]:
        """The arrival times of the addresses that have mail."""
        with self._arrivals_lock:
            return [self.arrivals[a] for a in addresses if a in self.arrivals]
