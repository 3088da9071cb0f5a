#!/usr/bin/env python3
"""Back up the three services' PostgreSQL databases, and restore a backup into fresh databases.

    python3 deploy/backup.py backup DIR [--public-key audit-public-key.pem]
    python3 deploy/backup.py restore DIR --signing-key audit-signing-key.pem [--republish-minutes 15]

Which databases: the variables the migration step reads. `backup` dumps each service's database as
`<SERVICE>_MIGRATION_DB_URL` (the role that owns every table; else `<SERVICE>_DB_URL`) with
`pg_dump --format=custom`, then writes DIR/manifest.json: when, each file's size and SHA-256, each
database's schema version, and the audit chain's last signed head with the id of the key that signed
it. `restore` checks the files against the manifest and the signing key against that head before
touching anything, refuses a target database that holds a table, restores each dump as the target's
migration role (`pg_restore --no-owner --no-acl --role=…`, so the target's roles own what is
restored, whatever the source's were called), grants the runtime role (`<SERVICE>_DB_URL`'s user)
reads and writes as the migrate step does, and puts the outbox rows published since shortly before
the backup back in line to be published again (consumers drop a message they have handled, so this
only redelivers what a restored consumer lost; deploy/RUNBOOK.md, "Backup and restore").

The private signing key is never part of a backup: it is kept in the secret store (escrow), apart
from the dumps. Needs only Python's standard library and PostgreSQL's and OpenSSL's command-line
tools (pg_dump as new as the server, or newer). Passwords go to the tools through PGPASSWORD, never
on a command line.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

SERVICES = ("intake", "approval", "notifier")
MANIFEST = "manifest.json"
FORMAT = 1
# how long before the backup began a published message may still have been waiting in a queue
REPUBLISH_MINUTES = 15


class Refused(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


def connection(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without its password, and the environment carrying the password instead."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise Refused(f"{parts.scheme or 'the URL'}: only postgresql:// databases are backed up here")
    env = dict(os.environ, PGCONNECT_TIMEOUT=os.environ.get("PGCONNECT_TIMEOUT", "10"))
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    return urlunsplit(("postgresql", netloc, parts.path, parts.query, "")), env


def role_of(url: str) -> str:
    name = urlsplit(url).username
    if not name:
        raise Refused(f"{redacted(url)} names no user: the role is taken from the URL")
    return unquote(name)


def redacted(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()


def run(args: list[str], url: str | None = None) -> str:
    """Run a PostgreSQL client tool on the database of `url` (none: the tool alone); return its output."""
    uri, env = connection(url) if url else ("", dict(os.environ))
    try:
        done = subprocess.run([*args, *(["--no-password", f"--dbname={uri}"] if url else [])], env=env,
                              capture_output=True, text=True)
    except FileNotFoundError:
        raise Refused(f"{args[0]} is not installed: PostgreSQL's client tools are needed") from None
    if done.returncode != 0:
        raise Refused(f"{args[0]} on {redacted(url or '')} failed: {done.stderr.strip()}")
    return done.stdout


def query(url: str, sql: str) -> list[list[str]]:
    """Rows of one statement, as text, through psql."""
    out = run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql], url)
    return [line.split("\t") for line in out.splitlines() if line]


def env_url(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise Refused(f"{name} is not set")
    return value


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def key_id(pem_file: str) -> str:
    """The id intake gives an Ed25519 key (the first 16 hex digits of SHA-256 over the raw public
    key: intake.audit.keys.key_id), from its private or public PEM file."""
    try:
        text = Path(pem_file).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise Refused(f"{pem_file} cannot be read: {exc.__class__.__name__}") from None
    public_in = [] if "PRIVATE KEY" in text else ["-pubin"]
    try:
        done = subprocess.run(["openssl", "pkey", *public_in, "-in", pem_file, "-pubout", "-outform", "DER"],
                              capture_output=True)
    except FileNotFoundError:
        raise Refused("openssl is not installed: it reads the signing key") from None
    # an Ed25519 SubjectPublicKeyInfo is 44 bytes: 12 of algorithm, then the 32 of the key
    if done.returncode != 0 or len(done.stdout) != 44 or b"\x2b\x65\x70" not in done.stdout[:12]:
        raise Refused(f"{pem_file} is not an Ed25519 key in PEM")
    return hashlib.sha256(done.stdout[12:]).hexdigest()[:16]


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def schema_version(url: str) -> dict:
    rows = query(url, "SELECT count(*), coalesce(max(number), 0) FROM schema_migration")
    return {"migrations_applied": int(rows[0][0]), "last_migration": int(rows[0][1])}


def audit_heads(url: str) -> dict:
    """The chain's signed heads at backup time: how many, by which keys, and the last one."""
    by_key = {key: int(count) for key, count in query(url, "SELECT key_id, count(*) FROM chain_head GROUP BY key_id")}
    last = query(url, "SELECT seq, hash, key_id, signed_at FROM chain_head ORDER BY seq DESC LIMIT 1")
    head = dict(zip(("position", "hash", "key_id", "signed_at"), last[0])) if last else None
    if head:
        head["position"] = int(head["position"])
    return {"heads_by_key_id": by_key, "last_head": head}


