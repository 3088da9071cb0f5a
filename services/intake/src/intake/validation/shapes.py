"""Bodies whose fields depend on each other, documented as the shapes they take (OpenAPI `oneOf`).

A schema lists its shapes in a `shapes` attribute; the document then offers exactly those
combinations (an email invitation carries no names, a vendor has a username, ...), as the
schema's own `validates_schema` rules require, so a body the document allows passes them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apispec import BasePlugin


@dataclass(frozen=True)
class Shape:
    """One form of a body: the values that pick it, the fields it needs and those it also allows."""

    title: str
    picked_by: Mapping[str, Sequence[Any]]
    required: Sequence[str]
    optional: Sequence[str] = field(default=())

    def as_json_schema(self, properties: Mapping[str, dict]) -> dict:
        """The shape as a JSON schema, each field documented as the whole schema documents it."""
        names = [*self.required, *self.optional]
        return {
            "title": self.title,
            "type": "object",
            "properties": {
                name: {**properties[name], "enum": list(self.picked_by[name])} if name in self.picked_by
                else properties[name]
                for name in names
            },
            "required": list(self.required),
            "additionalProperties": False,
        }


class ShapesPlugin(BasePlugin):
    """apispec plugin documenting a schema that lists shapes as `oneOf` those shapes."""

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        shapes = getattr(schema, "shapes", None)
        if not shapes or "properties" not in definition:
            return None
        return {"oneOf": [shape.as_json_schema(definition["properties"]) for shape in shapes]}
