"""The API's blueprint: bodies and queries parsed by their schemas, the caller known before either."""
from __future__ import annotations

import functools
import flask_smorest
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser

from intake.auth.guards import Guard
from intake.auth.identity import current_caller

NOT_AN_OBJECT = "Send the request as a JSON object."


class BodyParser(FlaskParser):
    """webargs' Flask parser, answering a body that is not a JSON object with 422 like any bad field."""

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):  # webargs' hook for subclasses
        abort(422, exc=error, messages={"json": {"_body": [NOT_AN_OBJECT]}})

    def load_json(self, req, schema):
        data = super().load_json(req, schema)
        if data is not core.missing and not isinstance(data, dict):
            abort(422, messages={"json": {"_body": [NOT_AN_OBJECT]}})
        return data


class Blueprint(flask_smorest.Blueprint):
    """A blueprint of the JSON API: `@blp.arguments(Schema)` validates and documents each body."""

    ARGUMENTS_PARSER = BodyParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An unknown caller hears 401 before anything about the body it sent.
        self.before_request(_identify_caller)

    def arguments(self, schema, **kwargs):
        # webargs builds a schema given as a class again for every request, and marshmallow
        # deep-copies its fields each time (about a tenth of a submission's CPU); loading keeps
        # no state on the instance, so one serves every request.
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, **kwargs)


def _identify_caller() -> None:
    current_caller()


def requires(guard: Guard):
    """The route's guard (auth/guards.py), checked before the body or query is read: someone who may
    not act here hears 403, not what was wrong with what they should not have sent. Put it under
    `@blp.route`, or first on a MethodView's method."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            guard.check(current_caller())
            return view(*args, **kwargs)

        return guarded

    return decorate
