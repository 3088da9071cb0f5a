"""The app's configuration from intake's settings: what requests may carry, how JSON and URLs are read,
and the extensions every request reaches (the outbox, the settings, the account directory)."""
from __future__ import annotations

import secrets

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from invite_common.config import Settings
from invite_common.outbox import Outbox

from intake.approvals import levels
from intake.auth import settings as auth_settings
from intake.batches.readers import EXCEL_MAX_ROW
from intake.invites import directory
from intake.validation.rules import parse_org_domains

# The largest body any request may carry: a batch file of 5 MB, with its form around it.
MAX_BODY_BYTES = 5 * 1024 * 1024


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


def register_config(app: Flask, settings: Settings, outbox: Outbox) -> None:
    """Configure the app from the settings and hand it the outbox, the settings and the directory lookup."""
    # the same file approval routes by: intake previews it, fills the queues by it and checks deciders by it
    policy = levels.load_policy(settings.approval_policy)
    app.json = BoundedJSONProvider(app)
    app.url_map.converters["row_number"] = RowNumberConverter
    app.config.update(
        # signs sessions and CSRF tokens; production refuses to start without a real one (a random
        # one would not survive a restart nor be shared by several instances)
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        DEV_IDENTITY=auth_settings.dev_identity_allowed(settings),
        OIDC_ROLES_CLAIM=settings.oidc_roles_claim,
        OIDC_EMAIL_ALWAYS_VERIFIED=settings.oidc_email_always_verified,
        AUTH_MODE=settings.auth_mode,
        ORG_DOMAINS=parse_org_domains(settings.org_email_domains),
        REQUEST_EXPIRY_DAYS=settings.request_expiry_days,
        APPROVAL_POLICY=policy,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
    )
    app.extensions["outbox"] = outbox
    app.extensions["settings"] = settings
    app.extensions["directory"] = directory.lookup_for(
        settings.directory_url, settings.directory_lookup_token, settings.directory_lookup_timeout)
