"""Container health check: `python -m invite_common.probe [intake|approval|notifier]` exits 0 when
the service answers `GET /healthz` on its own bind port, 1 otherwise.

Without an argument it reads which service runs as the container's first process, so one
image-wide HEALTHCHECK serves all three services.
"""
from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

from invite_common import config
from invite_common.config import parse_bind

SERVICES = ("intake", "approval", "notifier")


def service_of_first_process(cmdline: Path = Path("/proc/1/cmdline")) -> str | None:
    """Return the service `python -m <service>` runs as process 1, if it is one of ours."""
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return None
    for flag, name in zip(args, args[1:]):
        if flag == b"-m" and name.decode(errors="replace") in SERVICES:
            return name.decode()
    return None


def healthz_url(service: str, environ=None) -> str:
    """Return the loopback `/healthz` address of `service` under the environment's settings."""
    import os

    _, port = parse_bind(config.read(config.common_rows(service), os.environ if environ is None else environ, service)["bind"])
    return f"http://127.0.0.1:{port}/healthz"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    service = argv[0] if argv else service_of_first_process()
    if service not in SERVICES:
        print(f"usage: python -m invite_common.probe [{'|'.join(SERVICES)}]", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(healthz_url(service), timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"{service} not healthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
