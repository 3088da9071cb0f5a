"""Lay out a plain-text email body: paragraphs wrapped at 72 characters, phrases kept whole.

Text templates write each paragraph on one line and leave wrapping to this module, because
only after rendering is it known how long a name, an address or a date is. Wrapping by hand in
the template broke lines in odd places once the values were filled in ("4:32 pm" at the end of
one line, "(Singapore time)" alone on the next).

Rules, so that every mail program shows the text the same way:
- A line that starts with spaces is set apart on purpose (a username, a code): kept as it is.
- A numbered step ("1. Install SEED ...") wraps under its own text, not under its number.
- A word longer than the line (a web link) is never broken: a link cut in two does not open.
- Words joined by `KEEP` (a no-break space, see `together`) stay on one line; the joins become
  ordinary spaces once the text is laid out.
"""
from __future__ import annotations

import re
import textwrap

WIDTH = 72
# textwrap splits only on ASCII white space, so a no-break space holds two words together.
KEEP = "\u00a0"
_NUMBERED = re.compile(r"(\d+\.|[-*]) +")


def together(text: str) -> str:
    """Join the words of a phrase so the text is never wrapped inside it ("4:32 pm (Singapore time)")."""
    return KEEP.join(str(text).split())


def wrap(body: str, width: int = WIDTH) -> str:
    """Return the body with every paragraph line wrapped at `width`, keeping blank lines and indents."""
    lines = []
    for line in body.split("\n"):
        if len(line) <= width or line.startswith(" "):
            lines.append(line)
            continue
        marker = _NUMBERED.match(line)
        hang = " " * (marker.end() if marker else 0)
        lines.extend(
            textwrap.wrap(
                line, width=width, subsequent_indent=hang, break_long_words=False, break_on_hyphens=False
            )
        )
    return "\n".join(lines).replace(KEEP, " ")
