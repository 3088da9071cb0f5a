"""Build the intake Flask app: the JSON API, its OpenAPI document, health endpoints and error mapping."""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import time

import peewee
import swagger_ui_bundle
from flask import Flask, g, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import IntegerConverter

from invite_common.config import Settings
from invite_common.logs import request_context
from invite_common.health import Health, broker_check, database_check
from invite_common.outbox import Outbox

from intake.web import headers
from intake.limits import rates as limits
from intake.invites import directory
from intake.web import metrics as http_metrics
from intake.validation.shapes import ShapesPlugin
from intake.auth import settings as auth_settings
from intake.auth.oidc import IdentityProvider, ProviderUnavailable
from intake.auth.sessions import ServerSessionInterface
from intake.batches.readers import EXCEL_MAX_ROW
from intake.db import database
from intake.errors import Conflict, Forbidden, InvalidInput, NotFound, error_response
from intake.auth.identity import Unauthenticated
from intake.limits.quotas import QuotaExceeded
from intake.portal import bp as portal
from intake.portal import errors as portal_errors
from intake.validation.rules import parse_org_domains

log = logging.getLogger(__name__)

# The largest body any request may carry: a batch file of 5 MB, with its form around it.
MAX_BODY_BYTES = 5 * 1024 * 1024
TOO_MANY = "You have done this many times in a short while; wait a little, then try again."


def _quota_exceeded(exc: QuotaExceeded):
    if portal_errors.wants_page():
        response = portal_errors.page(429, str(exc))
    else:
        response, _ = error_response(429, str(exc), retry_after=exc.retry_after)
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response, 429


def _register_errors(app: Flask) -> None:
    def unauthenticated(exc: Unauthenticated):
        response, status = error_response(401, str(exc))
        challenge = exc.challenge()
        if challenge:
            response.headers["WWW-Authenticate"] = challenge
        return response, status

    app.register_error_handler(Unauthenticated, unauthenticated)

    def provider_unavailable(exc: ProviderUnavailable):
        if portal_errors.wants_page():
            return portal_errors.provider_unavailable(exc)
        log.warning("identity provider unavailable", extra={"error": str(exc)})
        return error_response(503, "Tokens cannot be checked just now: the identity provider cannot be reached.")

    app.register_error_handler(ProviderUnavailable, provider_unavailable)
    app.register_error_handler(Forbidden, lambda e: error_response(403, str(e)))
    app.register_error_handler(NotFound, lambda e: error_response(404, "No such request."))
    app.register_error_handler(
        Conflict,
        lambda e: error_response(409, str(e), {e.field: [str(e)]} if e.field else None, existing_id=e.existing_id),
    )
    app.register_error_handler(InvalidInput, lambda e: error_response(422, "Some fields need attention.", e.errors))
    app.register_error_handler(QuotaExceeded, _quota_exceeded)
    # a body nested deeper than a parser can follow (webargs reads JSON with the standard library)
    app.register_error_handler(RecursionError, lambda e: error_response(400, "The request body is nested too deeply to read."))

    def webargs_error(exc: HTTPException):
        # flask-smorest nests errors by location ({"query": {...}}); the contract is {field: [msg]}
        messages = getattr(exc, "data", {}).get("messages", {})
        flat: dict = {}
        for per_location in messages.values():
            flat.update(per_location)
        return error_response(422, "Some fields need attention.", flat or None)

    app.register_error_handler(422, webargs_error)

    def http_error(exc: HTTPException):
        retry_after = getattr(exc, "retry_after", None)  # a rate limit's (intake.limits.rates.TooManyAttempts)
        if portal_errors.wants_page():
            response = portal_errors.http_error(exc)
        elif exc.code == 429:
            response, _ = error_response(429, TOO_MANY, retry_after=retry_after)
        else:
            response, _ = error_response(exc.code or 500, exc.description or exc.name)
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        if isinstance(exc, MethodNotAllowed):
            response.headers["Allow"] = ", ".join(exc.valid_methods or ())
        return response, exc.code or 500

    app.register_error_handler(HTTPException, http_error)

    def unexpected(exc: Exception):
        if isinstance(exc, (peewee.OperationalError, peewee.InterfaceError)):
            log.warning("database unavailable", extra={"error": exc.__class__.__name__})
            if not database.is_closed():
                database.close()
            return error_response(503, "The service cannot reach its database just now; try again in a moment.")
        log.exception("unexpected error")
        return error_response(500, "Something went wrong on our side; nothing you sent was lost.")

    app.register_error_handler(Exception, unexpected)


class ErrorSchema(Schema):
    """Every error answer of the API, as `error_response` writes it (documented for each operation)."""

    status = fields.Integer(required=True)
    message = fields.String(required=True)
    # {field: [message]}; a batch's rows or a bulk decision's items nest deeper
    errors = fields.Dict(keys=fields.String())
    existing_id = fields.String()
    retry_after = fields.Integer(allow_none=True)
    rows = fields.List(fields.Dict())


class IntakeApi(Api):
    """flask-smorest's Api, documenting the error answers this app gives."""

    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, *args, **kwargs):
        super()._init_spec(*args, extra_plugins=[ShapesPlugin()], **kwargs)
        self.ma_plugin.converter.add_attribute_function(_null_is_only_null)


# apispec's OpenAPI 3.0 form of a nullable nested object
_ANY_OBJECT_OR_NULL = {"type": "object", "nullable": True}


