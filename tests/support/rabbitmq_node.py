"""A RabbitMQ node of a test's own, beside the machine's broker and without touching it.

The node has its own name, ports (AMQP, AMQP over TLS, Erlang distribution), data and log folders,
configuration file, Erlang cookie and no plugins; it runs as the `rabbitmq` system user, from the
installed server's own start script (not the system wrapper, which writes the machine broker's log
files), with Erlang's schedulers told not to busy-wait (`+sbwt none`): on a machine of two cores a
spinning broker takes CPU the services under test need. Given a certificate it listens for TLS too.
Nodes made with one cookie can be joined into a cluster (`join`).
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.certificates import TestAuthority
from tests.support.ports import free_port

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
CTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
SYSTEM_USER = "rabbitmq"
ERL_ARGS = "+sbwt none +sbwtdcpu none +sbwtdio none -kernel inet_dist_use_interface {127,0,0,1}"


def why_not_available() -> str | None:
    """Say why a private node cannot run here, or None when it can."""
    if not SERVER.exists() or not CTL.exists():
        return f"{SERVER} is missing: install Debian's rabbitmq-server to run a node of a test's own"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "starting a RabbitMQ node as the rabbitmq user needs root and runuser"
    try:
        import pwd

        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        return "there is no rabbitmq system user"
    return None


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class RabbitNode:
    """One node; `start()` boots it, `stop()` halts it and removes its folder."""

    name: str
    authority: TestAuthority | None = None
    cookie: str = field(default_factory=lambda: secrets.token_hex(20))
    amqp_port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    admin_user: str = "rehearsal-admin"
    admin_password: str = field(default_factory=lambda: secrets.token_hex(16))
    root: Path | None = None
    process: subprocess.Popen | None = None
    frozen: bool = False

    @property
    def node(self) -> str:
        return f"{self.name}@localhost"

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "RabbitNode":
        why_not = why_not_available()
        if why_not:
            pytest.skip(why_not)
        self.root = Path(tempfile.mkdtemp(prefix=f"rabbit-{self.name}-"))
        for folder in ("home", "mnesia", "log"):
            (self.root / folder).mkdir()
        (self.root / "rabbitmq.conf").write_text(self._config())
        (self.root / "enabled_plugins").write_text("[].\n")
        cookie = self.root / "home" / ".erlang.cookie"
        cookie.write_text(self.cookie)
        subprocess.run(["chown", "-R", f"{SYSTEM_USER}:{SYSTEM_USER}", str(self.root)], check=True)
        self.root.chmod(0o755)
        cookie.chmod(0o400)
        self._launch(timeout)
        return self

    def _launch(self, timeout: float) -> None:
        env = self._env() | {
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": ERL_ARGS,
        }
        out = open(self.root / "server.out", "ab")
        self.process = subprocess.Popen(self._as_rabbitmq(env, str(SERVER)), stdout=out, stderr=subprocess.STDOUT,
                                        cwd=self.root, start_new_session=True)
        try:
            self._wait_listening(timeout)
        except AssertionError:
            self.stop()  # a node that did not come up leaves nothing running or on disk
            raise

    def stop(self) -> None:
        """Halt the node (its CLI first, a kill if that fails) and delete its folder."""
        if self.process is not None and self.process.poll() is None and self.frozen:
            # a frozen node cannot be asked; runuser, which stops itself when its child stops, would
            # not come back with it either
            self.crash()
        if self.process is not None and self.process.poll() is None:
            self.ctl("stop", check=False, timeout=30)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def crash(self) -> None:
        """End the node's Erlang VM at once (SIGKILL), as a failed machine would; its data stays for `restart`."""
        os.killpg(self.process.pid, 9)
        self.process.wait(20)

    def freeze(self) -> None:
        """Stop the node's processes where they are (SIGSTOP): it closes no socket and answers nothing,
        as a powered-off machine or a partitioned one looks to its clients. `stop` ends it."""
        os.killpg(self.process.pid, signal.SIGSTOP)
        self.frozen = True

    def halt(self) -> None:
        """Stop the node as an operator would for maintenance (`rabbitmqctl stop`), keeping its data."""
        self.ctl("stop", timeout=60)
        self.process.wait(30)

    def restart(self, timeout: float = 90.0) -> None:
        """Boot the node again on its own data after `crash` or `halt`: a cluster member rejoins by itself."""
        self._launch(timeout)

    def log(self) -> str:
        if self.root is None:
            return ""
        parts = [p.read_text(errors="replace") for p in [self.root / "server.out", *sorted((self.root / "log").glob("*.log"))]
                 if p.exists()]
        return "\n".join(parts)

    # -- its command-line tool ----------------------------------------------------------------------
    def ctl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run `rabbitmqctl` against this node (as the rabbitmq user, with this node's cookie)."""
        done = subprocess.run(self._as_rabbitmq(self._env(), str(CTL), "-q", "-n", self.node, *args),
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(args[:1])} failed: {done.stderr.strip()[:500]}")
        return done

    def import_definitions(self, path: Path) -> None:
        """Load a definitions file (users, permissions, topology), as `rabbitmqctl import_definitions` does."""
        readable = Path(self.root) / "home" / path.name
        shutil.copyfile(path, readable)
        readable.chmod(0o644)
        self.ctl("import_definitions", str(readable))

    def change_password(self, user: str, password: str) -> None:
        self.ctl("change_password", user, password)

    def join(self, other: "RabbitNode") -> None:
        """Join this (started) node to `other`'s cluster; both must share the cookie."""
        self.ctl("stop_app")
        self.ctl("join_cluster", other.node)
        self.ctl("start_app")

    # -- addresses ----------------------------------------------------------------------------------
    def url(self, user: str, password: str, *, tls: bool = True, vhost: str = "/") -> str:
        path = "" if vhost == "/" else quote(vhost, safe="")
        if tls:
            return f"amqps://{user}:{password}@127.0.0.1:{self.tls_port}/{path}"
        return f"amqp://{user}:{password}@127.0.0.1:{self.amqp_port}/{path}"

    def admin_url(self, *, tls: bool = False) -> str:
        return self.url(self.admin_user, self.admin_password, tls=tls)

    # -- inside -------------------------------------------------------------------------------------
    def _config(self) -> str:
        lines = [
            f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}",
            # the node's first user is an administrator of the test's own: no guest account at all
            f"default_user = {self.admin_user}",
            f"default_pass = {self.admin_password}",
            "log.console = false",
            "log.file.level = info",
        ]
        if self.authority is not None:
            lines += [
                f"listeners.ssl.default = 127.0.0.1:{self.tls_port}",
                f"ssl_options.cacertfile = {self.authority.ca_file}",
                f"ssl_options.certfile = {self.authority.cert_file}",
                f"ssl_options.keyfile = {self.authority.key_file}",
                "ssl_options.verify = verify_none",
                "ssl_options.fail_if_no_peer_cert = false",
            ]
        return "\n".join(lines) + "\n"

    def _env(self) -> dict[str, str]:
        return {
            "PATH": "/usr/sbin:/usr/bin:/bin",
            "HOME": str(self.root / "home"),
            "LANG": "C.UTF-8",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_CRASH_DUMP": str(self.root / "log" / "erl_crash.dump"),
            # never the machine broker's own settings file
            "RABBITMQ_CONF_ENV_FILE": "/dev/null",
        }

    @staticmethod
    def _as_rabbitmq(env: dict[str, str], *command: str) -> list[str]:
        return ["runuser", "-u", SYSTEM_USER, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *command]

    def _wait_listening(self, timeout: float) -> None:
        # the listeners open last in the boot: once they accept, the node serves
        ports = [self.amqp_port] + ([self.tls_port] if self.authority is not None else [])
        deadline = time.monotonic() + timeout
        while not all(_port_open(p) for p in ports):
            if self.process.poll() is not None:
                raise AssertionError(f"RabbitMQ node {self.node} exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"RabbitMQ node {self.node} not listening after {timeout}s:\n{self.log()[-3000:]}")
            time.sleep(0.2)
