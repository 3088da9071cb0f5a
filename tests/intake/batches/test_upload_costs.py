"""Uploads that once cost far more than their size: each is answered (read, or refused) within the budget."""
import io
import time
import zipfile

import pytest

from intake.batches.filetypes import BadFile, TooLarge, UnsupportedFile
from intake.batches.parsing import MAX_COLUMNS, MAX_ROWS, parse
from tests.support.spreadsheets import HEADINGS, OFFICER_ROW, csv_bytes

BUDGET = 2.0


def timed_parse(data: bytes):
    """Parse `data`; return (outcome, CPU seconds) where outcome is the ParsedFile or the refusal.

    CPU time, not wall time: what a file costs does not depend on what else the machine is doing.
    """
    started = time.process_time()
    try:
        outcome = parse(data)
    except (BadFile, TooLarge, UnsupportedFile) as refusal:
        outcome = refusal
    return outcome, time.process_time() - started


def workbook(sheet_xml: bytes, *, shared_strings: bytes | None = None) -> bytes:
    """A minimal workbook whose first sheet is `sheet_xml` (compressed, as Excel saves it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
               if shared_strings else "")
            + '</Types>'))
        archive.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'))
        archive.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Requests" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>'))
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared_strings:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
    return out.getvalue()


def sheet(rows_xml: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{rows_xml}</sheetData></worksheet>").encode()


def inline_row(number: int, cells: dict[str, str]) -> str:
    return f'<row r="{number}">' + "".join(
        f'<c r="{ref}{number}" t="inlineStr"><is><t>{text}</t></is></c>' for ref, text in cells.items()
    ) + "</row>"


LETTERS = "ABCDEFGHIJK"
HEADING_CELLS = dict(zip(LETTERS, HEADINGS))
OFFICER_CELLS = {letter: OFFICER_ROW.get(h, "") for letter, h in zip(LETTERS, HEADINGS)}


def test_a_small_workbook_of_unclosed_formula_tags_is_refused_within_the_budget():
    # ~500 bytes compressed; a pattern search over this XML backtracked for each "<f"
    data = workbook(b"<f" * 40_000)
    assert len(data) < 2_000
    outcome, seconds = timed_parse(data)
    assert isinstance(outcome, UnsupportedFile)
    assert seconds < BUDGET


def test_a_heading_that_is_one_long_run_of_brackets_is_answered_within_the_budget():
    data = ("(" * 100_000 + "," + ",".join(HEADINGS) + "\r\n").encode() + csv_bytes([OFFICER_ROW]).split(b"\r\n", 1)[1]
    outcome, seconds = timed_parse(data)
    assert seconds < BUDGET
    assert not isinstance(outcome, Exception), outcome
    assert len(outcome.unknown_columns[0]) <= 100


def test_cells_far_to_the_right_on_every_row_cost_no_more_than_their_size():
    far = {"XFD": "x"}
    rows = [inline_row(1, HEADING_CELLS)] + [inline_row(n, OFFICER_CELLS | far) for n in range(2, 2002)]
    outcome, seconds = timed_parse(workbook(sheet("".join(rows))))
    assert seconds < BUDGET
    assert not isinstance(outcome, Exception), outcome
    assert len(outcome.rows) == 2000
    assert outcome.unknown_columns == [f"data beyond column {_letter(MAX_COLUMNS)}"]


def test_a_row_numbered_far_below_the_last_does_not_fill_the_gap():
    rows = inline_row(1, HEADING_CELLS) + inline_row(2, OFFICER_CELLS) + inline_row(1_048_576, OFFICER_CELLS)
    outcome, seconds = timed_parse(workbook(sheet(rows)))
    assert seconds < BUDGET
    assert [number for number, _ in outcome.rows] == [2, 1_048_576]


@pytest.mark.parametrize("number", ["1048577", "99999999999999999999999", "-3", "1e400"])
def test_a_row_number_beyond_what_excel_allows_is_refused(number):
    rows = inline_row(1, HEADING_CELLS) + inline_row(2, OFFICER_CELLS).replace('r="2"', f'r="{number}"', 1)
    outcome, seconds = timed_parse(workbook(sheet(rows)))
    assert isinstance(outcome, (BadFile, UnsupportedFile)), outcome
    assert seconds < BUDGET


def test_millions_of_unknown_headings_are_not_kept():
    headings = HEADINGS + [f"x{i}" for i in range(1_000_000)]
    data = (",".join(headings) + "\r\n").encode() + csv_bytes([OFFICER_ROW]).split(b"\r\n", 1)[1]
    assert len(data) < 10 * 1024 * 1024
    outcome, seconds = timed_parse(data[: 5 * 1024 * 1024] if len(data) > 5 * 1024 * 1024 else data)
    assert seconds < BUDGET
    kept = outcome.unknown_columns if not isinstance(outcome, Exception) else [str(outcome)]
    assert len(kept) <= 21 and sum(len(k) for k in kept) < 4_000


def test_a_csv_of_the_largest_size_and_row_count_allowed_is_read_within_the_budget():
    rows = MAX_ROWS - 1
    cell = "a" * ((5 * 1024 * 1024 // rows - 13) // 11)
    line = ",".join([cell] * 11) + "\r\n"
    data = (",".join(HEADINGS) + "\r\n").encode() + (line * rows).encode()
    assert len(data) > 4.9 * 1024 * 1024
    outcome, seconds = timed_parse(data)
    assert len(outcome.rows) == rows
    assert seconds < BUDGET


def _letter(count: int) -> str:
    from intake.batches.columns import column_letter

    return column_letter(count - 1)


def test_one_long_shared_string_on_every_row_is_not_kept_whole_on_each():
    # a 30,000-character string stored once, referenced by every row: small to upload, huge if copied
    long_text = "y" * 30_000
    strings = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               f"<si><t>{long_text}</t></si></sst>").encode()
    rows = [inline_row(1, HEADING_CELLS)] + [
        inline_row(n, OFFICER_CELLS | {"K": ""}).replace('<c r="K', '<c r="X').replace("</row>", f'<c r="K{n}" t="s"><v>0</v></c></row>')
        for n in range(2, 4002)
    ]
    data = workbook(sheet("".join(rows)), shared_strings=strings)
    assert len(data) < 200_000
    outcome, seconds = timed_parse(data)
    assert len(outcome.rows) == 4000
    kept = sum(len(value) for _, fields in outcome.rows for value in fields.values())
    assert kept < 10 * 1024 * 1024
    assert all(len(fields["reason"]) > 1000 for _, fields in outcome.rows)  # still too long, so still refused


def test_a_file_that_takes_longer_than_its_budget_is_refused_and_its_reader_stopped():
    from intake.batches import isolation

    cell = "a" * 80
    data = (",".join(HEADINGS) + "\r\n" + (",".join([cell] * 11) + "\r\n") * 4999).encode()
    started = time.perf_counter()
    with pytest.raises(BadFile, match="far longer"):
        isolation.parse_within(data, budget=0.001)  # 10 ms of wall clock: no 4.5 MB file is read that fast
    assert isolation.parse_within(csv_bytes([OFFICER_ROW]), budget=1.0).rows
    assert time.perf_counter() - started < 30
