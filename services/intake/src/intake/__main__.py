"""Run the intake service (`python -m intake`): the portal and the JSON API on INTAKE_BIND; manage
roles (`python -m intake roles list|grant|revoke`); only bring intake's database schema up to date
(`python -m intake migrate`); or an operator's audit command (`python -m intake audit verify|public-key|erase`)."""
from __future__ import annotations

import argparse
import logging
import sys

from invite_common import config, logs, tls
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

    from intake.audit import cli as audit_cli

    audit_cli.add_commands(sub)
    args = parser.parse_args(argv)

    settings = config.load(service="intake")
    logs.configure("intake", settings.log_level)
    tls.trust(settings)
    if args.command == "roles":
        from intake import roles_command

        return roles_command.run(settings, args)
    if args.command == "audit":
        return audit_cli.run(args, settings)

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
        serve(service.app, host=host, port=port, threads=8, ident="intake", **server_limits(settings))
    finally:
        service.stop()
    return 0


def server_limits(settings) -> dict:
    """The HTTP server's own limits, matched to the application's.

    A body larger than any request may carry is refused from its Content-Length, before it is
    read; a client that stops sending is dropped after the channel timeout; stalled connections
    wait in the server's event loop, not in a worker thread, up to the connection limit. That
    loop uses poll(), not waitress's default select(): select() cannot watch a descriptor past
    1023 and ends the process when a connection gets one (containers allow far more open files).
    """
    from intake.app import MAX_BODY_BYTES

    limits = {
        "max_request_body_size": MAX_BODY_BYTES + 64 * 1024,  # room for the multipart envelope
        "channel_timeout": settings.http_channel_timeout,
        "connection_limit": settings.http_connection_limit,
        "cleanup_interval": max(1, min(30, settings.http_channel_timeout // 2)),
        "asyncore_use_poll": True,
    }
    return limits | proxy_settings(settings)


def proxy_settings(settings) -> dict:
    """Believe the forwarded client address and scheme only from the proxy TRUSTED_PROXY names.

    Behind an ingress every connection comes from the ingress: without this, the per-address
    sign-in limits would count everyone together. From anyone else the headers are dropped, so a
    client cannot choose the address it is counted under.
    """
    if not settings.trusted_proxy:
        return {}
    return {
        "trusted_proxy": settings.trusted_proxy,
        "trusted_proxy_count": settings.trusted_proxy_count,
        "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto x-forwarded-host",
        "clear_untrusted_proxy_headers": True,
    }


if __name__ == "__main__":
    sys.exit(main())
