"""Operators' audit commands: `python -m intake audit verify | public-key | erase`."""
from __future__ import annotations

import json
import sys

from invite_common.config import Settings

from intake.audit import keys


def add_commands(sub) -> None:
    """Add the `audit` command and its subcommands to intake's command line."""
    audit = sub.add_parser("audit", help="verify the history chain, show the public key, apply retention")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = commands.add_parser("verify", help="walk the whole chain; exit 0 if intact, 1 if not")
    verify.add_argument("--public-key", action="append", default=[], metavar="PEM",
                        help="verify with this public key only (repeatable); default: AUDIT_VERIFY_KEYS and the signing key's")
    verify.add_argument("--json", action="store_true", help="print the full result as JSON")
    commands.add_parser("public-key", help="print the signing key's public key (PEM), to keep apart from the database")
    commands.add_parser("erase", help="erase personal data of requests closed longer than RETENTION_DAYS ago, now")


def run(args, settings: Settings) -> int:
    """Run one audit subcommand against INTAKE_DB_URL; return the exit status."""
    from invite_common.db import open_database

    from intake.db import database
    from intake.migrations import MIGRATIONS

    if args.audit_command == "public-key":
        print(keys.public_pem(keys.load_signer(settings).public), end="")
        return 0
    open_database(settings.db_url, database, MIGRATIONS, migrate=settings.env != "production", service="intake")
    if args.audit_command == "verify":
        from intake.audit.verify import summary, verify

        trusted = ({keys.key_id(k): k for k in map(keys.load_public_key, args.public_key)}
                   if args.public_key else keys.verify_keys(settings))
        result = verify(trusted)
        print(json.dumps(result.as_dict(), indent=2) if args.json else summary(result))
        return 0 if result.intact else 1
    if args.audit_command == "erase":
        from intake.audit import retention

        if settings.retention_days <= 0:
            print("RETENTION_DAYS is not set: nothing to erase", file=sys.stderr)
            return 2
        count = retention.erase_expired(settings.retention_days, keys.load_signer(settings))
        print(f"erased the personal data of {count} request(s) closed more than {settings.retention_days} days ago")
        return 0
    return 2
