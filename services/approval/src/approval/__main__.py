"""Run the approval worker (`python -m approval`), retry a failed request (`python -m approval retry ID`),
close one for good (`python -m approval close ID --reason ...`), bring its schema up to date
(`python -m approval migrate`) or wait until it is (`wait-for-schema`)."""
from __future__ import annotations

import argparse
import sys

from invite_common import logs, tls

from approval import settings as approval_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m approval", description="The Invite Users approval worker.")
    sub = parser.add_subparsers(dest="command")
    retry = sub.add_parser("retry", help="run a failed request's step again")
    retry.add_argument("request_id")
    retry.add_argument("--operator", required=True, help="your email, recorded in the request's history")
    close = sub.add_parser("close", help="close a failed request that nothing can complete, telling its requester why")
    close.add_argument("request_id")
    close.add_argument("--reason", required=True, help="why, in words the requester reads (portal and email), one line")
    close.add_argument("--operator", required=True, help="your email, recorded in the request's history")
    sub.add_parser("migrate", help="bring the database schema up to date, then exit")
    wait = sub.add_parser("wait-for-schema", help="wait until the migration step has brought the schema up to "
                                                  "date, then exit (a pod's init container)")
    wait.add_argument("--timeout", type=float, default=600, help="seconds to wait before giving up [600]")
    args = parser.parse_args(argv)

    # only the service itself talks to the broker; its commands (migrate, ...) never do
    settings = approval_settings.load(connects=args.command is None)
    logs.configure("approval", settings.log_level)
    tls.trust(settings)
    from approval import bootstrap, workflow

    if args.command == "wait-for-schema":
        from invite_common import runtime

        return runtime.wait_for_schema(bootstrap.declare(settings), args.timeout)
    if args.command == "migrate":
        from invite_common import runtime

        ran = runtime.migrate(bootstrap.declare(settings))
        print(f"approval schema up to date ({ran} migrations applied)")
        return 0
    if args.command == "retry":
        bootstrap.open_database(settings)
        deps = bootstrap.build_dependencies(settings)
        try:
            state = bootstrap.retry(deps, args.request_id, args.operator)
        except (LookupError, workflow.InvalidTransition) as exc:
            print(f"cannot retry: {exc}", file=sys.stderr)
            return 1
        print(f"request {args.request_id} resumed in state {state}; the running service will carry on")
        return 0
    if args.command == "close":
        if not args.operator.strip():
            print("cannot close: --operator needs your email", file=sys.stderr)
            return 1
        bootstrap.open_database(settings)
        deps = bootstrap.build_dependencies(settings)
        try:
            closed = bootstrap.close(deps, args.request_id, args.operator.strip(), args.reason)
        except (LookupError, workflow.InvalidTransition, workflow.InvalidReason) as exc:
            print(f"cannot close: {exc}", file=sys.stderr)
            return 1
        if not closed:
            print(f"request {args.request_id} is already closed; nothing changed")
            return 0
        print(f"request {args.request_id} closed; its requester will be told why")
        return 0

    return bootstrap.start(settings).run_until_signalled()


if __name__ == "__main__":
    sys.exit(main())
