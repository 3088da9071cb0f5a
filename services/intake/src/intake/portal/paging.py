"""Numbered pages of a list, as the portal shows them: which page a link asks for, and that page."""
from __future__ import annotations

import math
from dataclasses import dataclass

PER_PAGE = 25


@dataclass
class Page:
    """One numbered page of a list, as the portal shows it."""

    items: list
    number: int
    count: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count


def page_number(raw: str) -> int:
    """The page number a query string asks for: 1 unless it is a plain number (ASCII digits)."""
    # isdigit() is also true of "²", which int() refuses, as it does more than 4,300 digits; a
    # number too long to be a page is past the end, which shows the last page
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return int(raw) if len(raw) <= 18 else 10**18


def paginate(query, number: int, per_page: int = PER_PAGE) -> Page:
    """One numbered page of a query; a page number past the end shows the last page."""
    total = query.count()
    count = max(1, math.ceil(total / per_page))
    number = min(max(1, number), count)
    return Page(list(query.paginate(number, per_page)), number, count, total)
