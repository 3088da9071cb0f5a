"""Read a batch file's records as text cells: CSV text, or the first sheet of an Excel workbook."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

from openpyxl.utils import coordinate_to_tuple
from openpyxl.worksheet._reader import FORMULA_TAG, INLINE_STRING, WorkSheetParser
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

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
    return text[:65536].splitlines()[:count]


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


TOO_MANY_CELLS = "The workbook has far more cells than a batch needs; copy only the requests into the template."
# Excel's own limits: a workbook claiming more is not one Excel wrote, and is refused.
EXCEL_MAX_ROW = 1_048_576
EXCEL_MAX_COLUMN = 16_384


class _SheetParser(WorkSheetParser):
    """openpyxl's streaming sheet parser, giving each cell the value Excel saved for it, or the
    formula's text when a tool saved none (never evaluated); it refuses a sheet of more cells
    than `max_cells` before reading the row that passes it."""

    def __init__(self, source, shared_strings, workbook, max_cells: int):
        super().__init__(source, shared_strings, data_only=True, epoch=workbook.epoch,
                         date_formats=workbook._date_formats, timedelta_formats=workbook._timedelta_formats)
        self.cells_left = max_cells

    def parse_row(self, row):
        # an empty row costs as much to read as a cell
        self.cells_left -= max(1, len(row))
        if self.cells_left < 0:
            raise BadFile(TOO_MANY_CELLS)
        return super().parse_row(row)

    def parse_cell(self, element):
        if element.get("t") == "inlineStr":
            return self._inline_string(element)
        cell = super().parse_cell(element)
        formula = element.find(FORMULA_TAG)
        if cell["value"] is None and formula is not None and formula.text:
            cell["value"] = "=" + formula.text
        return cell

    def _inline_string(self, element) -> dict:
        # what openpyxl does for these cells, without building a rich-text object per cell
        coordinate = element.get("r")
        if coordinate:
            row, column = coordinate_to_tuple(coordinate)
            self.col_counter = column
        else:
            self.col_counter += 1
            row, column = self.row_counter, self.col_counter
        box = element.find(INLINE_STRING)
        value = None if box is None else _string_item_text(box)
        return {"row": row, "column": column, "value": value, "data_type": "s", "style_id": 0}


_TEXT = f"{{{SHEET_MAIN_NS}}}t"
_RUN = f"{{{SHEET_MAIN_NS}}}r"
_STRING_ITEM = f"{{{SHEET_MAIN_NS}}}si"


def _string_item_text(item) -> str:
    """The text of a string item (`<si>` or `<is>`): its plain text and rich-text runs, not phonetic hints."""
    parts = []
    for child in item:
        if child.tag == _TEXT:
            parts.append(child.text or "")
        elif child.tag == _RUN:
            parts.extend(t.text or "" for t in child.iter(_TEXT))
    return "".join(parts)


def _read_shared_strings(source, max_count: int) -> list[str]:
    """The workbook's shared strings, read as openpyxl does but without a rich-text object each."""
    strings = []
    for _, node in iterparse(source):
        if node.tag == _STRING_ITEM:
            if len(strings) == max_count:
                raise BadFile(TOO_MANY_CELLS)
            strings.append(_string_item_text(node).replace("_x005F_", "_"))
            node.clear()
    return strings


def xlsx_records(data: bytes, max_columns: int, max_cells: int) -> Iterator[Record]:
    """Yield each row of the workbook's first sheet; formulas are read as text, never evaluated.

    The sheet's XML is read once, cell by cell, by a real XML parser (openpyxl's, over defusedxml):
    rows and cells absent from the file cost nothing, whatever their numbers say. A row is cut to
    `max_columns` cells, plus the first value found beyond them, so the caller can point at it.
    """
    reader = None
    try:
        reader, sheet_path = _open_first_sheet(data, max_cells)
        with reader.archive.open(sheet_path) as source:
            for number, cells in _SheetParser(source, reader.shared_strings, reader.wb, max_cells).parse():
                if not 1 <= number <= EXCEL_MAX_ROW:
                    raise BadFile(f"The workbook has a row numbered {number}, beyond what Excel allows.")
                yield number, _row_values(number, cells, max_columns)
    except (BadFile, UnsupportedFile):
        raise
    except Exception:
        # openpyxl reports a damaged workbook with all sorts of errors (KeyError, XML errors, ...)
        raise UnsupportedFile(WORKBOOK_UNREADABLE) from None
    finally:
        if reader is not None:
            reader.archive.close()


def _open_first_sheet(data: bytes, max_cells: int):
    """Read what the first sheet's cells need (shared strings, date styles), not the sheets themselves.

    openpyxl's load_workbook would also read every sheet once just to learn its size.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
    reader.read_manifest()
    strings = reader.package.find(SHARED_STRINGS)
    if strings is not None:
        with reader.archive.open(strings.PartName[1:]) as source:
            reader.shared_strings = _read_shared_strings(source, max_cells)
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)
    for _, rel in reader.parser.find_sheets():
        if rel.target in reader.valid_files and "worksheet" in rel.Type:
            return reader, rel.target
    reader.archive.close()
    raise BadFile("The workbook has no sheet to read.")


def _row_values(number: int, cells: list[dict], max_columns: int) -> list[str]:
    """The row's texts by column, up to `max_columns`, then the first text beyond them, if any."""
    values: list[str] = []
    beyond = None
    for cell in cells:
        column, value = cell["column"], cell["value"]
        if not 1 <= column <= EXCEL_MAX_COLUMN:
            raise BadFile(f"Row {number} has a cell in a column beyond what Excel allows.")
        if value is None:
            continue
        if column > max_columns:
            beyond = beyond if beyond is not None else _text(value)
            continue
        if len(values) < column:
            values.extend([""] * (column - len(values)))
        values[column - 1] = _text(value)
    if beyond is not None:
        values.extend([""] * (max_columns - len(values)))
        values.append(beyond)
    return values


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
