"""Intake in this process on a database of the benchmark's own, driven through Flask's test client."""
from __future__ import annotations


def open_database(db_url: str):
    """Connect intake's models to `db_url` and bring its schema up to date; return the database."""
    from invite_common.db import apply_migrations, connect
    from intake.db import database
    from intake.migrations import MIGRATIONS

    db = connect(db_url)
    database.initialize(db)
    apply_migrations(db, MIGRATIONS)
    return db


def build_app(db_url: str):
    """The intake app on a fresh database at db_url, with the batch API registered; returns (app, database)."""
    from intake import settings as intake_settings
    from invite_common.outbox import Outbox
    from invite_common.topology import Topology
    from intake.app import create_app
    from intake.db import database

    db = open_database(db_url)
    app = create_app(intake_settings.load({}), Outbox(database, Topology()))
    return app, db
