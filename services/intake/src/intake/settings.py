"""Intake's settings, one row each (the rows every service reads come from invite_common.config)."""
from __future__ import annotations

from typing import Mapping

from invite_common import config
from invite_common.config import ConfigError, Setting, bind, boolean, choice, seconds, stripped, text, whole

AUTH_MODES = ("dev", "oidc")


def _api_docs_default(values) -> str:
    return "false" if values["env"] == "production" else "true"


def _portal_url(variable: str, raw: str) -> str:
    return config.url("https", "http")(variable, raw).rstrip("/")


def _proxies(variable: str, raw: str) -> str:
    # addresses and ranges (checked here, read by intake.web.serving), or `*` alone
    from ipaddress import ip_network

    items = [item.strip() for item in raw.split(",") if item.strip()]
    if items == ["*"] or not items:
        return ",".join(items)
    for item in items:
        try:
            ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"{variable}: {item!r} is not an address or range such as 10.244.0.0/16 "
                              "(or `*` alone for any peer)") from None
    return ",".join(items)


# The rate-limited actions and their budgets, which intake/limits/rates.py counts: action -> limits in
# the `limits` library's notation; RATE_LIMIT_<ACTION> overrides one (e.g. RATE_LIMIT_SUBMIT).
DEFAULT_LIMITS = {
    "submit": "30/minute;300/day",
    "upload": "10/minute;100/day",
    "batch_submit": "10/minute;100/day",
    "resend": "10/minute;50/day",
    "decide": "120/minute;3000/day",
    # per address and email signed in as; and per address, whatever the emails tried
    "sign_in": "10/minute;100/hour",
    "sign_in_per_address": "60/minute;1000/hour",
    # single sign-on: the trips to the provider and back (GETs), per address
    "sign_in_redirects": "30/minute;300/hour",
    # the Roles page's search as an administrator types (GETs)
    "people_search": "60/minute;1000/hour",
}


