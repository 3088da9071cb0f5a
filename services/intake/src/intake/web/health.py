"""Intake's health on the portal's port: /healthz (its loops are alive) and /readyz (it can take requests)."""
from __future__ import annotations

from flask import Flask

from invite_common.config import Settings
from invite_common.health import Health, broker_check, database_check

from intake.db import database

# intake's outbox keeps every accepted request while the broker is away, so it stays ready and says so
BROKER_DOWN = "broker unavailable, requests held in the outbox"


def intake_health(settings: Settings) -> Health:
    """Intake's health when no running service supplies it (the app alone, in tests)."""
    return Health({"database": database_check(database), "broker": broker_check(settings.amqp_url)},
                  degraded={"broker": BROKER_DOWN})


def register_health(app: Flask, health: Health) -> None:
    """Answer /healthz and /readyz from `health`."""

    @app.get("/healthz")
    def healthz():
        """Say whether the process's loops are alive."""
        status, body = health.liveness()
        return body, status

    @app.get("/readyz")
    def readyz():
        """Say whether intake can take requests: its database answers (the broker may be away)."""
        status, body = health.readiness()
        return body, status
