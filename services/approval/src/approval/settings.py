"""Approval's settings, one row each (the rows every service reads come from invite_common.config)."""
from __future__ import annotations

from typing import Mapping

from invite_common import config
from invite_common.config import Setting, boolean, seconds, text, whole

ROWS = [
    config.ORG_EMAIL_DOMAINS,
    config.REQUEST_EXPIRY_DAYS,
    Setting("SEED_ENROLMENT_DAYS", "14", whole(1), "days a SEED enrolment code stays valid"),
    config.APPROVAL_POLICY,
    Setting("NOTIFY_REQUESTER_WHEN_SENT", "false", boolean,
            "also email the requester when the invitation has been sent"),
    config.ACTIVATION_URL,
    config.DIRECTORY_URL,
    Setting("DIRECTORY_TOKEN", "", text, "the SCIM directory's bearer token (it creates accounts)"),
    Setting("DIRECTORY_TIMEOUT", "10", seconds, "seconds each call to the SCIM directory may take"),
]

ApprovalSettings = config.settings_type("ApprovalSettings", "approval", ROWS)


def load(environ: Mapping[str, str] | None = None, *, connects: bool = True) -> ApprovalSettings:
    """Approval's settings from `environ` (default: the process's); see invite_common.config.load."""
    return config.load("approval", ROWS, ApprovalSettings, environ, connects=connects)
