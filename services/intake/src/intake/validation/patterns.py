"""The field rules of rules.py as the API's OpenAPI document states them: patterns and lengths.

Each pattern admits only values its rule accepts, so a request the document allows is not refused
for the shape of a field; a rule no pattern can hold (a number in use, an officer's domain) is
said in words by the operation. The hidden characters are read from the same Unicode categories
as the rule itself. Patterns use only what ECMA-262, Python's `re` and Rust's `regex` read alike:
`\\uXXXX` escapes, classes and negative lookaheads; a character beyond the Basic Multilingual
Plane is written as itself. No pattern names a lone surrogate: no JSON string carries one.
"""
from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable

from intake.validation.rules import (
    EMAIL_MAX_LENGTH,
    HIDDEN_CATEGORIES,
    JOINERS,
    PHONE_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    USERNAME_MIN_LENGTH,
)

ONE_LINE_TEXT = ("Up to {max_length:,} characters on one line, not all spaces; no tabs, control characters "
                 "or invisible formatting characters (direction overrides, zero-width spaces).")
MULTILINE_TEXT = ("Up to {max_length:,} characters, not all spaces; line breaks allowed, but no tabs, control "
                  "characters or invisible formatting characters (direction overrides, zero-width spaces).")


def _hidden_and_spaces() -> tuple[list[int], list[int]]:
    """The code points clean_text refuses as hidden, and those str.strip() removes (a value of only
    these is blank), in one pass over Unicode; surrogates are left out."""
    hidden, spaces = [], []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        if char.isspace():
            spaces.append(code)
        if not char.isprintable() and unicodedata.category(char) in HIDDEN_CATEGORIES:
            hidden.append(code)
    return hidden, spaces


_HIDDEN, _SPACES = _hidden_and_spaces()


def _escaped(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def _class_body(codes: Iterable[int]) -> str:
    """Regex class contents naming exactly these code points, as ranges."""
    ranges: list[list[int]] = []
    for code in sorted(set(codes)):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(_escaped(low) if low == high else f"{_escaped(low)}-{_escaped(high)}" for low, high in ranges)


def text(max_length: int, *, multiline: bool = False) -> dict:
    """Free text as clean_text takes it: some visible character, no hidden ones (line breaks only
    in a text box; the zero-width joiners that some scripts spell with are kept)."""
    allowed_breaks = {ord("\n"), ord("\r")} if multiline else set()
    hidden = [c for c in _HIDDEN if c not in allowed_breaks and chr(c) not in JOINERS]
    anything = f"[^{_class_body(hidden)}]"
    visible = f"[^{_class_body([*hidden, *_SPACES])}]"
    return {
        # The group is for schemathesis: without one it folds the length into the pattern and writes
        # the characters beyond the BMP back as Python's \U escapes, which no validator reads.
        "pattern": f"^({anything}*{visible}{anything}*)$",
        "minLength": 1,
        "maxLength": max_length,
        "description": (MULTILINE_TEXT if multiline else ONE_LINE_TEXT).format(max_length=max_length),
    }


_LOCAL_CHARACTER = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL_CHARACTER_OR_DOT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]"
# An ASCII label; one starting xn-- would have to be a valid international name, so none is offered.
_LABEL = "(?![Xx][Nn]--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"

EMAIL = {
    "pattern": (
        # no encoded words (=?), no two dots in a row; the part before the @ at most 64 characters
        f"^(?!.*=\\?)(?!.*\\.\\.){_LOCAL_CHARACTER}(?:{_LOCAL_CHARACTER_OR_DOT}{{0,62}}{_LOCAL_CHARACTER})?"
        f"@(?:{_LABEL}\\.)+[A-Za-z]{{2,63}}$"
    ),
    "maxLength": EMAIL_MAX_LENGTH,
    "description": "An email address whose domain is written in ASCII letters, digits and hyphens.",
    "example": "jane.tan@tech.gov.sg",
}

# only vendors choose a username, and a vendor's starts with v- (rules.vendor_username_problem)
USERNAME = {
    "pattern": (
        f"^(?!.*\\.\\.)[vV]-[A-Za-z0-9_ .-]{{{max(0, USERNAME_MIN_LENGTH - 3)},{USERNAME_MAX_LENGTH - 3}}}[A-Za-z0-9]$"
    ),
    "description": "A vendor's TechPass username: v- then letters, digits, spaces and _ - . (never two dots "
                   "in a row), ending with a letter or a digit.",
    "example": "v-vic.lim",
}

PHONE = {
    "pattern": "^\\+?[0-9 ().-]*[0-9][0-9 ().-]*$",
    "maxLength": PHONE_MAX_LENGTH,
    "description": "A Singapore number (8 digits, starting with 3, 6, 8 or 9) or an international number starting "
                   "with + and its country code; it must be a number in use (the operation refuses any other with "
                   "422, saying what is wrong: the count of digits, the first digit, the country code or the range).",
    "example": "9123 4567",
}

# a header value of printable ASCII, not blank
PRINTABLE_KEY = {"pattern": "^[ -~]*[!-~][ -~]*$", "minLength": 1, "maxLength": 200}

UUID = {"format": "uuid"}


def id_in_path(name: str) -> dict:
    """A request's or a batch's id in a path, documented as the UUID every id is (any other finds nothing: 404)."""
    return {"in": "path", "name": name, "required": True, "schema": {"type": "string", **UUID}}

# a cursor the API gave out: URL-safe base64
CURSOR = {"pattern": "^[A-Za-z0-9_-]+=*$", "description": "the `next_cursor` of the page before"}
