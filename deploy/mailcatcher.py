"""Local mail catcher for development: accepts all SMTP mail, keeps it as .eml files, shows it on a web page.

SMTP on 127.0.0.1:1025 (MAILCATCHER_SMTP), web view on 127.0.0.1:1080 (MAILCATCHER_HTTP),
messages under var/mail/ (MAILCATCHER_DIR).  Nothing is relayed anywhere.

Web view (read-only):
  GET /                      list of messages, newest first
  GET /messages/<id>         one message: headers, text part, HTML part in a sandboxed frame
  GET /messages/<id>.eml     the message exactly as received
  GET /messages/<id>.json    one message with its headers, text and HTML parts
  GET /messages.json         [{id, from, to, subject, received_at, envelope_from, envelope_to}]
  GET /healthz               "ok"
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
import threading
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

log = logging.getLogger("mailcatcher")

MESSAGE_ID = re.compile(r"[0-9A-Za-z-]{1,80}")
ROUTE = re.compile(r"/messages/(?P<id>[^/]+?)(?P<ext>\.eml|\.json)?")
# The page's own policy also binds the srcdoc frame: no scripts, no remote loads from a message.
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; base-uri 'none'; form-action 'none'"
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd;vertical-align:top}
td.h{white-space:nowrap;color:#555}
pre{white-space:pre-wrap;background:#f6f6f6;padding:1em;border:1px solid #ddd}
iframe{width:100%;height:32em;border:1px solid #ddd}
.empty{color:#777}
"""


def parse_address(raw: str) -> tuple[str, int]:
    """Split `host:port` (IPv6 hosts in brackets) into its parts."""
    host, _, port = raw.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def _header(msg: EmailMessage, name: str) -> str:
    """The decoded value of the first `name` header, or its raw text when it cannot be decoded."""
    for key, value in _headers(msg):
        if key.lower() == name.lower():
            return value
    return ""


def _headers(msg: EmailMessage) -> list[tuple[str, str]]:
    decoded = []
    for name, raw in msg.raw_items():
        try:
            decoded.append((name, str(msg.policy.header_fetch_parse(name, raw))))
        except Exception:  # a malformed header must not hide the message
            decoded.append((name, raw))
    return decoded


