"""What a person reads on a portal page, taken from its HTML: the error beside a field, the summary,
the banner, headings, the title, form values, and any fragment as the words shown."""
from __future__ import annotations

import html
import re


def field_error(page: str, name: str) -> str | None:
    """The error shown beside a field, as plain text."""
    found = re.search(rf'<p class="error-message" id="{re.escape(name)}-error">(.*?)</p>', page, re.S)
    return text(found.group(1)) if found else None


def input_value(page: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*\bvalue="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def textarea_value(page: str, name: str) -> str | None:
    found = re.search(rf'<textarea[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</textarea>', page, re.S)
    return html.unescape(found.group(1)) if found else None


def checked_value(page: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*\bvalue="([^"]*)"[^>]* checked', page)
    return found.group(1) if found else None


def summary_links(page: str) -> list[tuple[str, str]]:
    """The error summary's (target, message) pairs."""
    block = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    if not block:
        return []
    return [(href, text(msg)) for href, msg in re.findall(r'<a href="(#[^"]*)">(.*?)</a>', block.group(0), re.S)]


def banner(page: str) -> str | None:
    found = re.search(r'<p class="banner__body">(.*?)</p>', page, re.S)
    return text(found.group(1)) if found else None


def headings(page: str, level: int = 1) -> list[str]:
    return [text(h) for h in re.findall(rf"<h{level}\b[^>]*>(.*?)</h{level}>", page, re.S)]


def title(page: str) -> str:
    return text(re.search(r"<title>(.*?)</title>", page, re.S).group(1))


def text(fragment: str) -> str:
    without_tags = re.sub(r"<[^>]+>", " ", fragment)
    return " ".join(html.unescape(without_tags).split())
