"""Configuration read from environment variables, with the defaults of the external contract."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _bool(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _floats(raw: str) -> tuple[float, ...]:
    return tuple(float(x) for x in raw.split(",") if x.strip())


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
    smtp_url: str = "smtp://127.0.0.1:1025"
    smtp_timeout: float = 10.0
    mail_from: str = "TechPass Invites <no-reply@invites.local>"
    intake_bind: str = "127.0.0.1:8080"
    approval_bind: str = "127.0.0.1:8081"
    notifier_bind: str = "127.0.0.1:8082"
    org_email_domains: str = "gov.sg"
    auth_mode: str = "dev"
    role_grants: str = ""
    secret_key: str = ""
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
    log_level: str = "INFO"


def load(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from `environ` (default: the process environment)."""
    e = os.environ if environ is None else environ
    var = Path(e.get("INVITES_VAR_DIR", "var"))

    def get(name: str, default: str) -> str:
        value = e.get(name)
        return default if value is None or value == "" else value

    return Settings(
        env=get("ENV", "development"),
        amqp_url=get("AMQP_URL", Settings.amqp_url),
        amqp_namespace=get("AMQP_NAMESPACE", ""),
        amqp_quorum_queues=_bool(get("AMQP_QUORUM_QUEUES", "false")),
        amqp_prefetch=int(get("AMQP_PREFETCH", "50")),
        retry_delays=_floats(get("RETRY_DELAYS", "1,5,30")),
        intake_db_url=get("INTAKE_DB_URL", f"sqlite:///{var / 'intake.db'}"),
        approval_db_url=get("APPROVAL_DB_URL", f"sqlite:///{var / 'approval.db'}"),
        notifier_db_url=get("NOTIFIER_DB_URL", f"sqlite:///{var / 'notifier.db'}"),
        smtp_url=get("SMTP_URL", Settings.smtp_url),
        smtp_timeout=float(get("SMTP_TIMEOUT", "10")),
        mail_from=get("MAIL_FROM", Settings.mail_from),
        intake_bind=get("INTAKE_BIND", Settings.intake_bind),
        approval_bind=get("APPROVAL_BIND", Settings.approval_bind),
        notifier_bind=get("NOTIFIER_BIND", Settings.notifier_bind),
        org_email_domains=get("ORG_EMAIL_DOMAINS", "gov.sg"),
        auth_mode=get("AUTH_MODE", "dev"),
        role_grants=get("ROLE_GRANTS", ""),
        secret_key=get("SECRET_KEY", ""),
        activation_url=get("ACTIVATION_URL", Settings.activation_url),
        request_expiry_days=int(get("REQUEST_EXPIRY_DAYS", "14")),
        seed_enrolment_days=int(get("SEED_ENROLMENT_DAYS", "14")),
        approver_digest_minutes=int(get("APPROVER_DIGEST_MINUTES", "60")),
        approval_policy=get("APPROVAL_POLICY", ""),
        portal_url=get("PORTAL_URL", Settings.portal_url).rstrip("/"),
        notify_requester_when_sent=_bool(get("NOTIFY_REQUESTER_WHEN_SENT", "false")),
        log_level=get("LOG_LEVEL", "INFO"),
    )


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a sqlite:/// URL's file so a fresh checkout starts without setup."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
