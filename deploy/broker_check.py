#!/usr/bin/env python
"""Before `make run` starts the services: does RabbitMQ answer, and does it take the login?

Without this a machine with no broker shows only the services' "connection lost" lines. Here the
broker is asked once, with the URL the services will use (AMQP_URL, default guest on 127.0.0.1:5672):
- it answers and takes the login: say so and go on (exit 0);
- nothing listens where a local install would (RABBITMQ_NODE_PORT, 5672 by default) and RabbitMQ
  is installed: start it as `.ci/run` does (`rabbitmq-server -detached`, as root) and wait for it;
- otherwise say exactly what to do, with the install line for Debian and Ubuntu (exit 1).
Only the host and port are ever printed, never the URL's password.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlparse

from amqp.exceptions import AccessRefused
from kombu import Connection

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672//"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
START_SECONDS = 60


def problem_with(url: str) -> str | None:
    """None when the broker answers and takes the login, else what went wrong, in a few words."""
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
            conn.channel()
    except AccessRefused:
        return "login refused"
    except Exception:  # kombu raises the transport's own errors: any other means no usable broker there
        return "not answering"
    return None


def rabbitmq_server() -> str | None:
    return shutil.which("rabbitmq-server") or next(
        (p for p in ("/usr/sbin/rabbitmq-server", "/usr/lib/rabbitmq/bin/rabbitmq-server") if os.access(p, os.X_OK)), None)


def start_local(server: str, url: str) -> bool:
    """Start the installed RabbitMQ and wait until it answers; False when it could not be started."""
    if os.geteuid() != 0:
        print("RabbitMQ is installed but not running. Start it, then run make run again:\n"
              "  sudo systemctl start rabbitmq-server      (or: sudo rabbitmq-server -detached)")
        return False
    print("RabbitMQ is installed but not running: starting it (rabbitmq-server -detached) ...", flush=True)
    subprocess.run([server, "-detached"], check=False)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if problem_with(url) is None:
            print("RabbitMQ started.")
            return True
        time.sleep(1)
    print(f"RabbitMQ did not answer within {START_SECONDS} s of starting; see /var/log/rabbitmq.")
    return False


def main() -> int:
    url = os.environ.get("AMQP_URL") or DEFAULT_URL
    parts = urlparse(url)
    where = f"{parts.hostname or '127.0.0.1'}:{parts.port or (5671 if parts.scheme == 'amqps' else 5672)}"
    problem = problem_with(url)
    if problem is None:
        print(f"RabbitMQ answers at {where}.")
        return 0
    if problem == "login refused":
        print(f"RabbitMQ at {where} refused the login of user {parts.username or 'guest'!r}: check the user and "
              "password in AMQP_URL (guest works only from this machine, and only on a default install).")
        return 1
    server = rabbitmq_server()
    # a local install listens on RABBITMQ_NODE_PORT (RabbitMQ's own variable), 5672 unless set
    local_port = int(os.environ.get("RABBITMQ_NODE_PORT") or 5672)
    if server and (parts.hostname or "127.0.0.1") in LOCAL_HOSTS and (parts.port or 5672) == local_port:
        return 0 if start_local(server, url) else 1
    print(f"Nothing answers as RabbitMQ at {where}. The services need it to run.\n"
          "  On Debian or Ubuntu:  sudo apt-get install -y rabbitmq-server   (it starts on 127.0.0.1:5672)\n"
          "  With a container engine:  make deps   (RabbitMQ, PostgreSQL, Redis and a mail catcher)\n"
          "  Elsewhere: https://www.rabbitmq.com/docs/download, or set AMQP_URL to a broker you have.\n"
          "Then run make run again.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
