"""Configuration read from environment variables, with the defaults of the external contract."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "test", "production")
AUTH_MODES = ("dev", "oidc")
# Broker URLs a service may read; each is checked for the broker's well-known guest login.
AMQP_URL_VARIABLES = ("AMQP_URL", "INTAKE_AMQP_URL", "APPROVAL_AMQP_URL", "NOTIFIER_AMQP_URL")


# Variables of the sign-in settings: one spelt wrong would silently fall back to a default, so an
# OIDC_ name that is not one of them, or a near miss of any of them, AUTH_MODE or SECRET_KEY, is refused.
SIGN_IN_VARIABLES = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_AUDIENCE", "OIDC_ROLES_CLAIM",
                     "OIDC_REDIRECT_URI", "OIDC_SCOPES", "OIDC_EMAIL_ALWAYS_VERIFIED", "SESSION_IDLE_MINUTES",
                     "SESSION_MAX_HOURS")
# SESSION_ is not claimed whole: desktop sessions set SESSION_MANAGER.
SIGN_IN_PREFIX = "OIDC_"
NEAR_MISS_OF = ("AUTH_MODE", "SECRET_KEY")


class ConfigError(SystemExit):
    """A setting the service must not start with.

    A SystemExit, so every service stops at start with the message alone (no traceback), and
    through the same path whichever service read the setting."""

    def __init__(self, message: str):
        super().__init__(f"configuration error: {message}")


def _bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _floats(raw: str) -> tuple[float, ...]:
    return tuple(float(x) for x in raw.split(",") if x.strip())


def check_names(environ) -> None:
    """Refuse a misspelt sign-in variable, naming the one that was probably meant."""
    import difflib

    known = SIGN_IN_VARIABLES + NEAR_MISS_OF
    for name in environ:
        if name in known:
            continue
        meant = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        if meant:
            raise ConfigError(f"{name} is not a setting; did you mean {meant[0]}?")
        if name.startswith(SIGN_IN_PREFIX):
            others = ", ".join(v for v in SIGN_IN_VARIABLES if v.startswith(SIGN_IN_PREFIX))
            raise ConfigError(f"{name} is not a setting; the OIDC_ settings are {others}")


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} is not a positive whole number")
    return value


def choice(name: str, raw: str | None, allowed: tuple[str, ...], default: str) -> str:
    """Read a setting with a fixed set of values, case-insensitively and trimmed; refuse anything else."""
    value = (raw or "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(f"{name}={raw!r} is not one of {', '.join(allowed)}")
    return value


def uses_guest_login(amqp_url: str) -> bool:
    """Tell whether a broker URL logs in as RabbitMQ's guest (also when it names no user: kombu's default)."""
    parts = urlsplit(amqp_url)
    return (parts.username or "guest").lower() == "guest"


def parse_bind(raw: str) -> tuple[str, int]:
    """Split `host:port` (IPv6 hosts in brackets) into its parts."""
    host, _, port = raw.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass(frozen=True)
class Settings:
    """Every knob the services read; built from the environment by `load`."""

    env: str = "development"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    # Prefixes every exchange and queue name so several deployments (or test runs) can share a
    # broker without seeing each other's messages; empty in normal use.
    amqp_namespace: str = ""
    amqp_quorum_queues: bool = False
    amqp_prefetch: int = 50
    # Delays between consumer retries of a transient failure; their count bounds the retries.
    retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0)
    intake_db_url: str = ""
    approval_db_url: str = ""
    notifier_db_url: str = ""
    # the role `python -m <service> migrate` connects as (it owns the schema); empty: the service's own
    intake_migration_db_url: str = ""
    approval_migration_db_url: str = ""
    notifier_migration_db_url: str = ""
    # the certificate authorities (PEM bundle) outgoing TLS trusts instead of the system's (invite_common.tls)
    tls_ca_file: str = ""
    smtp_url: str = "smtp://127.0.0.1:1025"
    smtp_timeout: float = 10.0
    mail_from: str = "TechPass Invites <no-reply@invites.local>"
    intake_bind: str = "127.0.0.1:8080"
    approval_bind: str = "127.0.0.1:8081"
    notifier_bind: str = "127.0.0.1:8082"
    # intake's /metrics (and a second /healthz and /readyz) on a listener of their own, away from
    # the portal's public port; the workers serve theirs on their own small ports above
    intake_metrics_bind: str = "127.0.0.1:8083"
    # the interactive API docs and the OpenAPI document; on unless ENV=production (see `load`)
    api_docs: bool = True
    org_email_domains: str = "gov.sg"
    auth_mode: str = "dev"
    role_grants: str = ""
    secret_key: str = ""
    # Production sign-in (AUTH_MODE=oidc): the provider, this app's registration there, the API's
    # audience, and the claim that carries roles (empty: roles come from the role table alone).
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_audience: str = ""
    oidc_roles_claim: str = "roles"
    oidc_redirect_uri: str = ""
    oidc_scopes: str = "openid email profile"
    # Only a provider that verifies every address it issues (a workforce directory, say) may leave
    # `email_verified` out of its tokens; otherwise a token without the claim names nobody.
    oidc_email_always_verified: bool = False
    # A portal session ends after this long unused, and in any case this long after sign-in.
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    activation_url: str = "https://techpass.invites.local/activate"
    request_expiry_days: int = 14
    seed_enrolment_days: int = 14
    # how often approvers get the digest of new and soon-expiring requests
    approver_digest_minutes: int = 60
    # the auto-approval rules file (TOML or JSON); unset: every request waits for an approver
    approval_policy: str = ""
    # where people open the portal; links in emails point here
    portal_url: str = "http://127.0.0.1:8080"
    # the portal always tells requesters an invitation was sent; this adds an email to them
    notify_requester_when_sent: bool = False
    # A SCIM 2.0 directory (base URL ending in /v2 or the like) and its bearer token; unset means
    # accounts live in approval's own database (the local directory).
    directory_url: str = ""
    directory_token: str = ""
    directory_timeout: float = 10.0
    # intake asks the directory for existing accounts while a person waits: a shorter wait, after
    # which the request is accepted and provisioning's own look decides
    directory_lookup_timeout: float = 3.0
    # intake only searches: give it a token that can do no more (falls back to DIRECTORY_TOKEN)
    directory_lookup_token: str = ""
    log_level: str = "INFO"
    # each service's own broker user; empty means AMQP_URL (see `amqp_url_for`)
    intake_amqp_url: str = ""
    approval_amqp_url: str = ""
    notifier_amqp_url: str = ""
    # abuse limits of intake: shared rate-limit storage (in-memory when empty), per-user rates, quotas
    rate_limit_storage_url: str = ""
    rate_limits: tuple[tuple[str, str], ...] = ()
    open_requests_per_requester: int = 5000
    requests_per_day_per_requester: int = 5000
    # batch drafts not submitted are deleted after this many days; an upload's reading budget (CPU seconds)
    draft_expiry_days: float = 7.0
    upload_parse_seconds: float = 1.5
    # the HTTP server's own limits (waitress)
    http_channel_timeout: int = 30
    http_connection_limit: int = 1000
    # The reverse proxy (ingress, load balancer) in front of intake: its address, or "*" for
    # whatever connects, and how many proxies the request passed. Only then are X-Forwarded-For
    # and -Proto believed, so rate limits count the person's address, not the proxy's.
    trusted_proxy: str = ""
    trusted_proxy_count: int = 1

    # The Ed25519 private key (PEM file) that signs the history's chain head; in development and
    # tests one is generated under var/ when unset, production refuses to start without it.
    audit_signing_key: str = ""
    # Extra public keys (PEM files, comma-separated) the verifier accepts, e.g. keys rotated out.
    audit_verify_keys: str = ""
    # Erase personal data of requests closed longer ago than this many days; 0 leaves it alone.
    retention_days: int = 0
    # Delete handled message ids and published outbox rows older than this many days (hourly);
    # 0 keeps them forever.
    message_log_days: int = 7
    var_dir: str = "var"
    # how long a stopping service may take to finish its work (below the orchestrator's grace period)
    shutdown_seconds: float = 20.0

    def migration_db_url_for(self, service: str) -> str:
        """The database URL `python -m <service> migrate` connects with; empty means the service's own."""
        return getattr(self, f"{service}_migration_db_url")

    def amqp_url_for(self, service: str) -> str:
        """The broker URL `service` connects with: its own user's URL, else AMQP_URL."""
        return getattr(self, f"{service}_amqp_url") or self.amqp_url


