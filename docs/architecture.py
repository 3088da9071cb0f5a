"""Write the generated tables of docs/architecture.md from the code that defines them.

    .venv/bin/python docs/architecture.py           # rewrite the tables in place (`make docs`)
    .venv/bin/python docs/architecture.py --check   # exit 1 naming the tables that are out of date

Each table sits between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`; everything else in
the document is written by hand. The sources: the settings tables (invite_common.config and each
service's settings module), approval's lifecycle table, the message contracts and the broker
topology (invite_common), intake's URL map, and who may use each route (the route matrix's table).
"""
from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "architecture.md"
SERVICES = ("intake", "approval", "notifier")


def settings_table(service: str) -> str:
    """A service's own settings (the rows every service reads are in the common table)."""
    from invite_common import config

    return config.markdown(importlib.import_module(f"{service}.settings").ROWS, service)


def common_settings_table() -> str:
    """The rows every service reads, `<SERVICE>` standing for the service's name."""
    from invite_common import config

    made = {"db_url": "sqlite:///var/<service>.db", "bind": "127.0.0.1:8080 (intake), :8081, :8082"}
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for row in config.common_rows("intake"):
        default = made.get(row.attribute) or row.shown_default or (row.default if isinstance(row.default, str) else "")
        shown = f"`{default}`" if default else "(unset)"
        lines.append(f"| `{row.variable.replace('{SERVICE}', '<SERVICE>')}` | {shown} | {row.description} |")
    return "\n".join(lines) + "\n"


def lifecycle_table() -> str:
    """Approval's lifecycle table: each verb and the states it moves a request between."""
    from approval import workflow

    lines = ["| verb | from | to |", "| --- | --- | --- |"]
    for verb, moves in workflow.TRANSITIONS.items():
        for source, target in moves.items():
            shown = "the state it failed from" if target == workflow.FAILED_FROM else f"`{target}`"
            lines.append(f"| `{verb}` | `{source}` | {shown} |")
    return "\n".join(lines) + "\n"


def messages_table() -> str:
    """Every message type: who publishes it, through which exchange, which queues take it, its payload."""
    from invite_common.messages import MESSAGE_TYPES
    from invite_common.topology import CONSUMERS, exchange_for

    lines = ["| type | kind | publisher | exchange | queues | payload |", "| --- | --- | --- | --- | --- | --- |"]
    for (name, version), contract in MESSAGE_TYPES.items():
        queues = ", ".join(f"`{q}`" for q, types in CONSUMERS.items() if name in types) or "(none)"
        fields = ", ".join(f"`{f}`" + ("" if field.required else "?")
                           for f, field in contract.schema._declared_fields.items())
        lines.append(f"| `{name}` v{version} | {contract.kind} | {contract.publisher} | `{exchange_for(contract)}` "
                     f"| {queues} | {fields} |")
    return "\n".join(lines) + "\n"


def queues_table() -> str:
    """Every queue of a deployment (no namespace), with what it is for."""
    from invite_common.topology import CONSUMERS, Topology

    topology = Topology()
    lines = ["| queue | takes | with |", "| --- | --- | --- |"]
    for consumer, types in CONSUMERS.items():
        retries = ", ".join(f"`{q.name}`" for q in topology.retry_queues(consumer))
        lines.append(f"| `{consumer}` | {', '.join(f'`{t}`' for t in types)} | "
                     f"dead letters `{topology.dead_letter_queue(consumer).name}`; delays {retries} |")
    return "\n".join(lines) + "\n"


def _who_may() -> dict[tuple[str, str], str]:
    # the route matrix's table, read as text: it is the one statement of who may use each route
    source = (ROOT / "tests" / "intake" / "test_route_matrix.py").read_text()
    table = source.split('ROUTES = """', 1)[1].split('"""', 1)[0]
    found = {}
    for line in table.strip().splitlines():
        method, rule, who = re.fullmatch(r"(\S+)\s+(.+?)\s{2,}(\S.*)", line.strip()).groups()
        found[(method, rule)] = who.strip()
    return found


def _summary(doc: str | None) -> str:
    """A docstring's first paragraph on one line (a table cell holds no line breaks)."""
    paragraph = (doc or "").strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split()).rstrip(".").replace("|", "\\|")


def routes_table() -> str:
    """Every route of intake's portal and API: method, path, who may use it, what it does."""
    from intake import settings
    from intake.app import create_app
    from intake.db import database
    from invite_common.outbox import Outbox
    from invite_common.topology import Topology

    app = create_app(settings.load({"ENV": "development"}), Outbox(database, Topology()))
    who = _who_may()
    lines = ["| method | path | who | what |", "| --- | --- | --- | --- |"]
    rows = sorted((rule.rule, method, rule.endpoint) for rule in app.url_map.iter_rules()
                  for method in rule.methods - {"HEAD", "OPTIONS"})
    for path, method, endpoint in rows:
        view = app.view_functions[endpoint]
        handler = getattr(getattr(view, "view_class", None), method.lower(), None)
        what = _summary(view.__doc__) or _summary(getattr(handler, "__doc__", None))
        lines.append(f"| {method} | `{path}` | {who.get((method, path), '?')} | {what} |")
    return "\n".join(lines) + "\n"


def tables() -> dict[str, str]:
    return {
        "settings-common": common_settings_table(),
        **{f"settings-{service}": settings_table(service) for service in SERVICES},
        "lifecycle": lifecycle_table(),
        "messages": messages_table(),
        "queues": queues_table(),
        "routes": routes_table(),
    }


def rewrite(text: str, generated: dict[str, str]) -> str:
    for name, table in generated.items():
        start, end = f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"
        if start not in text:
            raise SystemExit(f"{DOCUMENT} has no {start} ... {end} section")
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = f"{before}{start}\n{table}{end}{after}"
    return text


def main(argv: list[str]) -> int:
    text = DOCUMENT.read_text()
    generated = tables()
    updated = rewrite(text, generated)
    if "--check" in argv:
        stale = [name for name, table in generated.items() if f"<!-- generated:{name} -->\n{table}<!--" not in text]
        if stale:
            print(f"docs/architecture.md is out of date ({', '.join(stale)}): run `make docs`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
