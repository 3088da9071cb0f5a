"""Run the intake service (`python -m intake`): the portal and the JSON API on INTAKE_BIND.

`python -m intake migrate` only brings intake's database schema up to date, then exits.
"""
from __future__ import annotations

import logging
import sys

from invite_common import config, logs
from invite_common.config import parse_bind

log = logging.getLogger("intake")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    settings = config.load(service="intake")
    logs.configure("intake", settings.log_level)
    from waitress import serve

    from intake import bootstrap

    if argv[:1] == ["migrate"]:
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
