"""Run a worker until SIGINT or SIGTERM, then stop it cleanly."""
from __future__ import annotations

import logging
import signal
import threading
from typing import Callable


def run_until_signalled(service: str, bind: str, stop: Callable[[], None]) -> None:
    """Block until the process is asked to stop, then call `stop` (its threads end their work)."""
    log = logging.getLogger(service)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    log.info(f"{service} started", extra={"bind": bind})
    done.wait()
    log.info(f"{service} stopping")
    stop()