def backup(target: Path, public_key: str | None) -> dict:
    """Dump the three databases into `target` (new or empty) and write its manifest last."""
    urls = {s: os.environ.get(f"{s.upper()}_MIGRATION_DB_URL") or env_url(f"{s.upper()}_DB_URL") for s in SERVICES}
    given = key_id(public_key) if public_key else None
    if target.exists() and any(target.iterdir()):
        raise Refused(f"{target} is not empty: back up into a new directory")
    # the dumps hold personal data: readable by this user only
    os.umask(0o077)
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    manifest = {"format": FORMAT, "started_at": utc_now(), "databases": {}, "audit": None,
                "pg_dump": run(["pg_dump", "--version"]).strip()}
    for service, url in urls.items():
        file = target / f"{service}.dump"
        began = utc_now()
        run(["pg_dump", "--format=custom", f"--file={file}"], url)
        manifest["databases"][service] = {
            "file": file.name, "bytes": file.stat().st_size, "sha256": sha256(file), "dumped_at": began,
            "database": urlsplit(url).path.lstrip("/"),
            "server_version": query(url, "SHOW server_version")[0][0],
            "schema": schema_version(url),
        }
        if service == "intake":
            manifest["audit"] = audit_heads(url)
    audit = manifest["audit"]
    if public_key:
        head = audit["last_head"]
        if head and head["key_id"] != given:
            raise Refused(f"{public_key} (key id {given}) did not sign the chain's last head (key id "
                          f"{head['key_id']}): give the public half of the key intake signs with now")
        audit["public_key_id"], audit["public_key"] = given, Path(public_key).read_text()
    manifest["finished_at"] = utc_now()
    written = target / (MANIFEST + ".part")
    written.write_text(json.dumps(manifest, indent=2) + "\n")
    written.rename(target / MANIFEST)
    return manifest


def check_files(source: Path, manifest: dict) -> None:
    for service in SERVICES:
        entry = manifest["databases"].get(service)
        if entry is None:
            raise Refused(f"the manifest has no dump of {service}'s database")
        file = source / entry["file"]
        if not file.is_file() or file.stat().st_size != entry["bytes"] or sha256(file) != entry["sha256"]:
            raise Refused(f"{file} is missing or differs from the manifest (size or SHA-256): the backup is damaged")


def check_key(manifest: dict, signing_key: str) -> str:
    """Refuse a signing key other than the one that signed the chain's last head; return its id."""
    given = key_id(signing_key)
    head = (manifest.get("audit") or {}).get("last_head")
    if head and head["key_id"] != given:
        raise Refused(f"{signing_key} has key id {given}, but the chain's last head was signed by key id "
                      f"{head['key_id']}: restore with the escrowed key AUDIT_SIGNING_KEY named at backup time")
    return given


