"""Settings read from environment variables, each declared once as a row of a table.

A row says everything about one setting: its variable, its default as an operator would write it,
the parser that turns the text into a value (refusing a bad one with a ConfigError that names the
variable) and what it means. This module holds the rows every service reads (the environment, the
broker, its database, logging, stopping) and the rows two services share; each service declares
its own table beside its code (`<service>/settings.py`) and `load`s it with these. The same tables
write the settings tables of docs/architecture.md, so what is documented is what is read.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "test", "production")
AMQP_DEFAULT = "amqp://guest:guest@127.0.0.1:5672//"


class ConfigError(SystemExit):
    """A setting the service must not start with.

    A SystemExit, so every service stops at start with the message alone (no traceback), and
    through the same path whichever service read the setting."""

    def __init__(self, message: str):
        super().__init__(f"configuration error: {message}")


# --- parsers: (variable, text) -> value, or ConfigError naming the variable -------------------

Parser = Callable[[str, str], Any]


def text(variable: str, raw: str) -> str:
    """Any text, kept as written."""
    return raw


def stripped(variable: str, raw: str) -> str:
    """Text without the spaces around it (addresses, names)."""
    return raw.strip()


def boolean(variable: str, raw: str) -> bool:
    """true/false, yes/no, on/off, 1/0, in any case."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{variable}={raw!r} is not true or false")


def broker_url(variable: str, raw: str) -> str:
    """One broker URL, or a cluster's nodes as URLs separated by `;` (tried in turn, the next when one
    is away). Every node must be `amqp://` or every node `amqps://`: a list mixing them would fall
    back to plain text without a word when the TLS nodes are down. The message never shows a URL,
    which holds a password."""
    nodes = [node.strip() for node in raw.split(";") if node.strip()]
    if not nodes:
        raise ConfigError(f"{variable} is empty; give the broker's URL (amqp:// or amqps://)")
    for number, node in enumerate(nodes, 1):
        parts = urlsplit(node)
        try:
            parts.port
        except ValueError:
            raise ConfigError(f"{variable}: node {number} of {len(nodes)} has a port that is not a number") from None
        if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
            raise ConfigError(f"{variable}: node {number} of {len(nodes)} is not an amqp:// or amqps:// URL with a host")
    if len({urlsplit(node).scheme for node in nodes}) > 1:
        raise ConfigError(f"{variable} mixes amqp:// and amqps:// nodes; list every node with TLS (amqps://) or none")
    return ";".join(nodes)


