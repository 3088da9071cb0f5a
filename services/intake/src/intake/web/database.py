"""Each request on its server thread's database connection.

Each server thread keeps its connection between requests (opening one per request cost a
PostgreSQL backend each time); a connection that failed is dropped (api/errors.py) and opened afresh
by the next request.
"""
from __future__ import annotations

from flask import Flask, g

from intake.db import database


def register_database(app: Flask) -> None:
    """Connect each request to the database, unless reading its session already found the database away."""

    @app.before_request
    def _open_db():
        # the session is opened before any handler can answer: its error is raised here (auth/sessions.py)
        if "session_error" in g:
            raise g.session_error
        database.connect(reuse_if_open=True)