def empty(url: str) -> bool:
    rows = query(url, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')")
    return rows[0][0] == "0"


def grant_runtime_role(url: str, role: str) -> None:
    """What the migrate step grants (invite_common.db.grant_runtime_role): rows, never the schema."""
    quoted = '"' + role.replace('"', '""') + '"'
    query(url, f"GRANT USAGE ON SCHEMA public TO {quoted}; "
               f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}; "
               f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")


def republish_since(url: str, cutoff: dt.datetime) -> int:
    """Mark the outbox rows published since `cutoff` unpublished, so the relay sends them again."""
    stamp = cutoff.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat()
    rows = query(url, "WITH again AS (UPDATE outbox_message SET published_at = NULL "
                      f"WHERE published_at >= '{stamp}'::timestamp RETURNING 1) SELECT count(*) FROM again")
    return int(rows[0][0])


def restore(source: Path, signing_key: str, republish_minutes: int | None) -> dict:
    """Restore the backup in `source` into the empty databases the migration URLs name."""
    manifest_file = source / MANIFEST
    if not manifest_file.is_file():
        raise Refused(f"{manifest_file} is missing: the backup did not finish")
    manifest = json.loads(manifest_file.read_text())
    if manifest.get("format") != FORMAT:
        raise Refused(f"{manifest_file} has format {manifest.get('format')}, this script reads {FORMAT}")
    check_files(source, manifest)
    key = check_key(manifest, signing_key)
    targets = {s: (env_url(f"{s.upper()}_MIGRATION_DB_URL"), role_of(env_url(f"{s.upper()}_DB_URL"))) for s in SERVICES}
    for service, (url, _) in targets.items():
        if not empty(url):
            raise Refused(f"{redacted(url)} already holds tables: restore into a new database (deploy/postgres/roles.sql)")
    cutoff = dt.datetime.fromisoformat(manifest["started_at"]) - dt.timedelta(minutes=republish_minutes or 0)
    report = {"signing_key_id": key, "databases": {}}
    for service, (url, runtime_role) in targets.items():
        entry = manifest["databases"][service]
        run(["pg_restore", "--no-owner", "--no-acl", f"--role={role_of(url)}", "--exit-on-error",
             "--single-transaction", str(source / entry["file"])], url)
        grant_runtime_role(url, runtime_role)
        restored = schema_version(url)
        if restored != entry["schema"]:
            raise Refused(f"{service}: the restored schema {restored} is not the one backed up {entry['schema']}")
        again = republish_since(url, cutoff) if republish_minutes is not None else 0
        report["databases"][service] = {"database": urlsplit(url).path.lstrip("/"), "schema": restored,
                                        "republished": again}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("backup", help="dump the three databases into a new directory, with a manifest")
    make.add_argument("directory", type=Path)
    make.add_argument("--public-key", metavar="PEM",
                      help="the audit signing key's public half, recorded in the manifest (checked against the chain)")
    back = commands.add_parser("restore", help="restore a backup directory into fresh, empty databases")
    back.add_argument("directory", type=Path)
    back.add_argument("--signing-key", metavar="PEM", required=True,
                      help="the escrowed AUDIT_SIGNING_KEY the restored intake will run with (or its public half)")
    again = back.add_mutually_exclusive_group()
    again.add_argument("--republish-minutes", type=int, default=REPUBLISH_MINUTES, metavar="N",
                       help=f"publish again the outbox rows published since N minutes before the backup began [{REPUBLISH_MINUTES}]")
    again.add_argument("--no-republish", dest="republish_minutes", action="store_const", const=None,
                       help="leave the outbox as it was backed up")
    args = parser.parse_args(argv)
    try:
        if args.command == "backup":
            result = backup(args.directory, args.public_key)
        else:
            result = restore(args.directory, args.signing_key, args.republish_minutes)
    except Refused as exc:
        print(f"{args.command} refused: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
