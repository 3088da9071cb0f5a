"""Run the notifier worker: `python -m notifier`."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from invite_common import config, logs

log = logging.getLogger("notifier")


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m notifier", description="The Invite Users notifier worker.").parse_args(argv)
    settings = config.load()
    logs.configure("notifier", settings.log_level)
    from notifier import bootstrap

    service = bootstrap.start(settings)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    log.info("notifier started", extra={"bind": settings.notifier_bind})
    done.wait()
    log.info("notifier stopping")
    service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
