"""The README's API walk-through, pasted as a reader would, twice in a row: against the three
services and the mail catcher `make run` starts, with only their addresses changed to the test's."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tests.support.ports import free_port
from tests.support.system import make_system, wait_for_ok

ROOT = Path(__file__).resolve().parents[2]
PORTAL, CATCHER = "http://127.0.0.1:8080", "http://127.0.0.1:1080"


def walkthrough() -> str:
    """The shell block under the README's "Try it from the API" heading."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Try it from the API"):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def readme_mail_catcher(tmp_path):
    """deploy/mailcatcher.py, as `make run` starts it, on ports of the test's own."""
    smtp, http = free_port(), free_port()
    log = open(tmp_path / "mailcatcher.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "deploy/mailcatcher.py", "--smtp", f"127.0.0.1:{smtp}", "--http", f"127.0.0.1:{http}",
         "--dir", str(tmp_path / "mail")], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    web = f"http://127.0.0.1:{http}"
    wait_for_ok(f"{web}/messages.json", gone=lambda: None if proc.poll() is None else (tmp_path / "mailcatcher.log").read_text())
    yield SimpleNamespace(url=f"smtp://127.0.0.1:{smtp}", web=web)
    proc.terminate()
    proc.wait(10)


def test_the_readme_walkthrough_runs_twice_in_a_row_as_written(request, tmp_path, amqp_url, namespace, readme_mail_catcher):
    system = make_system(request, tmp_path, amqp_url, namespace, readme_mail_catcher)
    system.start()
    block = walkthrough()
    assert PORTAL in block and CATCHER in block
    script = block.replace(PORTAL, system.base).replace(CATCHER, readme_mail_catcher.web)
    invited = set()
    for run in (1, 2):
        # what the block left in its variables, printed after it, as the reader's shell would hold them
        done = subprocess.run(["bash", "-e", "-c", script + '\necho "ID=$ID INVITEE=$INVITEE"'],
                              capture_output=True, text=True, timeout=90)
        assert done.returncode == 0, f"run {run}:\n{done.stdout}\n{done.stderr}"
        invite_id, invitee = re.search(r"ID=(\S+) INVITEE=(\S+)$", done.stdout, re.M).groups()
        first, *_ = done.stdout.splitlines()
        assert json.loads(first)["state"] == "submitted", f"run {run}: {first}"
        assert f'{{"id":"{invite_id}","state":"submitted","status":"approval accepted"}}' in done.stdout, done.stdout
        system.wait_for_state(invite_id, "emailed", user="amy@tech.gov.sg")
        messages = requests.get(f"{readme_mail_catcher.web}/messages.json", timeout=5).json()
        assert any(invitee in json.dumps(message) for message in messages), f"run {run}: no email to {invitee}"
        invited.add(invitee)
        # the block names its invitee by the second; a reader never pastes it twice within one
        time.sleep(1.1)
    assert len(invited) == 2
