"""The notifier's settings, one row each (the rows every service reads come from invite_common.config)."""
from __future__ import annotations

from typing import Mapping

from invite_common import config
from invite_common.config import Setting, seconds, stripped, url

ROWS = [
    Setting("SMTP_URL", "smtp://127.0.0.1:1025", url("smtp", "smtps"),
            "the mail relay: `smtps://user:password@host:465`, or `smtp://host:587?starttls=true`"),
    Setting("SMTP_TIMEOUT", "10", seconds, "seconds the relay may take to answer"),
    Setting("MAIL_FROM", "TechPass Invites <no-reply@invites.local>", stripped, "the sender of every email"),
]

NotifierSettings = config.settings_type("NotifierSettings", "notifier", ROWS)


def load(environ: Mapping[str, str] | None = None, *, connects: bool = True) -> NotifierSettings:
    """The notifier's settings from `environ` (default: the process's); see invite_common.config.load."""
    return config.load("notifier", ROWS, NotifierSettings, environ, connects=connects)
