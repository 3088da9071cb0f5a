"""Read a batch file's records as text cells: CSV text, or the first sheet of an Excel workbook."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator

from intake.batches.filetypes import WORKBOOK_UNREADABLE, BadFile, UnsupportedFile

# (row number as a spreadsheet shows it, the cells of that row)
Record = tuple[int, list[str]]

_SEPARATORS = (",", ";", "\t")


def sniff_separator(text: str) -> str:
    """Pick the separator the heading line uses most: Excel writes `;` where `,` is a decimal mark."""
    heading = next((line for line in _first_lines(text) if line.strip()), "")
    counts = {sep: heading.count(sep) for sep in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _first_lines(text: str, count: int = 50) -> list[str]:
    # enough lines to pass blank ones above the headings, without splitting a whole large file
    return re.split(r"\r\n|\r|\n", text[:65536], maxsplit=count)[:count]


def csv_records(text: str) -> Iterator[Record]:
    """Yield each CSV record; a record spanning lines (quoted line breaks) is one row, as in Excel."""
    # newline="" hands CR, LF and CRLF line ends to the csv module, which also keeps quoted ones in cells
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_separator(text), strict=True)
    number, line = 0, 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise BadFile(_csv_problem(str(error), number + 1, line)) from None
        number += 1
        line = reader.line_num + 1
        yield number, cells


def _csv_problem(error: str, row: int, line: int) -> str:
    where = f"Row {row}" if row == line else f"Row {row} (line {line} of the file)"
    if "unexpected end of data" in error:
        return f'{where} opens a quotation mark (") that is never closed. Close it, or remove it.'
    if "expected after" in error:
        return (
            f'{where} has text after the closing quotation mark of a cell. Put the whole cell in quotation '
            f'marks and write each quotation mark inside it twice ("").'
        )
    if "field larger than field limit" in error:
        return f'{where} has a cell far too long to be a value; most often a quotation mark (") is never closed.'
    return f"{where} could not be read as CSV ({error})."


def xlsx_records(data: bytes) -> Iterator[Record]:
    """Yield each row of the workbook's first sheet; formulas are never evaluated, only read as text."""
    import openpyxl

    formulas = _uncached_formulas(data) if _has_uncached_formulas(data) else {}
    workbook = None
    try:
        # data_only: a formula cell gives the value Excel last saved for it, not the formula
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        if not workbook.worksheets:
            raise BadFile("The workbook has no sheet to read.")
        sheet = workbook.worksheets[0]
        # the used range a workbook declares is wrong in files from some tools; read what is there
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [
                _text(value) if value is not None else formulas.get((number, col), "")
                for col, value in enumerate(values)
            ]
    except (BadFile, UnsupportedFile):
        raise
    except Exception:
        # openpyxl reports a damaged workbook with all sorts of errors (KeyError, XML errors, ...)
        raise UnsupportedFile(WORKBOOK_UNREADABLE) from None
    finally:
        if workbook is not None:
            workbook.close()


# a formula saved without a value: <f>..</f> (or a shared <f .../>) then an empty <v/>, or no <v> at all
_UNCACHED_FORMULA = re.compile(
    rb"<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>|</(?:\w+:)?c>)"
)


def _has_uncached_formulas(data: bytes) -> bool:
    """Tell, without loading the workbook, whether a sheet has a formula Excel saved no value for."""
    # Excel saves every formula's value; only files written by other tools lack them, and only
    # those need the second, slower pass that reads formulas as text.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(
                _UNCACHED_FORMULA.search(archive.read(name))
                for name in archive.namelist()
                if name.startswith("xl/worksheets/") and name.endswith(".xml")
            )
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _uncached_formulas(data: bytes) -> dict[tuple[int, int], str]:
    """Return the text of the first sheet's formulas, for cells saved without a value (as plain text)."""
    import openpyxl

    found: dict[tuple[int, int], str] = {}
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            for col, value in enumerate(values):
                text = getattr(value, "text", value)  # ArrayFormula keeps its text apart
                if isinstance(text, str) and text.startswith("="):
                    found[(number, col)] = text
        workbook.close()
    except Exception:
        pass  # a damaged workbook is reported by the reading pass that follows
    return found


def _text(value: object) -> str:
    """Return a cell's value as the text a person would see in it."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a phone number typed into a number cell
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)
