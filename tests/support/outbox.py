"""Wait for a service's outbox to be emptied by its relay: what was written has been published."""
from __future__ import annotations

import time

from invite_common.outbox import Outbox


def wait_until_published(outbox: Outbox, timeout: float = 10.0) -> bool:
    """Block until the outbox is empty, waking the relay meanwhile; False if it still holds rows after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if outbox.pending_count() == 0:
            return True
        outbox.notify()
        time.sleep(0.05)
    return False