def choice(*allowed: str) -> Parser:
    """One of `allowed`, read case-insensitively and trimmed."""

    def parse(variable: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ConfigError(f"{variable}={raw!r} is not one of {', '.join(allowed)}")
        return value

    return parse


def whole(minimum: int = 0) -> Parser:
    """A whole number, at least `minimum`."""

    def parse(variable: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{variable}={raw!r} is not a whole number") from None
        if value < minimum:
            raise ConfigError(f"{variable}={raw!r} must be {minimum} or more")
        return value

    return parse


def seconds(variable: str, raw: str) -> float:
    """A number of seconds (or days, minutes: the row says), more than 0."""
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a number") from None
    if not value > 0:
        raise ConfigError(f"{variable}={raw!r} must be more than 0")
    return value


def numbers(variable: str, raw: str) -> tuple[float, ...]:
    """Numbers of seconds separated by commas, each more than 0."""
    return tuple(seconds(variable, part) for part in raw.split(",") if part.strip())


def bind(variable: str, raw: str) -> str:
    """`host:port` (an IPv6 host in brackets)."""
    try:
        _, port = parse_bind(raw)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise ConfigError(f"{variable}={raw!r} is not host:port")
    return raw.strip()


def log_level(variable: str, raw: str) -> str:
    """A logging level's name: DEBUG, INFO, WARNING or ERROR, in any case."""
    value = raw.strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{variable}={raw!r} is not one of DEBUG, INFO, WARNING, ERROR")
    return value


def url(*schemes: str) -> Parser:
    """A URL with one of `schemes` (empty text stays empty: unset)."""

    def parse(variable: str, raw: str) -> str:
        value = raw.strip()
        if value and urlsplit(value).scheme not in schemes:
            raise ConfigError(f"{variable} must be a {' or '.join(s + '://' for s in schemes)} URL")
        return value

    return parse


# --- rows and tables --------------------------------------------------------------------------

Default = str | Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class Setting:
    """One setting: its variable, default (text, or made from the values read before it), parser and meaning."""

    variable: str  # `{SERVICE}` stands for the service's name in capitals
    default: Default
    parse: Parser
    description: str
    field: str = ""  # the attribute; the variable in lower case (without `{SERVICE}_`) when empty
    shown_default: str = ""  # how the documentation words a default that is made, not written
    empty_is_value: bool = False  # set but empty means empty, not the default

    def name(self, service: str) -> str:
        return self.variable.replace("{SERVICE}", service.upper())

    @property
    def attribute(self) -> str:
        return self.field or self.variable.replace("{SERVICE}_", "").lower()


FAMILY = "<ACTION>"


def read(rows: Sequence[Setting], environ: Mapping[str, str], service: str) -> dict[str, Any]:
    """Each row's value, in order (a made default may use the values read before it).

    A row whose variable ends in `<ACTION>` stands for a family (`RATE_LIMIT_SUBMIT`, ...): its
    parser gets the set members as `(action, text)` pairs, with the other rows' variables left out."""
    values: dict[str, Any] = {}
    named = {row.name(service) for row in rows}
    for row in rows:
        if row.variable.endswith(FAMILY):
            prefix = row.variable[:-len(FAMILY)]
            members = tuple(sorted((variable[len(prefix):].lower(), raw) for variable, raw in environ.items()
                                   if variable.startswith(prefix) and variable not in named and raw))
            values[row.attribute] = row.parse(row.variable, members)
            continue
        raw = environ.get(row.name(service))
        if raw is None or (raw == "" and not row.empty_is_value):
            raw = row.default(values) if callable(row.default) else row.default
        values[row.attribute] = row.parse(row.name(service), raw)
    return values


class Settings:
    """A service's settings: one attribute per row of its table (made by `settings_type`), the
    service's name, and whether it connects as a broker user of its own."""

    service: str
    own_broker_user: bool

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def settings_type(name: str, service: str, rows: Sequence[Setting]) -> type[Settings]:
    """A frozen dataclass with one field per row (the common ones and `rows`), `service` and `own_broker_user`."""
    rows = [*common_rows(service), *rows]
    fields = [("service", str), ("own_broker_user", bool)] + [
        (row.attribute, Any) for row in rows if row.attribute != "shared_amqp_url"]
    return dataclasses.make_dataclass(name, fields, bases=(Settings,), frozen=True)


def refuse_near_misses(environ: Mapping[str, str], known: Sequence[str], prefixes: Sequence[str] = ()) -> None:
    """Refuse a variable spelt almost like a known one, or an unknown one under a prefix a table owns:
    spelt wrong, a setting would silently fall back to its default."""
    for variable in environ:
        if variable in known:
            continue
        meant = difflib.get_close_matches(variable, known, n=1, cutoff=0.85)
        if meant:
            raise ConfigError(f"{variable} is not a setting; did you mean {meant[0]}?")
        for prefix in prefixes:
            if variable.startswith(prefix):
                others = ", ".join(v for v in known if v.startswith(prefix))
                raise ConfigError(f"{variable} is not a setting; the {prefix} settings are {others}")


def markdown(rows: Sequence[Setting], service: str) -> str:
    """The rows as the documentation's table: variable, default, meaning."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for row in rows:
        default = row.shown_default or (row.default if isinstance(row.default, str) else "")
        shown = f"`{default}`" if default else "(unset)"
        lines.append(f"| `{row.name(service)}` | {shown} | {row.description} |")
    return "\n".join(lines) + "\n"


# --- what every service reads ------------------------------------------------------------------

def common_rows(service: str) -> list[Setting]:
    """The rows every service reads: the environment, the broker, its database and bind, logging, stopping."""
    return [
        Setting("ENV", "development", choice(*ENVIRONMENTS),
                "`development`, `test` or `production`, in any case; any other value stops every service at start"),
        Setting("INVITES_VAR_DIR", "var", text, "where development's SQLite files and generated keys go",
                field="var_dir"),
        Setting("AMQP_URL", AMQP_DEFAULT, broker_url,
                "the broker, for a service that has no URL of its own; a cluster's nodes as URLs separated by `;`",
                field="shared_amqp_url"),
        Setting("{SERVICE}_AMQP_URL", lambda v: v["shared_amqp_url"], broker_url,
                "this service's own broker user (see `deploy/rabbitmq/definitions.json`), in the same form",
                field="amqp_url", shown_default="AMQP_URL"),
        Setting("AMQP_NAMESPACE", "", text,
                "prefixes every exchange and queue name, so deployments (or test runs) can share a broker"),
        Setting("AMQP_QUORUM_QUEUES", "false", boolean,
                "declare quorum queues (a RabbitMQ cluster); set it before the first start"),
        Setting("AMQP_PREFETCH", "50", whole(1), "messages a consumer holds unacknowledged at once"),
        Setting("RETRY_DELAYS", "1,5,30", numbers,
                "seconds between retries of a transient failure; their count bounds the retries"),
        Setting("{SERVICE}_DB_URL", lambda v: f"sqlite:///{Path(v['var_dir']) / (service + '.db')}", text,
                "this service's database: `sqlite:///path` or `postgresql://user:password@host:5432/db`",
                field="db_url", shown_default=f"sqlite:///var/{service}.db"),
        Setting("{SERVICE}_MIGRATION_DB_URL", "", text,
                "the role `python -m <service> migrate` connects as (it owns the schema); empty: the service's own",
                field="migration_db_url"),
        Setting("{SERVICE}_BIND", DEFAULT_BINDS[service], bind,
                "where the service listens" + (" (portal and API)" if service == "intake" else
                                              " (`/healthz`, `/readyz`, `/metrics`)"),
                field="bind"),
        Setting("TLS_CA_FILE", "", text,
                "the certificate authorities (PEM bundle) every outgoing TLS connection trusts, instead of the system's"),
        Setting("LOG_LEVEL", "INFO", log_level, "how much the service logs: `DEBUG`, `INFO`, `WARNING` or `ERROR`"),
        Setting("SHUTDOWN_SECONDS", "20", seconds,
                "how long a service asked to stop may take to finish its work; keep it below the grace period"),
        Setting("MESSAGE_LOG_DAYS", "7", whole(0),
                "handled message ids and published outbox rows are deleted after this many days (0 keeps them)"),
    ]


DEFAULT_BINDS = {"intake": "127.0.0.1:8080", "approval": "127.0.0.1:8081", "notifier": "127.0.0.1:8082"}

def domains(variable: str, raw: str) -> str:
    """Domains separated by commas, at least one (kept as written; invite_common.people reads them)."""
    import re

    from invite_common.people import parse_domains

    label = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
    try:
        found = parse_domains(raw)
    except (ValueError, UnicodeError):
        found = ()
        bad = raw
    else:
        bad = next((d for d in found if len(d.split(".")) < 2 or not all(label.fullmatch(p) for p in d.split("."))), None)
    if bad is not None:
        raise ConfigError(f"{variable}: {bad!r} is not a domain such as gov.sg")
    if not found:
        raise ConfigError(f"{variable} must name at least one domain")
    return raw.strip()


# Rows two services read: declared once here, listed in both services' tables.
ORG_EMAIL_DOMAINS = Setting("ORG_EMAIL_DOMAINS", "gov.sg", domains,
                            "public-officer domains, comma-separated; a domain covers its subdomains (the same on every service)")
REQUEST_EXPIRY_DAYS = Setting("REQUEST_EXPIRY_DAYS", "14", whole(1), "days a request waits for a decision before it expires")
DIRECTORY_URL = Setting("DIRECTORY_URL", "", url("https", "http"),
                        "a SCIM 2.0 directory where accounts are made; the local directory when unset")
APPROVAL_POLICY = Setting("APPROVAL_POLICY", "", stripped,
                          "a TOML or JSON file of approval levels and rules (the same file for intake and approval); "
                          "unset, one approver decides every request")
ACTIVATION_URL = Setting("ACTIVATION_URL", "https://techpass.invites.local/activate", stripped,
                         "the TechPass activation address in invitation emails")


def load(service: str, rows: Sequence[Setting], settings_class: type[Settings],
         environ: Mapping[str, str] | None = None, *, connects: bool = True) -> Settings:
    """Read `service`'s settings (the common rows, then `rows`) from `environ` (default: the process's).

    `connects=False` reads them for a command that never talks to the broker (the migration step,
    an operator's command): production's rules for the running service (the broker login here, the
    portal's address and the mail relay in the services' own `load`) are then not its business."""
    environ = os.environ if environ is None else environ
    values = read([*common_rows(service), *rows], environ, service)
    if values["env"] == "production" and connects:
        refuse_guest_login(environ, service)
    values.pop("shared_amqp_url")
    own = bool(environ.get(f"{service.upper()}_AMQP_URL"))
    return settings_class(service=service, own_broker_user=own, **values)


def require_in_production(environ: Mapping[str, str], variable: str, needs: str) -> str:
    """Return the variable's text, refusing it unset or empty: in production its development
    default (a loopback address) would be wrong without a word. `needs` says what to set it to."""
    raw = (environ.get(variable) or "").strip()
    if not raw:
        raise ConfigError(f"{variable} is not set; ENV=production needs {needs}")
    return raw


def uses_guest_login(amqp_url: str) -> bool:
    """Tell whether a broker URL (any node of a `;`-separated list) logs in as RabbitMQ's guest
    (also when it names no user: kombu's default)."""
    return any((urlsplit(node.strip()).username or "guest").lower() == "guest"
               for node in amqp_url.split(";") if node.strip())


def refuse_guest_login(environ: Mapping[str, str], service: str) -> None:
    """Refuse, in production, a broker URL that logs in as RabbitMQ's guest.

    A service is judged by the URL it connects with (its own `<SERVICE>_AMQP_URL`, else
    `AMQP_URL`, whose default is the guest login): a deployment that gives each service its own
    user never needs AMQP_URL."""
    own = f"{service.upper()}_AMQP_URL"
    name = own if environ.get(own) else "AMQP_URL"
    if uses_guest_login(environ.get(name) or AMQP_DEFAULT):
        raise ConfigError(f"{name} logs in as the broker's guest user, which ENV=production refuses")


def parse_bind(raw: str) -> tuple[str, int]:
    """Split `host:port` (IPv6 hosts in brackets) into its parts."""
    host, _, port = raw.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a sqlite:/// URL's file so a fresh checkout starts without setup."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
