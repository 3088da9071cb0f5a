"""Turn an uploaded file into rows of request fields, with clear messages for files that cannot be used."""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from intake.batches.columns import FIELDS, REQUIRED_COLUMNS, column_letter, field_for
from intake.batches.filetypes import (
    WORKBOOK_UNREADABLE, BadFile, TooLarge, UnsupportedFile, decode, identify, named_as_workbook,
)
from intake.batches.readers import Record, csv_records, xlsx_records

MAX_ROWS = 5000
# The template has 11 columns; what lies beyond this many is reported once, never read.
MAX_COLUMNS = 64
# Cells (and rows, and shared strings) an xlsx sheet may hold in all, blank ones included: twice
# what a sheet of MAX_ROWS requests in the template's 11 columns needs, rows counted.
MAX_CELLS = MAX_ROWS * 24
# Unknown headings listed back to the requester; the rest are counted.
MAX_UNKNOWN_SHOWN = 20
HEADING_LABEL_LENGTH = 100
# What is kept of a cell: no value may be longer than 1,000 characters, so one more is enough to
# refuse it; a long text repeated on every row (an xlsx shared string) is never copied whole.
CELL_KEPT = 1001
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})

__all__ = ["MAX_COLUMNS", "MAX_ROWS", "BadFile", "ParsedFile", "TooLarge", "UnsupportedFile", "display_text", "parse"]


@dataclass
class ParsedFile:
    """The requests a file holds, by row number, and the headings it had that name no field."""

    rows: list[tuple[int, dict[str, str]]]
    unknown_columns: list[str] = field(default_factory=list)


def parse(data: bytes, filename: str = "") -> ParsedFile:
    """Read an upload (CSV or xlsx, told apart by content; the name only words a refusal) into rows of text."""
    kind = identify(data, filename)
    if kind == "xlsx":
        return _tabulate(xlsx_records(data, MAX_COLUMNS, MAX_CELLS))
    try:
        text = decode(data)
    except UnsupportedFile:
        # a damaged workbook is not text either; "not a text file" is not what its sender sent
        if named_as_workbook(filename):
            raise UnsupportedFile(WORKBOOK_UNREADABLE) from None
        raise
    if not text.strip():
        raise BadFile("The file is empty. Fill in the template: headings in the first row, one request per row.")
    return _tabulate(csv_records(text))


def display_text(text: str, limit: int) -> str:
    """Return text safe to show and store as a label: no control or hidden characters, one line, bounded."""
    visible = "".join(" " if unicodedata.category(c) in _HIDDEN else c for c in text)
    return " ".join(visible.split())[:limit]


def _blank(cells: Iterable[str]) -> bool:
    return all(not cell.strip() for cell in cells)


def _tabulate(records: Iterable[Record]) -> ParsedFile:
    """Find the heading row, map its columns to fields, and collect the non-blank rows after it.

    Only the first MAX_COLUMNS cells of a row are read; data beyond them is reported once.
    """
    records = iter(records)
    header = next(((number, cells) for number, cells in records if not _blank(cells)), None)
    if header is None:
        raise BadFile("The file has no rows. Fill in the template: headings in the first row, one request per row.")
    columns, unknown = _map_headings(header[1][:MAX_COLUMNS])
    beyond = not _blank(header[1][MAX_COLUMNS:])
    rows: list[tuple[int, dict[str, str]]] = []
    stray: set[int] = set()
    for number, cells in records:
        if _blank(cells):
            continue
        if len(rows) == MAX_ROWS:
            raise BadFile(f"The file has more than {MAX_ROWS:,} requests; split it into files of at most {MAX_ROWS:,} rows.")
        values = dict.fromkeys(FIELDS, "")
        for index, cell in enumerate(cells[:MAX_COLUMNS]):
            name = columns.get(index)
            if name:
                values[name] = cell[:CELL_KEPT]
            elif index not in unknown and cell.strip():
                stray.add(index)
        beyond = beyond or (len(cells) > MAX_COLUMNS and not _blank(cells[MAX_COLUMNS:]))
        rows.append((number, values))
    if not rows:
        raise BadFile("The file has headings but no requests below them. Add one request per row.")
    unknown.update({index: f"column {column_letter(index)} (no heading)" for index in stray})
    labels = [unknown[index] for index in sorted(unknown)]
    if len(labels) > MAX_UNKNOWN_SHOWN:
        labels = labels[:MAX_UNKNOWN_SHOWN] + [f"{len(labels) - MAX_UNKNOWN_SHOWN} more columns"]
    if beyond:
        labels.append(f"data beyond column {column_letter(MAX_COLUMNS - 1)}")
    return ParsedFile(rows, labels)


def _map_headings(cells: list[str]) -> tuple[dict[int, str], dict[int, str]]:
    """Return {column index: field} and {column index: heading} for headings naming no field."""
    columns: dict[int, str] = {}
    unknown: dict[int, str] = {}
    seen: dict[str, list[str]] = {}
    for index, heading in enumerate(cells):
        if not heading.strip():
            continue  # data under it is reported once rows are read
        name = field_for(heading)
        # cut before cleaning: a heading may be a whole cell's worth of text
        label = display_text(heading[: HEADING_LABEL_LENGTH * 2], HEADING_LABEL_LENGTH)
        if name is None:
            unknown[index] = label
            continue
        seen.setdefault(name, []).append(f'"{label}" (column {column_letter(index)})')
        columns[index] = name
    # a heading never holds an email address: a first row that does is a request without headings
    if not columns or any("@" in heading for heading in cells):
        raise BadFile(
            "The first row must name the columns (" + ", ".join(REQUIRED_COLUMNS) + ", ...). "
            "Download the template to see them."
        )
    repeated = [f"{name}: " + " and ".join(where) for name, where in seen.items() if len(where) > 1]
    if repeated:
        raise BadFile("Some columns appear more than once; keep one of each. " + "; ".join(repeated) + ".")
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        raise BadFile("The file has no column for: " + ", ".join(missing) + ". Add them, as in the template.")
    return columns, unknown
