"""Run the notifier worker: `python -m notifier`."""
from __future__ import annotations

import argparse
import sys

from invite_common import config, logs
from invite_common.runtime import run_until_signalled


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m notifier", description="The Invite Users notifier worker.").parse_args(argv)
    settings = config.load()
    logs.configure("notifier", settings.log_level)
    from notifier import bootstrap

    service = bootstrap.start(settings)
    run_until_signalled("notifier", settings.notifier_bind, service.stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
