"""Run the intake service (`python -m intake`): the portal and the JSON API on INTAKE_BIND; manage
roles (`python -m intake roles list|grant|revoke`); or only bring intake's database schema up to
date (`python -m intake migrate`)."""
from __future__ import annotations

import argparse
import logging
import sys

from invite_common import config, logs
from invite_common.config import parse_bind

log = logging.getLogger("intake")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intake", description="The Invite Users portal and API.")
    sub = parser.add_subparsers(dest="command")
    roles = sub.add_parser("roles", help="list, grant or revoke approver, auditor and admin roles")
    actions = roles.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="print every grant: email, role, granted by, when")
    for action in ("grant", "revoke"):
        one = actions.add_parser(action, help=f"{action} one role; recorded in the history with --operator")
        one.add_argument("role", help="approver, auditor or admin")
        one.add_argument("email")
        one.add_argument("--operator", required=True, help="your email, recorded in the history auditors read")
    sub.add_parser("migrate", help="bring the database schema up to date, then exit")
    args = parser.parse_args(argv)

    settings = config.load(service="intake")
    logs.configure("intake", settings.log_level)
    if args.command == "roles":
        from intake import roles_command

        return roles_command.run(settings, args)

    from waitress import serve

    from intake import bootstrap

    if args.command == "migrate":
        from invite_common import runtime

        ran = runtime.migrate(bootstrap.declare(settings))
        print(f"intake schema up to date ({ran} migrations applied)")
        return 0
    service = bootstrap.start(settings)
    host, port = parse_bind(settings.intake_bind)
    log.info("intake listening", extra={"bind": settings.intake_bind})
    try:
        # waitress handles SIGINT/SIGTERM by returning from serve()
        serve(service.app, host=host, port=port, threads=8, ident="intake")
    finally:
        service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
