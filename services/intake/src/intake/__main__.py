"""Run the intake service (`python -m intake`): the portal and the JSON API on INTAKE_BIND; or an
operator's audit command (`python -m intake audit verify`)."""
from __future__ import annotations

import argparse
import logging
import sys

from invite_common import config, logs
from invite_common.config import parse_bind

log = logging.getLogger("intake")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intake", description="The Invite Users intake service.")
    sub = parser.add_subparsers(dest="command")
    from intake.audit import cli as audit_cli

    audit_cli.add_commands(sub)
    args = parser.parse_args(argv)
    settings = config.load()
    logs.configure("intake", settings.log_level)
    if args.command == "audit":
        return audit_cli.run(args, settings)

    from waitress import serve

    from intake import bootstrap

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
