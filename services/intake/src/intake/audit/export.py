"""Stream matching history events as CSV or JSON Lines, a chunk of rows at a time.

JSON Lines is for scripts: the API's event fields, codes and UTC times, unchanged. CSV is for
people and spreadsheets (audit/sheet.py says its columns): the pages' words, Singapore time, and a
UTF-8 byte-order mark first, so spreadsheets read the file as UTF-8.

CSV follows RFC 4180 (CRLF line ends, fields with quotes, commas or line breaks quoted, quotes
doubled), and every cell a spreadsheet would take for a formula is neutralised (audit/sheet.py).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Iterable, Iterator

from flask import Response, stream_with_context

from intake.audit.chain import utc_iso
from intake.audit.filters import Filters
from intake.audit.queries import EVENT_FIELDS, iter_event_rows
from intake.audit.sheet import HEADINGS, rows as sheet_rows

BYTE_ORDER_MARK = "\ufeff"
# rows gathered before a piece of the stream is handed on: fewer, larger writes
ROWS_PER_PIECE = 500


class _Buffer:
    """A write target for csv.writer that hands back what was written since the last call."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def csv_stream(rows: Iterable[tuple]) -> Iterator[str]:
    """CSV text of `rows` (in EVENT_FIELDS order): a byte-order mark, a heading row, then a row each, in pieces."""
    buffer = _Buffer()
    buffer.write(BYTE_ORDER_MARK)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADINGS)
    count = 0
    for cells in sheet_rows(rows):
        writer.writerow(cells)
        count += 1
        if count % ROWS_PER_PIECE == 0:
            yield buffer.take()
    yield buffer.take()


def jsonl_stream(rows: Iterable[tuple]) -> Iterator[str]:
    """One JSON object per line for each of `rows`, in pieces."""
    piece: list[str] = []
    for row in rows:
        event = dict(zip(EVENT_FIELDS, row))
        event["at"] = utc_iso(event["at"])
        event["details"] = json.loads(event["details"] or "{}")
        piece.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
        if len(piece) == ROWS_PER_PIECE:
            yield "\n".join(piece) + "\n"
            piece = []
    if piece:
        yield "\n".join(piece) + "\n"


def export(f: Filters, fmt: str) -> Iterator[str]:
    """The matching events in `fmt` ("csv" or "jsonl"), oldest first."""
    rows = iter_event_rows(f)
    return csv_stream(rows) if fmt == "csv" else jsonl_stream(rows)


MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


def download(f: Filters, fmt: str) -> Response:
    """A streamed download of the matching events as `fmt`, for the API and the audit pages."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    response = Response(stream_with_context(export(f, fmt)), content_type=MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response
