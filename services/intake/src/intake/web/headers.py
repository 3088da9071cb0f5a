"""Headers on every answer that is not a portal page: the API's, the API docs', and HSTS in production.

Portal pages get theirs from the portal's layout (`secure_headers`); the docs page is a page
too, so it gets the same policy (its script is a file of ours, not inline).
"""
from __future__ import annotations

from flask import Flask, request

from invite_common.config import Settings

from intake.auth.identity import is_portal_route
from intake.portal.layout import secure_headers

DOCS_PREFIX = "/api/docs"
HSTS = "max-age=31536000; includeSubDomains"


def register_headers(app: Flask, settings: Settings) -> None:
    """Add the API's and the docs' headers to every answer, and HSTS to those sent over HTTPS in production."""
    production = settings.env == "production"

    @app.after_request
    def _headers(response):
        if request.path.startswith(DOCS_PREFIX):
            secure_headers(response)
        elif request.path.startswith("/api/") and not is_portal_route():
            # answers name people and their requests: no cache keeps them; no browser guesses their type
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if production and request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
