"""`python -m intake roles list|grant|revoke`: manage the role table from a shell, each change in the history."""
from __future__ import annotations

import sys

from marshmallow import ValidationError

from invite_common.config import Settings
from invite_common.db import open_database

from intake.auth import roles
from intake.db import database
from intake.migrations import MIGRATIONS
from intake.validation.rules import normalise_email, parse_org_domains


def run(settings: Settings, args) -> int:
    """Carry out one roles command; return the process's exit status."""
    open_database(settings.db_url, database, MIGRATIONS, migrate=settings.env != "production", service="intake")
    if args.action == "list":
        for grant in roles.all_grants():
            print(f"{grant.email}\t{grant.role}\t{grant.granted_by}\t{grant.granted_at.isoformat(timespec='seconds')}")
        return 0
    try:
        operator = normalise_email(args.operator)
        if args.action == "grant":
            roles.check_may_hold(roles.check_role(args.role), normalise_email(args.email),
                                 parse_org_domains(settings.org_email_domains))
        with database.atomic():
            changed = (roles.grant if args.action == "grant" else roles.revoke)(args.role, args.email, operator)
    except roles.GrantError as exc:
        print(f"cannot {args.action}: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"cannot {args.action}: not an email address ({exc.messages[0] if exc.messages else exc})", file=sys.stderr)
        return 2
    role, email = args.role.strip().lower(), normalise_email(args.email)
    if args.action == "grant":
        print(f"granted {role} to {email}" if changed else f"{email} already had {role}; nothing changed")
    else:
        print(f"revoked {role} from {email}" if changed else f"{email} did not have {role}; nothing changed")
    if settings.role_grants.strip():
        print("note: ROLE_GRANTS is set, so the next start sets the grants back to its list", file=sys.stderr)
    return 0