def _part_text(part: EmailMessage | None) -> str | None:
    if part is None:
        return None
    try:
        return part.get_content()
    except (LookupError, UnicodeError, ValueError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


class Mailbox:
    """The folder of received messages: `<id>.eml` as received, `<id>.json` with the envelope."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def store(self, raw: bytes, envelope_from: str, envelope_to: list[str], peer: str) -> str:
        now = datetime.now(timezone.utc)
        message_id = now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)
        meta = {
            "received_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "envelope_from": envelope_from,
            "envelope_to": envelope_to,
            "peer": peer,
        }
        self._write(f"{message_id}.json", json.dumps(meta).encode())
        self._write(f"{message_id}.eml", raw)
        return message_id

    def _write(self, name: str, data: bytes) -> None:
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.folder / name)

    def path(self, message_id: str) -> Path | None:
        if not MESSAGE_ID.fullmatch(message_id):
            return None
        path = self.folder / f"{message_id}.eml"
        return path if path.is_file() else None

    def raw(self, message_id: str) -> bytes | None:
        path = self.path(message_id)
        return path.read_bytes() if path else None

    def summary(self, path: Path) -> dict:
        message_id = path.stem
        with path.open("rb") as fp:
            headers = BytesParser(policy=policy.default).parse(fp, headersonly=True)
        meta_path = path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            mtime = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            meta = {"received_at": mtime.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        return {
            "id": message_id,
            "from": _header(headers, "From"),
            "to": _header(headers, "To"),
            "subject": _header(headers, "Subject"),
            "received_at": meta.get("received_at"),
            "envelope_from": meta.get("envelope_from"),
            "envelope_to": meta.get("envelope_to", []),
        }

    def list(self) -> list[dict]:
        found = []
        for path in self.folder.glob("*.eml"):
            if path.name.startswith(".") or not MESSAGE_ID.fullmatch(path.stem):
                continue
            try:
                found.append(self.summary(path))
            except OSError:  # removed while listing
                continue
        found.sort(key=lambda m: (m["received_at"] or "", m["id"]), reverse=True)
        return found

    def detail(self, message_id: str) -> dict | None:
        path = self.path(message_id)
        if path is None:
            return None
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        attachments = []
        for part in msg.iter_attachments():
            payload = part.get_payload(decode=True) or b""
            attachments.append({"filename": part.get_filename(), "content_type": part.get_content_type(), "size": len(payload)})
        return {
            **self.summary(path),
            "headers": [list(item) for item in _headers(msg)],
            "text": _part_text(msg.get_body(preferencelist=("plain",))),
            "html": _part_text(msg.get_body(preferencelist=("html",))),
            "attachments": attachments,
        }


class CatchAll:
    """aiosmtpd handler: every message to every recipient is accepted and stored."""

    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or b""
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        message_id = self.mailbox.store(raw, envelope.mail_from, list(envelope.rcpt_tos), peer)
        headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        log.info(
            "received %s from=%s to=%s subject=%r size=%d",
            message_id, envelope.mail_from, ",".join(envelope.rcpt_tos), _header(headers, "Subject"), len(raw),
        )
        return "250 Message accepted for delivery"


def accept_any_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    """Let clients configured with credentials log in; the catcher checks none."""
    return AuthResult(success=True)


def _page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    ).encode()


def render_index(messages: list[dict]) -> bytes:
    rows = "".join(
        f'<tr><td class="h">{escape(m["received_at"] or "")}</td><td>{escape(m["from"])}</td>'
        f'<td>{escape(m["to"] or ", ".join(m["envelope_to"]))}</td>'
        f'<td><a href="/messages/{escape(m["id"])}">{escape(m["subject"]) or "(no subject)"}</a></td></tr>'
        for m in messages
    )
    table = (
        f"<table><thead><tr><th>Received (UTC)</th><th>From</th><th>To</th><th>Subject</th></tr></thead><tbody>{rows}</tbody></table>"
        if messages
        else '<p class="empty">No messages yet.</p>'
    )
    return _page("Mail catcher", f"<h1>Mail catcher</h1><p>{len(messages)} message(s)</p>{table}")


def render_message(m: dict) -> bytes:
    headers = "".join(f'<tr><td class="h">{escape(n)}</td><td>{escape(v)}</td></tr>' for n, v in m["headers"])
    envelope = f'{escape(m["envelope_from"] or "")} &rarr; {escape(", ".join(m["envelope_to"]))}'
    parts = [
        '<p><a href="/">&larr; all messages</a> &middot; '
        f'<a href="/messages/{escape(m["id"])}.eml">raw</a></p>',
        f'<h1>{escape(m["subject"]) or "(no subject)"}</h1>',
        f"<p>Received {escape(m['received_at'] or '')}; envelope {envelope}</p>",
        f"<table>{headers}</table>",
    ]
    if m["html"] is not None:
        # sandbox without allow-scripts: the message's HTML is shown, never run
        parts.append(f'<h2>HTML part</h2><iframe sandbox="" referrerpolicy="no-referrer" srcdoc="{escape(m["html"], quote=True)}"></iframe>')
    if m["text"] is not None:
        parts.append(f"<h2>Text part</h2><pre>{escape(m['text'])}</pre>")
    if m["attachments"]:
        items = "".join(
            f"<li>{escape(a['filename'] or '(unnamed)')} ({escape(a['content_type'])}, {a['size']} bytes)</li>" for a in m["attachments"]
        )
        parts.append(f"<h2>Attachments</h2><ul>{items}</ul>")
    return _page(m["subject"] or "(no subject)", "".join(parts))


class WebView(BaseHTTPRequestHandler):
    """Read-only HTTP view of the mailbox."""

    mailbox: Mailbox
    server_version = "mailcatcher"

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if path in ("/", "/index.html"):
            return self._send(HTTPStatus.OK, "text/html; charset=utf-8", render_index(self.mailbox.list()))
        if path == "/healthz":
            return self._send(HTTPStatus.OK, "text/plain; charset=utf-8", b"ok\n")
        if path == "/messages.json":
            return self._json(self.mailbox.list())
        route = ROUTE.fullmatch(path)
        if route:
            message_id, ext = route["id"], route["ext"]
            if ext == ".eml":
                raw = self.mailbox.raw(message_id)
                if raw is not None:
                    return self._send(HTTPStatus.OK, "message/rfc822", raw, {"Content-Disposition": f'inline; filename="{message_id}.eml"'})
            else:
                detail = self.mailbox.detail(message_id)
                if detail is not None and ext == ".json":
                    return self._json(detail)
                if detail is not None:
                    return self._send(HTTPStatus.OK, "text/html; charset=utf-8", render_message(detail))
        self._send(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")

    def _json(self, data) -> None:
        self._send(HTTPStatus.OK, "application/json", json.dumps(data, indent=1).encode())

    def _send(self, status: HTTPStatus, content_type: str, body: bytes, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", PAGE_CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        log.debug("http %s", format % args)


def make_web_server(host: str, port: int, mailbox: Mailbox) -> ThreadingHTTPServer:
    handler = type("BoundWebView", (WebView,), {"mailbox": mailbox})
    server_class = ThreadingHTTPServer
    if ":" in host:
        server_class = type("ThreadingHTTPServer6", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
    server = server_class((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Catch all SMTP mail locally and show it on a web page.")
    parser.add_argument("--smtp", default=os.environ.get("MAILCATCHER_SMTP", "127.0.0.1:1025"), help="SMTP host:port")
    parser.add_argument("--http", default=os.environ.get("MAILCATCHER_HTTP", "127.0.0.1:1080"), help="web view host:port")
    parser.add_argument("--dir", default=os.environ.get("MAILCATCHER_DIR", "var/mail"), help="folder for received messages")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's per-command chatter and its own deprecation notes

    smtp_host, smtp_port = parse_address(args.smtp)
    http_host, http_port = parse_address(args.http)
    mailbox = Mailbox(Path(args.dir))

    # Only the main thread takes SIGINT/SIGTERM; the server threads inherit the mask.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    try:
        web = make_web_server(http_host, http_port, mailbox)
    except OSError as exc:
        log.error("cannot listen for HTTP on %s: %s", args.http, exc)
        return 1
    smtp = Controller(
        CatchAll(mailbox),
        hostname=smtp_host,
        port=smtp_port,
        server_hostname="mailcatcher.local",
        authenticator=accept_any_login,
        auth_require_tls=False,
    )
    try:
        smtp.start()
    except Exception as exc:
        web.server_close()
        log.error("cannot listen for SMTP on %s: %s", args.smtp, exc)
        return 1
    web_thread = threading.Thread(target=web.serve_forever, name="web", daemon=True)
    web_thread.start()
    log.info("SMTP on %s:%d, web view on http://%s/, messages in %s", smtp_host, smtp_port, args.http, mailbox.folder)

    received = signal.sigwait(stop_signals)
    log.info("stopping on %s", signal.Signals(received).name)
    smtp.stop()
    web.shutdown()
    web.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
