"""Build the intake web app: the portal and the JSON API, each part registered by the module that owns it."""
from __future__ import annotations

from flask import Flask

from invite_common.config import Settings
from invite_common.health import Health
from invite_common.outbox import Outbox

from intake.api.docs import register_api
from intake.api.errors import register_api_errors
from intake.auth import settings as auth_settings
from intake.auth.oidc import register_identity_provider
from intake.auth.sessions import register_sessions
from intake.limits.rates import register_limits
from intake.portal import register_portal
from intake.web.access_log import register_access_log
from intake.web.config import register_config
from intake.web.csrf import register_csrf
from intake.web.database import register_database
from intake.web.headers import register_headers
from intake.web.health import intake_health, register_health
from intake.web.metrics import register_metrics


def create_app(settings: Settings, outbox: Outbox, health: Health | None = None) -> Flask:
    """Create the intake app bound to an open database and its outbox; refuse settings it must not run with.

    `health` is the running service's (its loops, its stop); without one, the database and broker are checked.
    The order matters where hooks run in it: the database is opened before any view, CSRF and the
    rate limits see every route registered before them."""
    auth_settings.check(settings)
    app = Flask(__name__)
    register_config(app, settings, outbox)
    register_sessions(app, settings)
    register_identity_provider(app, settings)
    register_api(app, settings)
    register_api_errors(app)
    register_database(app)
    register_access_log(app)
    register_health(app, health or intake_health(settings))
    register_metrics(app)
    register_portal(app)
    register_csrf(app)
    register_headers(app, settings)
    register_limits(app, settings)
    return app
