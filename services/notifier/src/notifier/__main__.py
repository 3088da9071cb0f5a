"""Run the notifier worker (`python -m notifier`), bring its schema up to date (`python -m notifier migrate`) or wait until it is (`wait-for-schema`)."""
from __future__ import annotations

import argparse
import sys

from invite_common import logs, tls

from notifier import settings as notifier_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notifier", description="The Invite Users notifier worker.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("migrate", help="bring the database schema up to date, then exit")
    wait = sub.add_parser("wait-for-schema", help="wait until the migration step has brought the schema up to "
                                                  "date, then exit (a pod's init container)")
    wait.add_argument("--timeout", type=float, default=600, help="seconds to wait before giving up [600]")
    args = parser.parse_args(argv)
    # only the service itself talks to the broker; its commands (migrate, ...) never do
    settings = notifier_settings.load(connects=args.command is None)
    logs.configure("notifier", settings.log_level)
    tls.trust(settings)
    from notifier import bootstrap

    if args.command == "wait-for-schema":
        from invite_common import runtime

        return runtime.wait_for_schema(bootstrap.declare(settings), args.timeout)
    if args.command == "migrate":
        from invite_common import runtime

        ran = runtime.migrate(bootstrap.declare(settings))
        print(f"notifier schema up to date ({ran} migrations applied)")
        return 0

    return bootstrap.start(settings).run_until_signalled()


if __name__ == "__main__":
    sys.exit(main())
