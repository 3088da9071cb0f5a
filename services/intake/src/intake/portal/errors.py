"""Answer errors on portal URLs with pages in the portal's layout instead of the API's JSON."""
from __future__ import annotations

import logging

from flask import make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from intake import errors as domain
from intake.auth.oidc import ProviderUnavailable
from intake.auth.identity import Unauthenticated, is_portal_route
from intake.web.headers import secure_headers
from intake.limits.quotas import QuotaExceeded

log = logging.getLogger(__name__)

PAGES = {
    400: ("Something in the request was not right", "Go back, check the page and try again."),
    403: ("You cannot open this page", "You do not have access to this page."),
    404: ("Page not found", "If you typed the web address, check it is correct. "
          "If you followed a link to a request, it may belong to someone else."),
    405: ("Page not found", "This address cannot be opened this way. Go back and use the links on the page."),
    409: ("This cannot be done now", "The request changed since you opened the page. Go back and refresh it."),
    413: ("The file is too large", "Upload a file of 5 MB or less. Split a larger batch into several files."),
    422: ("Something needs changing before this can be done", "Go back, check the page and try again."),
    429: ("Please wait a moment", "You have done this many times in a short while. Nothing more was sent. "
          "Wait a few minutes, then go back and try again."),
    500: ("Sorry, there is a problem with the service", "Nothing you sent was lost. Try again in a few minutes."),
}
CSRF_PAGE = (
    "Your form could not be sent",
    "The page was open for too long or you signed out in another window, so nothing was sent. "
    "Go back, refresh the page and send the form again.",
)


def wants_page() -> bool:
    """Tell whether an error on this request should be a portal page rather than JSON."""
    if is_portal_route():
        return True
    # An address that matched no route and is not under /api is a mistyped portal address.
    return request.url_rule is None and not request.path.startswith("/api")


def page(status: int, message: str | None = None, title: str | None = None):
    """Render the error page for status, in the portal layout."""
    default_title, default_message = PAGES.get(status, PAGES[500] if status >= 500 else PAGES[400])
    body = render_template(
        "portal/error.html", title=title or default_title, message=message or default_message, status=status
    )
    return secure_headers(make_response(body, status))


def http_error(exc: HTTPException):
    """Show the page for an HTTP error raised on a portal route."""
    if isinstance(exc, CSRFError):
        return page(400, CSRF_PAGE[1], CSRF_PAGE[0])
    status = exc.code or 500
    # Werkzeug's own descriptions are developer prose; only 403s raised by the portal carry a message.
    response = page(status)
    if isinstance(exc, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(exc.valid_methods or ())
    retry_after = getattr(exc, "retry_after", None)  # a rate limit's (intake.limits.rates.TooManyAttempts)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def quota_exceeded(exc: QuotaExceeded):
    """Say which quota the requester reached, and when to try again if that is known."""
    response = page(429, str(exc), "You cannot make more requests now")
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def provider_unavailable(exc: ProviderUnavailable):
    """Say that signing in cannot happen now because the identity provider is away."""
    log.warning("identity provider unavailable", extra={"error": str(exc)})
    return page(503, "The organisation's sign-in service cannot be reached just now. Try again in a few minutes.",
                "Signing in is not possible just now")


def register_portal_errors(bp) -> None:
    """Answer every error on the portal's routes with a page."""
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(domain.NotFound, lambda e: page(404))
    bp.register_error_handler(domain.Forbidden, lambda e: page(403, str(e)))
    bp.register_error_handler(domain.Conflict, lambda e: page(409, str(e)))
    # what a page cannot show beside its own fields (a bulk decision larger than a rate limit allows)
    bp.register_error_handler(domain.InvalidInput, lambda e: page(422, " ".join(m for ms in e.errors.values() for m in ms)))
    bp.register_error_handler(QuotaExceeded, quota_exceeded)
    bp.register_error_handler(Unauthenticated, lambda e: redirect(url_for("portal.auth.sign_in")))
    bp.register_error_handler(ProviderUnavailable, provider_unavailable)

    def unexpected(exc: Exception):
        log.exception("unexpected error on a portal page")
        return page(500)

    bp.register_error_handler(Exception, unexpected)
