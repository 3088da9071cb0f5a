"""Run the notifier worker: `python -m notifier`."""
from __future__ import annotations

import argparse
import sys

from invite_common import config, logs


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m notifier", description="The Invite Users notifier worker.").parse_args(argv)
    settings = config.load()
    logs.configure("notifier", settings.log_level)
    from notifier import bootstrap

    bootstrap.start(settings).run_until_signalled()
    return 0


if __name__ == "__main__":
    sys.exit(main())
