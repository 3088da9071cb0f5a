"""Run the intake service (`python -m intake`): the portal and the JSON API on INTAKE_BIND; manage
roles (`python -m intake roles list|grant|revoke`); only bring intake's database schema up to date
(`python -m intake migrate`) or wait until it is (`python -m intake wait-for-schema`); or an operator's audit command (`python -m intake audit verify|public-key|erase`)."""
from __future__ import annotations

import argparse
import sys

from invite_common import logs, tls

from intake import settings as intake_settings



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
    wait = sub.add_parser("wait-for-schema", help="wait until the migration step has brought the schema up to "
                                                  "date, then exit (a pod's init container)")
    wait.add_argument("--timeout", type=float, default=600, help="seconds to wait before giving up [600]")

    from intake.audit import cli as audit_cli

    audit_cli.add_commands(sub)
    args = parser.parse_args(argv)

    # only the service itself talks to the broker; its commands (migrate, ...) never do
    settings = intake_settings.load(connects=args.command is None)
    logs.configure("intake", settings.log_level)
    tls.trust(settings)
    if args.command == "roles":
        from intake.auth import roles_command

        return roles_command.run(settings, args)
    if args.command == "audit":
        return audit_cli.run(args, settings)

    from intake import bootstrap
    from intake.web import serving

    if args.command == "wait-for-schema":
        from invite_common import runtime

        return runtime.wait_for_schema(bootstrap.declare(settings), args.timeout)
    if args.command == "migrate":
        from invite_common import runtime

        ran = runtime.migrate(bootstrap.declare(settings))
        print(f"intake schema up to date ({ran} migrations applied)")
        return 0
    return serving.serve(bootstrap.start(settings), settings)


if __name__ == "__main__":
    sys.exit(main())
