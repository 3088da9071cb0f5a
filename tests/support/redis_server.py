"""A Redis server of the test run's own, as the shipped manifests run theirs: counters only, nothing
on disk, on a loopback port; from Debian's redis-server."""
from __future__ import annotations

import shutil
import subprocess
import time

import redis

from tests.support.ports import free_port

PROGRAM = "/usr/bin/redis-server"


def why_not_available() -> str | None:
    return None if shutil.which(PROGRAM) else f"{PROGRAM} is missing (Debian's redis-server)"


class RedisServer:
    """redis-server on 127.0.0.1:<port>, `--save ""` and no append-only file, stopped with `stop`."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=2)

    def start(self, timeout: float = 10.0) -> "RedisServer":
        self._process = subprocess.Popen(
            [PROGRAM, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client().ping()
                return self
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None
