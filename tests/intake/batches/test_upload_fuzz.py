"""Fuzzing the upload path: generated CSV and xlsx files are read or cleanly refused, each within the budget.

`make test` runs a short round (FUZZ_EXAMPLES, 40 by default); `make fuzz` a long one.
"""
from __future__ import annotations

import io
import os
import time
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.batches.columns import COLUMNS
from intake.batches.filetypes import BadFile, TooLarge, UnsupportedFile
from intake.batches.parsing import ParsedFile, parse
from tests.intake.batches.test_upload_costs import workbook

BUDGET = 2.0
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the budget is checked in CPU time below, whatever the machine's load
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=EXAMPLES <= 100,  # the short round is the same every time; the long one explores
)

# pieces people and attackers put in files: real headings, their aliases, brackets, quotes, separators
HEADING_PIECES = [label for _, label in COLUMNS] + [field for field, _ in COLUMNS] + [
    "(", ")", "((((", "Department (optional)", "*", "_", " ", "\u00a0", "\u200b", "Ｅｍａｉｌ", "@", "x" * 300,
]
CELL = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["yes", "no", "vendor", "public_officer", "jane@tech.gov.sg", "=1+1", '"', '""', "\r\n", ";", "\t"]),
    st.text(alphabet="([{<\"'\\,;\r\n", max_size=200),
)
SEPARATOR = st.sampled_from([",", ";", "\t"])
LINE_END = st.sampled_from(["\r\n", "\n", "\r"])


def assert_read_or_refused(data: bytes) -> None:
    started = time.process_time()
    try:
        outcome = parse(data)
    except (BadFile, TooLarge, UnsupportedFile) as refusal:
        assert str(refusal), "a refusal says why"
    else:
        assert isinstance(outcome, ParsedFile) and outcome.rows
        assert len(outcome.unknown_columns) <= 22
    assert time.process_time() - started < BUDGET


@st.composite
def csv_files(draw) -> bytes:
    separator, line_end = draw(SEPARATOR), draw(LINE_END)
    headings = draw(st.lists(st.one_of(st.sampled_from(HEADING_PIECES), st.text(max_size=20)), max_size=16))
    rows = draw(st.lists(st.lists(CELL, max_size=16), max_size=12))
    text = line_end.join(separator.join(row) for row in [headings, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


@st.composite
def workbooks(draw) -> bytes:
    """Sheets written as XML by hand: any row and column numbers, cell types, formulas, broken markup."""
    cells = []
    for _ in range(draw(st.integers(0, 12))):
        row = draw(st.one_of(st.integers(1, 5), st.integers(-2, 2**70), st.just(1_048_576)))
        column = draw(st.one_of(st.sampled_from(["A", "B", "K", "BL", "BM", "XFD", "XFE", "ZZZZ"]), st.just("")))
        kind = draw(st.sampled_from(["inlineStr", "s", "n", "b", "e", "str", "d", ""]))
        value = draw(st.one_of(st.text(alphabet="0123456789.-eE", max_size=12), st.sampled_from(HEADING_PIECES)))
        formula = draw(st.sampled_from(["", "<f>1+1</f>", "<f/>", '<f t="shared" si="0"/>', "<f>", "<f"]))
        body = f"<is><t>{value}</t></is>" if kind == "inlineStr" else f"{formula}<v>{value}</v>"
        ref = f' r="{column}{row}"' if column else ""
        cells.append(f'<row r="{row}"><c{ref} t="{kind}">{body}</c></row>')
    xml = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           + "".join(cells) + "</sheetData></worksheet>")
    return workbook(xml.encode())


@st.composite
def damaged_workbooks(draw) -> bytes:
    """A real workbook from openpyxl, then some of its bytes changed, or one of its parts replaced."""
    from tests.support.spreadsheets import HEADINGS, OFFICER_ROW, xlsx_bytes

    printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
    data = bytearray(xlsx_bytes([OFFICER_ROW, draw(st.lists(printable, max_size=11))], HEADINGS))
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 8))):
            # a position drawn independently of the length: the workbook's own timestamps vary it
            data[draw(st.integers(0, 2**20)) % len(data)] = draw(st.integers(0, 255))
        return bytes(data)
    out = io.BytesIO()
    part = draw(st.sampled_from(["xl/styles.xml", "xl/workbook.xml", "[Content_Types].xml", "xl/worksheets/sheet1.xml"]))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, draw(st.binary(max_size=200)) if item.filename == part else source.read(item))
    return out.getvalue()


@fuzz
@given(csv_files())
def test_generated_csv_files_are_read_or_refused_within_the_budget(data):
    assert_read_or_refused(data)


@fuzz
@given(workbooks())
def test_generated_workbooks_are_read_or_refused_within_the_budget(data):
    assert_read_or_refused(data)


@fuzz
@given(damaged_workbooks())
def test_damaged_workbooks_are_read_or_refused_within_the_budget(data):
    assert_read_or_refused(data)


@fuzz
@given(st.binary(max_size=2000))
def test_any_bytes_are_read_or_refused_within_the_budget(data):
    assert_read_or_refused(data)
