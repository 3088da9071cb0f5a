"""Render a catalogued email template into its subject, plain-text body and HTML body."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from invite_common.dates import clock_time, long_date
from invite_common.errors import PermanentError
from notifier.catalog import CATALOG, validate_context
from notifier.plaintext import together, wrap

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Control characters, Unicode line/paragraph separators and bidi overrides: a value
# carrying them could start a new line of its own or reorder the text around it.
_UNSAFE_IN_VALUE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


class RenderingError(PermanentError):
    """A template could not be rendered with the context it was given."""


class UnsafeSubject(RenderingError):
    """A rendered subject would not be a single safe header line."""


@dataclass(frozen=True)
class RenderedEmail:
    """An email ready to send; its subject is checked to be one header-safe line."""

    subject: str
    text: str
    html: str

    def __post_init__(self) -> None:
        check_subject(self.subject)


def check_subject(subject: str) -> None:
    """Refuse a subject that is empty, spans lines, or could be read as an encoded word."""
    # The subject is never quoted in the error: it may carry an invitee's address.
    if not subject.strip():
        raise UnsafeSubject("the subject is empty")
    if len(subject.splitlines()) > 1 or "\r" in subject or "\n" in subject:
        raise UnsafeSubject("the subject contains a line break")
    if _UNSAFE_IN_VALUE.search(subject):
        raise UnsafeSubject("the subject contains a control character")
    if "=?" in subject:
        raise UnsafeSubject("the subject contains an encoded-word marker '=?'")


def _one_line(value: Any) -> Any:
    """Keep every value a template prints on one line, free of control characters."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _UNSAFE_IN_VALUE.sub(" ", value)
    return value


def _build_environment(*, for_bodies: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        # Only HTML is escaped; plain text stays readable ("O'Brien & Sons") and is kept
        # safe by _one_line instead.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        # Bodies neutralise odd characters in values; subjects do not, so that a line
        # break meant for a header is refused by check_subject rather than smoothed over.
        finalize=_one_line if for_bodies else None,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates ship with the code: skip the per-render check for edited files.
        auto_reload=False,
    )
    environment.filters["long_date"] = long_date
    environment.filters["clock_time"] = clock_time
    environment.filters["together"] = together
    return environment


_bodies = _build_environment(for_bodies=True)
_subjects = _build_environment(for_bodies=False)


def compile_templates() -> int:
    """Compile every catalogued template now; return how many.

    Jinja compiles a template the first time it is used (about 50 ms for an invitation's
    three), which would otherwise fall on the first invitee after every start."""
    compiled = 0
    for template in CATALOG:
        _subjects.get_template(f"{template}.subject.txt")
        _bodies.get_template(f"{template}.txt")
        _bodies.get_template(f"{template}.html")
        compiled += 3
    return compiled


def render(template: str, context: dict) -> RenderedEmail:
    """Validate the context for a catalogued template and render its subject, text and HTML."""
    values = validate_context(template, context)
    try:
        subject = _subjects.get_template(f"{template}.subject.txt").render(values)
        # The text is laid out once the values are in: only then is each line's length known.
        text = wrap(_bodies.get_template(f"{template}.txt").render(values))
        html = _bodies.get_template(f"{template}.html").render(values)
    except jinja2.TemplateError as exc:
        # Jinja's messages describe the template, not the values: safe to log.
        raise RenderingError(f"template {template!r} failed to render: {type(exc).__name__}: {exc}") from exc
    return RenderedEmail(subject=subject.strip(), text=text, html=html)
