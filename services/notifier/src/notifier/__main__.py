"""Run the notifier worker (`python -m notifier`), or bring its schema up to date (`python -m notifier migrate`)."""
from __future__ import annotations

import argparse
import sys

from invite_common import config, logs
from invite_common.runtime import run_until_signalled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notifier", description="The Invite Users notifier worker.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("migrate", help="bring the database schema up to date, then exit")
    args = parser.parse_args(argv)
    settings = config.load(service="notifier")
    logs.configure("notifier", settings.log_level)
    from notifier import bootstrap

    if args.command == "migrate":
        bootstrap.open_database(settings)
        print("notifier schema up to date")
        return 0

    service = bootstrap.start(settings)
    run_until_signalled("notifier", settings.notifier_bind, service.stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
