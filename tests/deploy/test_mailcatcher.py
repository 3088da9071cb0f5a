"""The developer mail catcher (deploy/mailcatcher.py), run as a process on free ports with real SMTP."""
from __future__ import annotations

import json
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.ports import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "mailcatcher.py"
HOSTILE_SUBJECT = 'Invitation <script>alert("x")</script> & <b>bold</b>'
BODY_MARKER = "the-body-never-goes-to-the-log"


class Catcher:
    def __init__(self, proc: subprocess.Popen, smtp_port: int, http_port: int, folder: Path):
        self.proc, self.smtp_port, self.http_port, self.folder = proc, smtp_port, http_port, folder

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def messages(self) -> list[dict]:
        status, body = self.get("/messages.json")
        assert status == 200
        return json.loads(body)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(sig)
        out, _ = self.proc.communicate(timeout=10)
        return self.proc.returncode, out


def _wait_until_ready(catcher: Catcher, deadline: float) -> None:
    while time.monotonic() < deadline:
        if catcher.proc.poll() is not None:
            pytest.fail(f"mail catcher exited early:\n{catcher.proc.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", catcher.smtp_port), timeout=1):
                pass
            if catcher.get("/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail("mail catcher did not answer on its SMTP and HTTP ports within 15 s")


@pytest.fixture
def catcher(tmp_path):
    smtp_port, http_port = free_port(), free_port()
    folder = tmp_path / "mail"
    env = {
        "MAILCATCHER_SMTP": f"127.0.0.1:{smtp_port}",
        "MAILCATCHER_HTTP": f"127.0.0.1:{http_port}",
        "MAILCATCHER_DIR": str(folder),
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT)], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    running = Catcher(proc, smtp_port, http_port, folder)
    try:
        _wait_until_ready(running, time.monotonic() + 15)
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def send(catcher: Catcher, subject: str = HOSTILE_SUBJECT, bcc: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "TechPass Invites <no-reply@invites.local>"
    msg["To"] = "alice@tech.gov.sg"
    msg["Subject"] = subject
    msg.set_content(f"Hello Alice,\n{BODY_MARKER}\n")
    msg.add_alternative('<p>Hello <script>alert("html")</script><b>Alice</b></p>', subtype="html")
    recipients = ["alice@tech.gov.sg"] + ([bcc] if bcc else [])
    with smtplib.SMTP("127.0.0.1", catcher.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg, to_addrs=recipients)
    return msg


def test_received_mail_is_stored_as_eml_and_listed_in_json(catcher):
    send(catcher, bcc="hidden@vendor.example")

    files = sorted(catcher.folder.glob("*.eml"))
    assert len(files) == 1
    raw = files[0].read_bytes()
    assert b"To: alice@tech.gov.sg" in raw
    assert BODY_MARKER.encode() in raw

    [listed] = catcher.messages()
    assert listed["id"] == files[0].stem
    assert listed["from"] == "TechPass Invites <no-reply@invites.local>"
    assert listed["to"] == "alice@tech.gov.sg"
    assert listed["subject"] == HOSTILE_SUBJECT
    assert listed["received_at"].endswith("Z")
    assert listed["envelope_to"] == ["alice@tech.gov.sg", "hidden@vendor.example"]

    status, body = catcher.get(f"/messages/{listed['id']}.eml")
    assert (status, body) == (200, raw)


def test_messages_are_listed_newest_first(catcher):
    send(catcher, subject="first")
    send(catcher, subject="second")
    assert [m["subject"] for m in catcher.messages()] == ["second", "first"]


def test_web_listing_escapes_html_in_headers(catcher):
    send(catcher)
    status, page = catcher.get("/")
    assert status == 200
    text = page.decode()
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in text


def test_message_page_shows_text_and_sandboxes_html(catcher):
    send(catcher)
    [listed] = catcher.messages()
    status, page = catcher.get(f"/messages/{listed['id']}")
    text = page.decode()
    assert status == 200
    assert "<script>" not in text
    assert BODY_MARKER in text
    assert '<iframe sandbox="" ' in text
    assert "srcdoc=\"&lt;p&gt;Hello &lt;script&gt;alert(&quot;html&quot;)&lt;/script&gt;" in text

    status, detail = catcher.get(f"/messages/{listed['id']}.json")
    detail = json.loads(detail)
    assert BODY_MARKER in detail["text"]
    assert "<b>Alice</b>" in detail["html"]


@pytest.mark.parametrize("path", [
    "/messages/20000101T000000000000Z-00000000",
    "/messages/20000101T000000000000Z-00000000.eml",
    "/messages/..%2f..%2fetc%2fpasswd.eml",
    "/messages/../mail.eml",
    "/nothing-here",
])
def test_unknown_paths_are_not_found(catcher, path):
    assert catcher.get(path)[0] == 404


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_and_logs_one_line_per_message_without_body(catcher, sig):
    send(catcher)
    [listed] = catcher.messages()
    code, out = catcher.stop(sig)
    assert code == 0
    received = [line for line in out.splitlines() if "received" in line]
    assert len(received) == 1
    assert listed["id"] in received[0]
    assert BODY_MARKER not in out


def test_refuses_to_start_when_its_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "--smtp", f"127.0.0.1:{free_port()}", "--http", f"127.0.0.1:{port}", "--dir", str(tmp_path)],
            capture_output=True, text=True, timeout=20,
        )
    assert result.returncode == 1
    assert "cannot listen for HTTP" in result.stderr
