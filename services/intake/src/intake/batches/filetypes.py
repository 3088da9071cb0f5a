"""What kind of file was uploaded, judged by its content (never its name), and how its text is decoded."""
from __future__ import annotations

import io
import zipfile

MAX_FILE_BYTES = 5 * 1024 * 1024
# A workbook is compressed: this bounds what unpacking a small upload may cost (zip bombs).
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
# Parts read whole (styles, workbook, relationships) stay small in any real workbook; only the
# sheets and the shared strings grow with the rows, and those are read under a cell budget.
MAX_PART_BYTES = 2 * 1024 * 1024
_GROWING_PARTS = ("xl/worksheets/", "xl/sharedStrings.xml")
ACCEPTED = "Upload a CSV file or an Excel workbook (.xlsx), such as the template."
TOO_LARGE = f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it into smaller files."
WORKBOOK_UNREADABLE = (
    "This Excel workbook cannot be opened: it may be damaged, incomplete or protected with a password. "
    "Open it in Excel, save it again as .xlsx (without a password) and upload the saved copy."
)
_OLE = b"\xd0\xcf\x11\xe0"


class TooLarge(Exception):
    """The upload is bigger than a batch may be (413)."""


class UnsupportedFile(Exception):
    """The upload is neither a CSV text file nor an Excel workbook (415)."""


class BadFile(Exception):
    """The upload is a CSV or workbook, but not one that describes requests (422, on the file)."""


# Signatures of files people pick by mistake, so the refusal can say what was sent.
_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "an older Excel (.xls) or Office file; save it as .xlsx or CSV first"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


def unsupported(what: str) -> UnsupportedFile:
    return UnsupportedFile(f"This file is {what}. {ACCEPTED}")


def named_as_workbook(filename: str) -> bool:
    """Tell whether the person meant to send a workbook: the name only words a refusal, never decides the type."""
    return filename.strip().lower().endswith((".xlsx", ".xlsm"))


def identify(data: bytes, filename: str = "") -> str:
    """Return "xlsx" or "text" for an upload; raise UnsupportedFile for anything else."""
    if len(data) > MAX_FILE_BYTES:
        raise TooLarge(TOO_LARGE)
    workbook = named_as_workbook(filename)
    if data.startswith(b"PK\x03\x04"):
        _check_workbook(data, workbook)
        return "xlsx"
    # a password-protected .xlsx is stored in the older Office container
    if workbook and data.startswith(_OLE):
        raise UnsupportedFile(WORKBOOK_UNREADABLE)
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise unsupported(what)
    return "text"


def _check_workbook(data: bytes, named_as_workbook: bool = False) -> None:
    """Refuse a zip that is not an Excel workbook, or one that would unpack to too much."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        if named_as_workbook:
            raise UnsupportedFile(WORKBOOK_UNREADABLE) from None
        raise unsupported("a damaged or incomplete zip archive") from None
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        if "mimetype" in names and any(n.startswith("content.xml") for n in names):
            raise unsupported("an OpenDocument file; save it as .xlsx or CSV first")
        if any(n.startswith("word/") for n in names):
            raise unsupported("a Word document")
        raise unsupported("a zip archive, not an Excel workbook")
    too_large = TooLarge("The workbook is too large once unpacked; split it into smaller files.")
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        raise too_large
    for info in infos:
        if info.filename.endswith((".xml", ".rels")) and not info.filename.startswith(_GROWING_PARTS):
            if info.file_size > MAX_PART_BYTES:
                raise too_large


def decode(data: bytes) -> str:
    """Decode CSV bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 as Excel saves it."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise unsupported("not readable as text") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise unsupported("not a text file we can read (neither UTF-8 nor Windows-1252)") from None
    if _looks_binary(text):
        raise unsupported("not a text file")
    return text


def _looks_binary(text: str) -> bool:
    """Tell binary content from text that has a stray control character or two in a cell."""
    sample = text[:65536]
    if "\x00" in sample:
        return True
    controls = sum(1 for char in sample if char < " " and char not in "\t\r\n")
    return controls > max(8, len(sample) // 20)