def _rate_limits(e) -> tuple[tuple[str, str], ...]:
    """`RATE_LIMIT_<ACTION>` overrides, e.g. RATE_LIMIT_SUBMIT="30/minute;300/day"."""
    prefix = "RATE_LIMIT_"
    return tuple(sorted(
        (name[len(prefix):].lower(), value) for name, value in e.items()
        if name.startswith(prefix) and name != "RATE_LIMIT_STORAGE_URL" and value
    ))


def load(environ: dict[str, str] | None = None, service: str | None = None, *, connects: bool = True) -> Settings:
    """Build Settings from `environ` (default: the process environment).

    With `service`, its own broker URL (`INTAKE_AMQP_URL`, ...: a broker user per service) wins
    over `AMQP_URL`. `connects=False` reads them for a command that never talks to the broker (the
    migration step, an operator's command): production's broker rules are then not its business,
    and it needs no broker password.
    """
    e = os.environ if environ is None else environ
    var = Path(e.get("INVITES_VAR_DIR", "var"))

    def get(name: str, default: str) -> str:
        value = e.get(name)
        return default if value is None or value == "" else value

    check_names(e)
    env = choice("ENV", e.get("ENV"), ENVIRONMENTS, "development")
    if env == "production" and connects:
        _refuse_guest_login(e, service)
    return Settings(
        env=env,
        amqp_url=get(f"{service.upper()}_AMQP_URL", get("AMQP_URL", Settings.amqp_url)) if service
        else get("AMQP_URL", Settings.amqp_url),
        amqp_namespace=get("AMQP_NAMESPACE", ""),
        amqp_quorum_queues=_bool(get("AMQP_QUORUM_QUEUES", "false")),
        amqp_prefetch=int(get("AMQP_PREFETCH", "50")),
        retry_delays=_floats(get("RETRY_DELAYS", "1,5,30")),
        intake_db_url=get("INTAKE_DB_URL", f"sqlite:///{var / 'intake.db'}"),
        approval_db_url=get("APPROVAL_DB_URL", f"sqlite:///{var / 'approval.db'}"),
        notifier_db_url=get("NOTIFIER_DB_URL", f"sqlite:///{var / 'notifier.db'}"),
        intake_migration_db_url=get("INTAKE_MIGRATION_DB_URL", ""),
        approval_migration_db_url=get("APPROVAL_MIGRATION_DB_URL", ""),
        notifier_migration_db_url=get("NOTIFIER_MIGRATION_DB_URL", ""),
        tls_ca_file=get("TLS_CA_FILE", ""),
        smtp_url=get("SMTP_URL", Settings.smtp_url),
        smtp_timeout=float(get("SMTP_TIMEOUT", "10")),
        mail_from=get("MAIL_FROM", Settings.mail_from),
        intake_bind=get("INTAKE_BIND", Settings.intake_bind),
        approval_bind=get("APPROVAL_BIND", Settings.approval_bind),
        notifier_bind=get("NOTIFIER_BIND", Settings.notifier_bind),
        intake_metrics_bind=get("INTAKE_METRICS_BIND", Settings.intake_metrics_bind),
        api_docs=_bool(get("API_DOCS", "false" if env == "production" else "true")),
        org_email_domains=get("ORG_EMAIL_DOMAINS", "gov.sg"),
        auth_mode=choice("AUTH_MODE", e.get("AUTH_MODE"), AUTH_MODES, "dev"),
        role_grants=get("ROLE_GRANTS", ""),
        secret_key=get("SECRET_KEY", ""),
        oidc_issuer=get("OIDC_ISSUER", "").strip(),
        oidc_client_id=get("OIDC_CLIENT_ID", "").strip(),
        oidc_client_secret=get("OIDC_CLIENT_SECRET", ""),
        oidc_audience=get("OIDC_AUDIENCE", "").strip(),
        # set but empty turns the claim off, so only the role table grants roles
        oidc_roles_claim=e["OIDC_ROLES_CLAIM"].strip() if "OIDC_ROLES_CLAIM" in e else Settings.oidc_roles_claim,
        oidc_redirect_uri=get("OIDC_REDIRECT_URI", "").strip(),
        oidc_scopes=get("OIDC_SCOPES", Settings.oidc_scopes),
        oidc_email_always_verified=_bool(get("OIDC_EMAIL_ALWAYS_VERIFIED", "false")),
        session_idle_minutes=_positive_int("SESSION_IDLE_MINUTES", get("SESSION_IDLE_MINUTES", "30")),
        session_max_hours=_positive_int("SESSION_MAX_HOURS", get("SESSION_MAX_HOURS", "12")),
        activation_url=get("ACTIVATION_URL", Settings.activation_url),
        request_expiry_days=int(get("REQUEST_EXPIRY_DAYS", "14")),
        seed_enrolment_days=int(get("SEED_ENROLMENT_DAYS", "14")),
        approver_digest_minutes=int(get("APPROVER_DIGEST_MINUTES", "60")),
        approval_policy=get("APPROVAL_POLICY", ""),
        portal_url=get("PORTAL_URL", Settings.portal_url).rstrip("/"),
        notify_requester_when_sent=_bool(get("NOTIFY_REQUESTER_WHEN_SENT", "false")),
        directory_url=get("DIRECTORY_URL", ""),
        directory_token=get("DIRECTORY_TOKEN", ""),
        directory_timeout=float(get("DIRECTORY_TIMEOUT", "10")),
        directory_lookup_timeout=float(get("DIRECTORY_LOOKUP_TIMEOUT", "3")),
        directory_lookup_token=get("DIRECTORY_LOOKUP_TOKEN", "") or get("DIRECTORY_TOKEN", ""),
        log_level=get("LOG_LEVEL", "INFO"),
        intake_amqp_url=get("INTAKE_AMQP_URL", ""),
        approval_amqp_url=get("APPROVAL_AMQP_URL", ""),
        notifier_amqp_url=get("NOTIFIER_AMQP_URL", ""),
        rate_limit_storage_url=get("RATE_LIMIT_STORAGE_URL", ""),
        rate_limits=_rate_limits(e),
        open_requests_per_requester=int(get("OPEN_REQUESTS_PER_REQUESTER", "5000")),
        requests_per_day_per_requester=int(get("REQUESTS_PER_DAY_PER_REQUESTER", "5000")),
        draft_expiry_days=float(get("DRAFT_EXPIRY_DAYS", "7")),
        upload_parse_seconds=float(get("UPLOAD_PARSE_SECONDS", "1.5")),
        http_channel_timeout=int(get("HTTP_CHANNEL_TIMEOUT", "30")),
        http_connection_limit=int(get("HTTP_CONNECTION_LIMIT", "1000")),
        trusted_proxy=get("TRUSTED_PROXY", ""),
        trusted_proxy_count=int(get("TRUSTED_PROXY_COUNT", "1")),
        audit_signing_key=get("AUDIT_SIGNING_KEY", ""),
        audit_verify_keys=get("AUDIT_VERIFY_KEYS", ""),
        retention_days=int(get("RETENTION_DAYS", "0")),
        message_log_days=_at_least_zero("MESSAGE_LOG_DAYS", get("MESSAGE_LOG_DAYS", "7")),
        var_dir=str(var),
        shutdown_seconds=_positive_float("SHUTDOWN_SECONDS", get("SHUTDOWN_SECONDS", "20")),
    )


def _refuse_guest_login(e, service: str | None) -> None:
    """Refuse, in production, a broker URL that logs in as RabbitMQ's guest.

    A service is judged by the URL it connects with (its own `<SERVICE>_AMQP_URL`, else
    `AMQP_URL`, whose default is the guest login): a deployment that gives each service its own
    user never needs AMQP_URL. Without a service (a tool reading the settings), every URL that is
    set is judged, and AMQP_URL's default when none is."""
    if service:
        own = f"{service.upper()}_AMQP_URL"
        judged = [own] if e.get(own) else ["AMQP_URL"]
    else:
        judged = [name for name in AMQP_URL_VARIABLES if e.get(name)] or ["AMQP_URL"]
    for name in judged:
        # AMQP_URL unset means the default, which is the guest login
        url = e.get(name) or Settings.amqp_url
        if uses_guest_login(url):
            raise ConfigError(f"{name} logs in as the broker's guest user, which ENV=production refuses")


def _positive_float(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ConfigError(f"{name}={raw!r} is not a positive number of seconds")
    return value


def _at_least_zero(name: str, raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(f"{name} must be 0 or more")
    return value


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a sqlite:/// URL's file so a fresh checkout starts without setup."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