def _null_is_only_null(converter, field, ret, **kwargs) -> dict:
    """Document a nullable nested object as that object or null: apispec's null branch alone
    would accept any object at all, so answers of another shape would pass as documented."""
    for branch in ret.get("anyOf", []):
        if branch == _ANY_OBJECT_OR_NULL:
            branch["enum"] = [None]
    return {}


class RowNumberConverter(IntegerConverter):
    """A row number in a batch file: 1 to Excel's last row; anything else matches no route (404)."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=EXCEL_MAX_ROW)


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a body nested deeper than the parser can follow is malformed (ValueError),
    as any other unreadable body, instead of a RecursionError."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


# intake's outbox keeps every accepted request while the broker is away, so it stays ready and says so
BROKER_DOWN = "broker unavailable, requests held in the outbox"


def intake_health(settings: Settings) -> Health:
    """Intake's health when no running service supplies it (the app alone, in tests)."""
    return Health({"database": database_check(database), "broker": broker_check(settings.amqp_url_for("intake"))},
                  degraded={"broker": BROKER_DOWN})


def create_app(settings: Settings, outbox: Outbox, health: Health | None = None) -> Flask:
    """Create the intake app bound to an open database and its outbox; refuse settings it must not run with.

    `health` is the running service's (its loops, its stop); without one, the database and broker are checked."""
    auth_settings.check(settings)
    production = settings.env == "production"
    app = Flask(__name__)
    app.json = BoundedJSONProvider(app)
    app.url_map.converters["row_number"] = RowNumberConverter
    app.config.update(
        # signs CSRF tokens; production refuses to start without a real one (a random one would not
        # survive a restart nor be shared by several instances)
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        # the portal's session cookie: out of scripts' reach, not sent on cross-site posts, HTTPS-only in
        # production, where the __Host- prefix also keeps it to this exact host. Lax, not Strict: the
        # provider's redirect back after sign-in is a cross-site navigation that must carry it.
        SESSION_COOKIE_NAME="__Host-session" if production else "session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        DEV_IDENTITY=auth_settings.dev_identity_allowed(settings),
        OIDC_ROLES_CLAIM=settings.oidc_roles_claim,
        OIDC_EMAIL_ALWAYS_VERIFIED=settings.oidc_email_always_verified,
        # a form's token lasts as long as its session, so a long-open form is not refused for its age
        WTF_CSRF_TIME_LIMIT=None,
        AUTH_MODE=settings.auth_mode,
        ORG_DOMAINS=parse_org_domains(settings.org_email_domains),
        REQUEST_EXPIRY_DAYS=settings.request_expiry_days,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="Invite Users",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        # API_DOCS: the document and the interactive docs at /api/docs, with Swagger UI's files
        # served from this app, not a CDN; off, neither is served (production's default: they map
        # the whole API for anyone who reaches the portal)
        OPENAPI_URL_PREFIX="/api" if settings.api_docs else None,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/static/",
        JSON_SORT_KEYS=False,
    )
    app.extensions["outbox"] = outbox
    app.extensions["settings"] = settings
    app.extensions["directory"] = directory.lookup_for(
        settings.directory_url, settings.directory_lookup_token, settings.directory_lookup_timeout)
    app.session_interface = ServerSessionInterface(
        idle=dt.timedelta(minutes=settings.session_idle_minutes), lifetime=dt.timedelta(hours=settings.session_max_hours)
    )
    if settings.auth_mode == "oidc":
        app.extensions["oidc"] = IdentityProvider(settings, app)

    api = IntakeApi(app)
    api.register_converter(RowNumberConverter, lambda _: {"type": "integer", "minimum": 1, "maximum": EXCEL_MAX_ROW})
    from intake.api import approvals, audit, batches, invites

    for module in (invites, approvals, batches, audit):
        api.register_blueprint(module.blp)
    _register_errors(app)

    @app.before_request
    def _open_db():
        g.started = time.monotonic()
        if "session_error" in g:
            raise g.session_error
        database.connect(reuse_if_open=True)

    @app.after_request
    def _log_request(response):
        # the route's pattern, never the URL: query strings may carry emails
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        invite_id = (request.view_args or {}).get("invite_id")
        with request_context(invite_id):
            log.info(
                "http request",
                extra={"method": request.method, "route": rule, "status": response.status_code,
                       "ms": round((time.monotonic() - g.get("started", time.monotonic())) * 1000, 1)},
            )
        return response

    # Each server thread keeps its connection between requests (opening one per request cost
    # a PostgreSQL backend each time); a connection that failed is dropped and opened afresh.

    if settings.api_docs:
        @app.get("/api/docs/static/<path:filename>")
        def swagger_ui_static(filename):
            """Serve Swagger UI's own files for the interactive API docs."""
            return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)

    health = health or intake_health(settings)

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
    http_metrics.instrument(app)
    app.register_blueprint(portal)
    _protect_forms(app)
    headers.install(app, production=settings.env == "production")
    app.extensions["rate_limiter"] = limits.install(app, settings.rate_limit_storage_url, settings.rate_limits)
    return app


def _protect_forms(app: Flask) -> None:
    """Require a CSRF token on every form post; the JSON API (all under /api) is exempt: it
    authenticates by header, which another site cannot make a browser send."""
    csrf = CSRFProtect(app)
    for blueprint in app.blueprints.values():
        if (blueprint.url_prefix or "").startswith("/api"):
            csrf.exempt(blueprint)
