"""Domain outcomes, raised wherever they are found: the API answers each in api/errors.py, the portal in portal/errors.py."""
from __future__ import annotations


class NotFound(Exception):
    """No such thing, or the caller may not see it (404 either way, so ids cannot be probed)."""


class Forbidden(Exception):
    """The caller is known but may not do this (403)."""


class Conflict(Exception):
    """The request clashes with the current state of things (409)."""

    def __init__(self, message: str, *, field: str | None = None, existing_id: str | None = None):
        super().__init__(message)
        self.field = field
        self.existing_id = existing_id


class InvalidInput(Exception):
    """Input that passed the schema but not a rule needing the database (422, per field)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(str(errors))
        self.errors = errors

