"""Structured logs that carry the request id across services and no personal data.

Log records say what happened to which request id; they never include emails, names or
message bodies. Pass ids and counts through `extra=`.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


@contextlib.contextmanager
def request_context(request_id: str | None):
    """Tag every log line inside the block with `request_id`."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, request id, extras."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service
        self._second = -1
        self._stamp = ""

    def _time(self, created: float) -> str:
        # strftime once a second: formatting the time anew was a good part of each line's cost
        second = int(created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._stamp}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": self._time(record.created),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = _request_id.get()
        if request_id:
            line["request_id"] = request_id
        for key in record.__dict__.keys() - _STANDARD:
            if not key.startswith("_"):
                value = record.__dict__[key]
                line[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(service: str, level: str = "INFO") -> None:
    """Send the process's logs, as JSON lines, to stderr."""
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # kombu/amqp chatter at INFO is noise next to our own lines
    for noisy in ("amqp", "kombu", "waitress", "peewee"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
