"""The notifier's settings, one row each (the rows every service reads come from invite_common.config)."""
from __future__ import annotations

from typing import Mapping
from urllib.parse import parse_qsl, urlsplit

from invite_common import config
from invite_common.config import ConfigError, Setting, seconds, stripped, url

ROWS = [
    Setting("SMTP_URL", "smtp://127.0.0.1:1025", url("smtp", "smtps"),
            "the mail relay: `smtps://user:password@host:465`, or `smtp://host:587?starttls=true`"),
    Setting("SMTP_TIMEOUT", "10", seconds, "seconds the relay may take to answer"),
    Setting("MAIL_FROM", "TechPass Invites <no-reply@invites.local>", stripped, "the sender of every email"),
]

NotifierSettings = config.settings_type("NotifierSettings", "notifier", ROWS)


def load(environ: Mapping[str, str] | None = None, *, connects: bool = True) -> NotifierSettings:
    """The notifier's settings from `environ` (default: the process's); see invite_common.config.load."""
    import os

    environ = os.environ if environ is None else environ
    settings = config.load("notifier", ROWS, NotifierSettings, environ, connects=connects)
    if settings.env == "production" and connects:
        refuse_a_relay_without_tls(environ, settings.smtp_url)
    return settings


def refuse_a_relay_without_tls(environ: Mapping[str, str], smtp_url: str) -> None:
    """Refuse, in production, an SMTP_URL left unset (the default is a local mail catcher) or one
    that sends in clear text: the relay login and every invitation would cross the network readable.
    The messages name the variable and never its value, which may hold the relay's password."""
    config.require_in_production(environ, "SMTP_URL",
                                 "the mail relay over TLS: smtps://user:password@host:465 or "
                                 "smtp://user:password@host:587?starttls=true")
    parts = urlsplit(smtp_url)
    options = {key: value.strip().lower() for key, value in parse_qsl(parts.query)}
    if parts.scheme != "smtps" and options.get("starttls") not in ("true", "1", "yes", "on"):
        raise ConfigError("SMTP_URL does not use TLS, which ENV=production refuses: use smtps://…:465, or "
                          "smtp://…:587?starttls=true for a relay that offers STARTTLS")
