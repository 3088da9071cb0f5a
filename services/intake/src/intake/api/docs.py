"""The JSON API on the app: its blueprints, and the OpenAPI document and interactive docs drawn from their schemas."""
from __future__ import annotations

import swagger_ui_bundle
from flask import Flask, send_from_directory
from flask_smorest import Api

from invite_common.config import Settings

from intake.api import approvals, audit, batches, delegations, invites, reassignments
from intake.api.errors import ErrorSchema
from intake.batches.readers import EXCEL_MAX_ROW
from intake.validation.shapes import ShapesPlugin
from intake.web.config import RowNumberConverter

BLUEPRINTS = (invites, approvals, batches, audit, delegations, reassignments)


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


def register_api(app: Flask, settings: Settings) -> None:
    """Serve the API under /api/v1 and, when API_DOCS is on, its document and interactive docs."""
    app.config.update(
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
    )
    api = IntakeApi(app)
    api.register_converter(RowNumberConverter, lambda _: {"type": "integer", "minimum": 1, "maximum": EXCEL_MAX_ROW})
    for module in BLUEPRINTS:
        api.register_blueprint(module.blp)
    if settings.api_docs:
        @app.get("/api/docs/static/<path:filename>")
        def swagger_ui_static(filename):
            """Serve Swagger UI's own files for the interactive API docs."""
            return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
