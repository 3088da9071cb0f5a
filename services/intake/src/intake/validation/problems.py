"""Messages the schemas give, each with a code that stays when its words change.

A `Problem` is the message itself (a str: the API's 422 body stays `{field: [message]}`) carrying
a `code`; the portal words problems by code (portal/forms.py), so changing a message's wording, or
a number in it, changes nothing on the pages. marshmallow formats a message before raising it;
`format` keeps the code. A message stored as text (a batch row's errors) finds its code again by
its words (`code_of`).
"""
from __future__ import annotations

# code -> the problem declared with it; text -> code, for messages read back from storage
DECLARED: dict[str, Problem] = {}
_BY_TEXT: dict[str, str] = {}


class Problem(str):
    """A message of the schemas with a stable `code`."""

    code: str

    def __new__(cls, code: str, text: str) -> Problem:
        problem = super().__new__(cls, text)
        problem.code = code
        return problem

    def format(self, *args, **kwargs) -> Problem:
        return Problem(self.code, str.format(self, *args, **kwargs))

    def __reduce__(self):
        return Problem, (self.code, str(self))


def declare(code: str, text: str) -> Problem:
    """A problem the schemas give, under a code no other problem has."""
    if code in DECLARED:
        raise ValueError(f"the problem code {code!r} is declared twice")
    problem = DECLARED[code] = Problem(code, text)
    _BY_TEXT.setdefault(text, code)
    return problem


def code_of(message: object) -> str | None:
    """The code of a message the schemas gave, also once it was stored as text; None for any other."""
    code = getattr(message, "code", None)
    return code if code is not None else _BY_TEXT.get(message) if isinstance(message, str) else None


# marshmallow's own words for the validators the list filters use, declared with codes so a page can
# word them its way while the API says exactly what it said before
CHOICE = declare("choice", "Must be one of: {choices}.")
TOO_LONG = declare("too_long", "Longer than maximum length {max}.")
OUT_OF_RANGE = declare("range", "Must be greater than or equal to {min} and less than or equal to {max}.")
NOT_A_NUMBER = declare("integer", "Not a valid integer.")
NOT_YES_OR_NO = declare("boolean", "Not a valid boolean.")
