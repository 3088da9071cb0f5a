"""A CSRF token on every form post; the JSON API is exempt."""
from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect


def register_csrf(app: Flask) -> None:
    """Require a CSRF token on every form post; the JSON API (all under /api) is exempt: it
    authenticates by header, which another site cannot make a browser send. Call once every
    blueprint is registered."""
    # a form's token lasts as long as its session, so a long-open form is not refused for its age
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    csrf = CSRFProtect(app)
    for blueprint in app.blueprints.values():
        if (blueprint.url_prefix or "").startswith("/api"):
            csrf.exempt(blueprint)
