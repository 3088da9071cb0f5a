"""Headers on every answer: a page's (the portal's and the API docs'), the API's, and HSTS in production.

The portal's pages get theirs as they leave the portal (portal/layout.py); the docs page is a page
too, so it gets the same policy (its script is a file of ours, not inline).
"""
from __future__ import annotations

from flask import Flask, current_app, has_request_context, request

from invite_common.config import Settings

from intake.auth.identity import is_portal_route

# Scripts and styles come only from the app's own static folder; nothing inline, nothing third party.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS_PREFIX = "/api/docs"
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy() -> str:
    """The portal's policy; with single sign-on, forms may also lead to the provider (sign-in and sign-out
    forms answer with a redirect there, and browsers hold redirects after a form to its form-action)."""
    provider = current_app.extensions.get("oidc") if has_request_context() else None
    if provider is None:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {' '.join(provider.origins())}")


def secure_headers(response):
    """Add the headers every portal page carries: no framing, no sniffing, no caching of personal data."""
    response.headers.setdefault("Content-Security-Policy", content_security_policy())
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Pages name invitees and their phone numbers: a shared computer's cache or back button keeps none.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


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
