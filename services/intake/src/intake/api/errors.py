"""Every error the API answers, in one place, each as the one JSON body an API error has.

The handlers are the app's own, so they also answer addresses no route matches; the portal's pages
answer their own errors (portal/errors.py), and so does a mistyped portal address: one that matches
no route and is not under /api.
"""
from __future__ import annotations

import logging

import peewee
from flask import Flask, Response, jsonify, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from intake.auth.identity import Unauthenticated
from intake.auth.oidc import ProviderUnavailable
from intake.batches.filetypes import TooLarge, UnsupportedFile
from intake.db import database
from intake.errors import Conflict, Forbidden, InvalidInput, NotFound
from intake.limits.quotas import QuotaExceeded
from intake.portal import errors as portal_errors

log = logging.getLogger(__name__)

TOO_MANY = "You have done this many times in a short while; wait a little, then try again."
NEEDS_ATTENTION = "Some fields need attention."
# what a 404 names, by the API blueprint it came from
NOT_FOUND = {"batches": "No such batch, or no such row in it."}
NO_SUCH_REQUEST = "No such request."


def error_response(status: int, message: str, errors: dict | None = None, **extra) -> tuple[Response, int]:
    """The API's error body: `{"status", "message", "errors": {field: [message]}, ...}`."""
    body = {"status": status, "message": message}
    if errors is not None:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return jsonify(body), status


class ErrorSchema(Schema):
    """Every error answer of the API, as `error_response` writes it (documented for each operation)."""

    status = fields.Integer(required=True)
    message = fields.String(required=True)
    # {field: [message]}; a batch's rows or a bulk decision's items nest deeper
    errors = fields.Dict(keys=fields.String())
    existing_id = fields.String()
    retry_after = fields.Integer(allow_none=True)
    rows = fields.List(fields.Dict())


def _with_retry_after(answer: tuple[Response, int], retry_after: int | None) -> tuple[Response, int]:
    if retry_after:
        answer[0].headers["Retry-After"] = str(retry_after)
    return answer


def unauthenticated(exc: Unauthenticated):
    """401, with the Bearer challenge in oidc mode."""
    response, status = error_response(401, str(exc))
    challenge = exc.challenge()
    if challenge:
        response.headers["WWW-Authenticate"] = challenge
    return response, status


def provider_unavailable(exc: ProviderUnavailable):
    """503: tokens cannot be checked while the identity provider is away."""
    log.warning("identity provider unavailable", extra={"error": str(exc)})
    return error_response(503, "Tokens cannot be checked just now: the identity provider cannot be reached.")


def invalid_input(exc: InvalidInput):
    """422 naming each field; a refused batch submit also lists the rows to fix."""
    errors = dict(exc.errors)
    # a refused submit names `batch`; elsewhere `rows` is a field of the body, named like any other
    rows = errors.pop("rows", None) if "batch" in errors else None
    if rows is None:
        return error_response(422, NEEDS_ATTENTION, errors)
    return error_response(422, errors.get("batch", ["Some rows need attention."])[0], errors, rows=rows)


def webargs_error(exc: HTTPException):
    """422 for a body or query its schema refused, as {field: [message]}."""
    # flask-smorest nests errors by location ({"query": {...}}); the contract is {field: [msg]}
    messages = getattr(exc, "data", {}).get("messages", {})
    flat: dict = {}
    for per_location in messages.values():
        flat.update(per_location)
    return error_response(422, NEEDS_ATTENTION, flat or None)


def http_error(exc: HTTPException):
    """HTTP's own errors (404, 405, 413, a rate limit's 429, ...); a page for a mistyped portal address."""
    retry_after = getattr(exc, "retry_after", None)  # a rate limit's (intake.limits.rates.TooManyAttempts)
    if portal_errors.wants_page():
        return portal_errors.http_error(exc), exc.code or 500
    if exc.code == 429:
        response, _ = error_response(429, TOO_MANY, retry_after=retry_after)
    else:
        response, _ = error_response(exc.code or 500, exc.description or exc.name)
    if isinstance(exc, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(exc.valid_methods or ())
    return _with_retry_after((response, exc.code or 500), retry_after)


def unexpected(exc: Exception):
    """503 while the database cannot be reached; 500 for anything else, logged."""
    if isinstance(exc, (peewee.OperationalError, peewee.InterfaceError)):
        log.warning("database unavailable", extra={"error": exc.__class__.__name__})
        if not database.is_closed():
            database.close()
        return error_response(503, "The service cannot reach its database just now; try again in a moment.")
    log.exception("unexpected error")
    return error_response(500, "Something went wrong on our side; nothing you sent was lost.")


def register_api_errors(app: Flask) -> None:
    """Answer every error with the API's JSON body, wherever the portal does not answer it with a page."""
    app.register_error_handler(Unauthenticated, unauthenticated)
    app.register_error_handler(ProviderUnavailable, provider_unavailable)
    app.register_error_handler(Forbidden, lambda e: error_response(403, str(e)))
    app.register_error_handler(NotFound, lambda e: error_response(404, NOT_FOUND.get(request.blueprint, NO_SUCH_REQUEST)))
    app.register_error_handler(
        Conflict,
        lambda e: error_response(409, str(e), {e.field: [str(e)]} if e.field else None, existing_id=e.existing_id),
    )
    app.register_error_handler(InvalidInput, invalid_input)
    app.register_error_handler(
        QuotaExceeded, lambda e: _with_retry_after(error_response(429, str(e), retry_after=e.retry_after), e.retry_after))
    # an upload too large or of another kind, named on its field
    app.register_error_handler(TooLarge, lambda e: error_response(413, str(e), {"file": [str(e)]}))
    app.register_error_handler(UnsupportedFile, lambda e: error_response(415, str(e), {"file": [str(e)]}))
    # a body nested deeper than a parser can follow (webargs reads JSON with the standard library)
    app.register_error_handler(RecursionError, lambda e: error_response(400, "The request body is nested too deeply to read."))
    app.register_error_handler(422, webargs_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)
