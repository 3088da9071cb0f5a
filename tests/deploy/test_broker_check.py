"""`make run` asks the broker first (deploy/broker_check.py): on, it goes on; a refused login or no
broker is said in words with what to do; a local RabbitMQ that is installed but stopped is started."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.support.ports import free_port
from tests.support.proxy import CuttableProxy

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "broker_check.py"


def check(amqp_url: str, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("AMQP_URL", "RABBITMQ_NODE_PORT")}
    return subprocess.run([sys.executable, str(SCRIPT)], env=environ | {"AMQP_URL": amqp_url} | env,
                          capture_output=True, text=True, timeout=120)


def with_port(url: str, port: int, password: str | None = None) -> str:
    parts = urlparse(url)
    user = parts.username or "guest"
    secret = parts.password or "guest" if password is None else password
    return parts._replace(netloc=f"{user}:{secret}@127.0.0.1:{port}").geturl()


def test_a_broker_that_answers_and_takes_the_login_lets_the_services_start(amqp_url):
    done = check(amqp_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RabbitMQ answers at" in done.stdout


def test_a_refused_login_is_said_without_the_password(amqp_url):
    done = check(with_port(amqp_url, urlparse(amqp_url).port or 5672, password="not-the-Password-42"))
    assert done.returncode == 1
    assert "refused the login" in done.stdout and "not-the-Password-42" not in done.stdout + done.stderr


def test_no_broker_is_said_with_the_install_line_and_nothing_is_started(amqp_url, tmp_path):
    port = free_port()
    marker = tmp_path / "started"
    fake = fake_server(tmp_path, marker)
    done = check(with_port(amqp_url, port), PATH=f"{fake.parent}:{os.environ['PATH']}", RABBITMQ_NODE_PORT=str(free_port()))
    assert done.returncode == 1
    assert f"Nothing answers as RabbitMQ at 127.0.0.1:{port}" in done.stdout
    assert "sudo apt-get install -y rabbitmq-server" in done.stdout
    assert "make deps" in done.stdout
    assert not marker.exists()  # a broker elsewhere than a local install listens is not this machine's to start


@pytest.mark.skipif(os.geteuid() != 0, reason="starting RabbitMQ takes root, as in .ci/run")
def test_an_installed_but_stopped_local_rabbitmq_is_started_and_waited_for(amqp_url, tmp_path):
    # the stand-in for the installed server: started, it lets the check through to the real broker
    parts = urlparse(amqp_url)
    proxy = CuttableProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    proxy.cut()
    marker = tmp_path / "started"
    fake = fake_server(tmp_path, marker)

    def start_when_asked():
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # a server takes a moment to listen
        proxy.restore()

    threading.Thread(target=start_when_asked, daemon=True).start()
    try:
        done = check(with_port(amqp_url, proxy.port), PATH=f"{fake.parent}:{os.environ['PATH']}",
                     RABBITMQ_NODE_PORT=str(proxy.port))
    finally:
        proxy.close()
    assert done.returncode == 0, done.stdout + done.stderr
    assert marker.read_text().split() == ["-detached"]
    assert "starting it" in done.stdout and "RabbitMQ started." in done.stdout


def fake_server(tmp_path: Path, marker: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    server = folder / "rabbitmq-server"
    server.write_text(f'#!/bin/sh\necho "$@" > "{marker}"\n')
    server.chmod(0o755)
    return server
