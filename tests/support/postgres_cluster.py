"""A PostgreSQL cluster of a test's own, where roles log in with real passwords.

`initdb --auth=scram-sha-256` makes it (every connection, even the superuser's, needs its password),
run as the `postgres` system user with its own port, folder and socket directory, beside the
machine's server and without touching it. Tests use it where the shared server cannot serve: its
roles are global to the server, and it lets everyone in without a password.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.ports import free_port

SYSTEM_USER = "postgres"


def bin_dir() -> Path | None:
    """The newest installed server's programs (Debian keeps them under /usr/lib/postgresql/<major>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def why_not_available() -> str | None:
    if bin_dir() is None:
        return "no PostgreSQL server programs under /usr/lib/postgresql: install Debian's postgresql"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "running a PostgreSQL cluster as the postgres user needs root and runuser"
    if shutil.which("psql") is None:
        return "psql is missing"
    return None


@dataclass
class PostgresCluster:
    """A running cluster: `url()` for a role, `psql()` as its superuser."""

    port: int = field(default_factory=free_port)
    superuser_password: str = field(default_factory=lambda: secrets.token_hex(16))
    root: Path | None = None

    @property
    def version(self) -> str:
        return bin_dir().parent.name

    def start(self) -> "PostgresCluster":
        why_not = why_not_available()
        if why_not:
            pytest.skip(why_not)
        self.root = Path(tempfile.mkdtemp(prefix="postgres-"))
        try:
            self._make_and_start()
        except AssertionError:
            self.stop()  # a cluster that did not come up leaves nothing running or on disk
            raise
        return self

    def _make_and_start(self) -> None:
        password_file = self.root / "superuser-password"
        password_file.write_text(self.superuser_password + "\n")
        subprocess.run(["chown", "-R", f"{SYSTEM_USER}:{SYSTEM_USER}", str(self.root)], check=True)
        self.root.chmod(0o755)
        self._as_postgres("initdb", "-D", str(self.root / "data"), "--auth=scram-sha-256", "--username=postgres",
                          f"--pwfile={password_file}", "--encoding=UTF8", "--locale=C.UTF-8")
        password_file.unlink()
        options = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                   "-c fsync=off -c max_connections=100 -c shared_buffers=32MB")
        self._as_postgres("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "server.log"), "-o", options,
                          "-w", "-t", "60", "start")

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.root / "data" / "postmaster.pid").exists():
            self._as_postgres("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def log(self) -> str:
        path = self.root / "server.log" if self.root else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def url(self, user: str, password: str, database: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def psql(self, *args: str, variables: dict[str, str] | None = None, database: str = "postgres",
             check: bool = True) -> subprocess.CompletedProcess:
        """Run psql as the superuser, over TCP with its password; `variables` become `-v name=value`."""
        command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                   "-d", database]
        for name, value in (variables or {}).items():
            command += ["-v", f"{name}={value}"]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": self.superuser_password,
               "PGCONNECT_TIMEOUT": "10"}
        done = subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"psql failed: {done.stderr.strip()[:2000]}")
        return done

    def _as_postgres(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(["runuser", "-u", SYSTEM_USER, "--", str(bin_dir() / program), *args],
                              capture_output=True, text=True, timeout=120, cwd=self.root)
        if check and done.returncode != 0:
            raise AssertionError(f"{program} failed: {done.stderr.strip()[:2000]}\n{self.log()[-2000:]}")
        return done
