#!/usr/bin/env python
"""What intake's HTTP half of an invite costs, against the same web stack doing nothing else.

    .venv/bin/python bench/floor.py              # 3,000 requests each
    .venv/bin/python bench/floor.py --n 10000

Measured in one run, so that the machine's speed at that moment is shared by all figures:

1. bare POST: a Flask app with one flask-smorest route validating a four-field marshmallow schema
   and answering 201 with a small JSON body, served by waitress in a process of its own exactly as
   intake is (`python -m waitress`), called over one kept-alive connection. Its CPU per request
   (from /proc) is what any request through this stack costs, before the application does
   anything.
2. intake: the real intake app (SQLite in a temporary folder), served by waitress the same way:
   one email invitation submitted, then approved, by two people; its CPU per pair. Beyond the
   bare stack this is the application's own work for the two requests of an invite (roles,
   validation, quotas, checks, rate limits, the request and its history, the outbox rows, the
   access log); the relay that publishes the two messages is not running (see pipeline.py).

The services' CPU per invite in `pipeline.py` is compared with these in bench/README.md: two bare
requests are the least an invite's HTTP half can cost with this stack.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.support.cpu import cpu_seconds  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

BARE_APP = textwrap.dedent('''
    from flask import Flask
    from flask.views import MethodView
    from flask_smorest import Api, Blueprint
    from marshmallow import Schema, fields, validate

    class Invite(Schema):
        method = fields.String(required=True, validate=validate.OneOf(["email_invitation", "create_account"]))
        email = fields.Email(required=True)
        seed_onboarding = fields.Boolean(required=True)
        reason = fields.String(required=True, validate=validate.Length(min=1, max=500))

    class Created(Schema):
        id = fields.String()
        email = fields.String()

    app = Flask("bare")
    app.config.update(API_TITLE="bare", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    blp = Blueprint("invites", "invites", url_prefix="/api/v1")

    @blp.route("/invites")
    class Invites(MethodView):
        @blp.arguments(Invite())
        @blp.response(201, Created())
        def post(self, data):
            return {"id": "r1", "email": data["email"]}

    api.register_blueprint(blp)
''')

BODY = {"method": "email_invitation", "email": "kim@tech.gov.sg", "seed_onboarding": False, "reason": "Joining the platform team"}


INTAKE_APP = textwrap.dedent('''
    import os
    from invite_common import logs
    from intake import settings as intake_settings
    from invite_common.db import apply_migrations, connect
    from invite_common.outbox import Outbox
    from invite_common.topology import Topology
    from intake.app import create_app
    from intake.auth.roles import parse_role_grants
    from intake.db import database
    from intake.migrations import MIGRATIONS
    from intake.models import RoleGrant

    folder = os.getcwd()
    db = connect(f"sqlite:///{folder}/intake.db")
    database.initialize(db)
    apply_migrations(db, MIGRATIONS)
    settings = intake_settings.load({
        "ROLE_GRANTS": "approver:bob@tech.gov.sg", "INVITES_VAR_DIR": f"{folder}/var",
        # one requester and one approver at full speed, as in pipeline.py
        "RATE_LIMIT_SUBMIT": "1000000/second", "RATE_LIMIT_DECIDE": "1000000/second",
        "OPEN_REQUESTS_PER_REQUESTER": "100000000", "REQUESTS_PER_DAY_PER_REQUESTER": "100000000",
    })
    logs.configure("intake", settings.log_level)  # the access log, as the service writes it
    with database.atomic():
        for role, email in parse_role_grants(settings.role_grants):
            RoleGrant.create(role=role, email=email)
    app = create_app(settings, Outbox(database, Topology()))
''')


class Served:
    """A WSGI app (`module:app` in `source`) served by waitress in a process of its own."""

    def __init__(self, source: str):
        import requests

        self.folder = tempfile.TemporaryDirectory()
        (Path(self.folder.name) / "served_app.py").write_text(source)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "served_app:app"],
            cwd=self.folder.name, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.session = requests.Session()
        deadline = time.monotonic() + 30
        while True:
            try:
                self.session.get(self.base + "/", timeout=2)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.close()
                    raise SystemExit("the app did not start") from None
                time.sleep(0.05)

    def post(self, path: str, body: dict, user: str | None = None, expect: int = 201) -> dict:
        response = self.session.post(self.base + path, json=body, timeout=10, headers={"X-Dev-User": user} if user else {})
        if response.status_code != expect:
            raise SystemExit(f"{path} answered {response.status_code}: {response.text[:200]}")
        return response.json()

    def cpu_per(self, n: int, one) -> float:
        """The server's CPU ms per call of `one(i)`, after 200 calls to warm it."""
        for i in range(200):
            one(i)
        before = cpu_seconds(self.process.pid)
        for i in range(200, 200 + n):
            one(i)
        return 1000 * (cpu_seconds(self.process.pid) - before) / n

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.folder.cleanup()


def bare_post(n: int) -> float:
    """Server CPU ms per request of the bare flask-smorest route under waitress."""
    served = Served(BARE_APP)
    try:
        return served.cpu_per(n, lambda i: served.post("/api/v1/invites", BODY))
    finally:
        served.close()


def intake_pair(n: int) -> float:
    """Server CPU ms per submit + approve of intake's own app under waitress."""
    served = Served(INTAKE_APP)

    def one(i: int) -> None:
        created = served.post("/api/v1/invites", BODY | {"email": f"p{i}@tech.gov.sg"}, "amy@tech.gov.sg")
        served.post(f"/api/v1/invites/{created['id']}/approve", {"comment": "ok"}, "bob@tech.gov.sg", expect=202)

    try:
        return served.cpu_per(n, one)
    finally:
        served.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="requests (bare) and invites (intake) measured (default 3000)")
    args = parser.parse_args(argv)
    bare = bare_post(args.n)
    pair = intake_pair(args.n)
    print(f"nproc={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    print(f"bare flask-smorest POST under waitress, server CPU per request    {bare:6.2f} ms")
    print(f"  two of them (an invite's submit and approve)                    {2 * bare:6.2f} ms")
    print(f"intake submit + approve under waitress, server CPU per pair       {pair:6.2f} ms")
    print(f"  ratio intake pair / two bare requests                           {pair / (2 * bare):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