def _rate_limits(variable: str, members: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    # an action not above, or a limit the `limits` library cannot read, is named at start
    if not members:
        return members
    from limits import parse_many

    for action, value in members:
        name = f"RATE_LIMIT_{action.upper()}"
        if action not in DEFAULT_LIMITS:
            raise ConfigError(f"{name} names no rate-limited action ({', '.join(DEFAULT_LIMITS)})")
        try:
            parse_many(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not a limit such as 30/minute;300/day") from None
    return members


ROWS = [
    Setting("INTAKE_METRICS_BIND", "127.0.0.1:8083", bind,
            "intake's `/metrics` (with `/healthz` and `/readyz`), on a listener of its own: never on the portal's port"),
    Setting("API_DOCS", _api_docs_default, boolean,
            "serve the OpenAPI document (`/api/openapi.json`) and the interactive docs (`/api/docs`)",
            shown_default="true; false when ENV=production"),
    Setting("PORTAL_URL", "http://127.0.0.1:8080", _portal_url, "where people open the portal; links in emails point here"),
    config.ORG_EMAIL_DOMAINS,
    config.REQUEST_EXPIRY_DAYS,
    config.APPROVAL_POLICY,
    Setting("AUTH_MODE", "dev", choice(*AUTH_MODES),
            "`dev`: the development sign-in and `X-Dev-User`, only when ENV is development or test; `oidc`: single sign-on"),
    Setting("ROLE_GRANTS", "", text,
            "when set, the whole list of grants, applied at start: `approver:bob@tech.gov.sg,auditor:carol@tech.gov.sg`"),
    Setting("SECRET_KEY", "", text, "signs the portal's cookies and form tokens; in production at least 32 random bytes"),
    Setting("OIDC_ISSUER", "", stripped, "the OpenID provider (https in production)"),
    Setting("OIDC_CLIENT_ID", "", stripped, "the portal's client at the provider"),
    Setting("OIDC_CLIENT_SECRET", "", text, "the portal's client secret"),
    Setting("OIDC_AUDIENCE", "", stripped, "the audience of the API's access tokens (not the client id)"),
    Setting("OIDC_ROLES_CLAIM", "roles", stripped,
            "the token claim that carries roles (a dotted path); set but empty, only the role table grants roles",
            empty_is_value=True),
    Setting("OIDC_REDIRECT_URI", "", stripped, "the portal's callback address registered at the provider"),
    Setting("OIDC_SCOPES", "openid email profile", text, "the scopes the portal asks for at sign-in"),
    Setting("OIDC_EMAIL_ALWAYS_VERIFIED", "false", boolean,
            "take a token without `email_verified` only from a provider that verifies every address"),
    Setting("SESSION_IDLE_MINUTES", "30", whole(1), "a portal session ends after this long unused"),
    Setting("SESSION_MAX_HOURS", "12", whole(1), "and in any case this long after sign-in"),
    Setting("APPROVER_DIGEST_MINUTES", "60", whole(0), "how often approvers get the digest email; 0 turns it off"),
    config.DIRECTORY_URL,
    Setting("DIRECTORY_TOKEN", "", text, "the directory's token, used by intake only when DIRECTORY_LOOKUP_TOKEN is unset"),
    Setting("DIRECTORY_LOOKUP_TOKEN", lambda values: values["directory_token"], text,
            "a search-only token for intake's lookups of existing accounts", shown_default="DIRECTORY_TOKEN"),
    Setting("DIRECTORY_LOOKUP_TIMEOUT", "3", seconds,
            "seconds intake waits for the directory before accepting a request and leaving the check to provisioning"),
    Setting("RATE_LIMIT_STORAGE_URL", "", text,
            "where every intake instance counts each person's actions (`redis://…`); in memory when unset"),
    Setting("RATE_LIMIT_<ACTION>", "", _rate_limits,
            "a per-person limit in place of the default, e.g. `RATE_LIMIT_SUBMIT=30/minute;300/day`", field="rate_limits"),
    Setting("OPEN_REQUESTS_PER_REQUESTER", "5000", whole(1), "requests a person may have open at once"),
    Setting("REQUESTS_PER_DAY_PER_REQUESTER", "5000", whole(1), "requests a person may make in 24 hours"),
    Setting("DRAFT_EXPIRY_DAYS", "7", seconds, "batch drafts not submitted by then are hidden and deleted"),
    Setting("UPLOAD_PARSE_SECONDS", "1.5", seconds, "CPU seconds reading one uploaded file may take"),
    Setting("HTTP_CHANNEL_TIMEOUT", "30", whole(1), "seconds an idle client connection is kept"),
    Setting("HTTP_CONNECTION_LIMIT", "1000", whole(1), "client connections held at once"),
    Setting("TRUSTED_PROXY", "", _proxies,
            "the reverse proxies whose X-Forwarded-For and -Proto are believed: addresses or ranges "
            "(`10.244.0.0/16`), comma-separated, or `*` for any peer"),
    Setting("TRUSTED_PROXY_COUNT", "1", whole(1), "how many proxies a request passes"),
    Setting("AUDIT_SIGNING_KEY", "", text,
            "the Ed25519 private key (PEM file) that signs the history's chain head; generated under var/ outside production"),
    Setting("AUDIT_VERIFY_KEYS", "", text, "more public keys (PEM files, comma-separated) the verifier accepts"),
    Setting("RETENTION_DAYS", "0", whole(0), "erase personal data of requests closed longer ago than this; 0 keeps it"),
]

# Spelt wrong, a sign-in setting would fall back to its default without a word: a near miss of one
# of these, or an OIDC_ name that is none of them, stops intake at start.
SIGN_IN_VARIABLES = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_AUDIENCE", "OIDC_ROLES_CLAIM",
                     "OIDC_REDIRECT_URI", "OIDC_SCOPES", "OIDC_EMAIL_ALWAYS_VERIFIED", "SESSION_IDLE_MINUTES",
                     "SESSION_MAX_HOURS", "AUTH_MODE", "SECRET_KEY")

IntakeSettings = config.settings_type("IntakeSettings", "intake", ROWS)


def load(environ: Mapping[str, str] | None = None, *, connects: bool = True) -> IntakeSettings:
    """Intake's settings from `environ` (default: the process's); see invite_common.config.load."""
    import os

    environ = os.environ if environ is None else environ
    config.refuse_near_misses(environ, SIGN_IN_VARIABLES, prefixes=("OIDC_",))
    settings = config.load("intake", ROWS, IntakeSettings, environ, connects=connects)
    if settings.env == "production" and connects:
        refuse_a_private_portal_url(environ, settings.portal_url)
    return settings


def refuse_a_private_portal_url(environ: Mapping[str, str], portal_url: str) -> None:
    """Refuse, in production, a PORTAL_URL left unset or not https: the links in every email point
    there, and the default (http://127.0.0.1:8080) would send invitees to their own machine."""
    config.require_in_production(environ, "PORTAL_URL",
                                 "the portal's public https address, e.g. https://invites.example.gov.sg "
                                 "(the links in emails point there)")
    if not portal_url.startswith("https://"):
        raise ConfigError("PORTAL_URL must be an https:// address when ENV=production (the portal's public "
                          "address behind its TLS proxy; the links in emails point there)")


# every setting at its default: what code outside a running app (a script, a sweeper's test) reads
DEFAULTS = load({})
