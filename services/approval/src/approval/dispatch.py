"""How a step is called: given the dependencies its parameters name, and its transaction's moves.

A step's parameter named as a field of `Dependencies` is filled from it when the service is
declared; `moves` is new for each transaction and announced (approval.moves) once the step
returns, still inside the transaction; the caller gives the rest (`message`, `error`, `request`,
...). A parameter that is none of these, and has no default, stops the service at start.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
from dataclasses import dataclass
from typing import Callable, Mapping

from invite_common.approval_policy import NO_POLICY, Policy
from invite_common.consumer import GiveUp, Handler, TwoPhaseHandler
from invite_common.messages import Envelope
from invite_common.outbox import Outbox
from invite_common.people import parse_domains

from approval import records, workflow
from approval.adapters.directory import AccountDirectory
from approval.adapters.enrolment import DeviceEnrolment
from approval.moves import Moves

log = logging.getLogger(__name__)


@dataclass
class Dependencies:
    """What the steps need from outside: the outbox, the adapters and a few settings."""

    outbox: Outbox
    directory: AccountDirectory
    enrolment: DeviceEnrolment
    activation_url: str
    request_expiry_days: int = 14
    policy: Policy = NO_POLICY
    # email the requester once the invitation is out (the portal tells them in any case)
    notify_requester_when_sent: bool = False
    # ORG_EMAIL_DOMAINS: only an address in them decides on a request
    org_domains: tuple[str, ...] = parse_domains("gov.sg")


_DEPENDENCIES = frozenset(f.name for f in dataclasses.fields(Dependencies))


def _fill(step: Callable, deps: Dependencies, given: tuple[str, ...]) -> Callable:
    """`step` with its dependencies filled in; TypeError for a parameter nobody gives."""
    named = {}
    for name, parameter in inspect.signature(step).parameters.items():
        if name in _DEPENDENCIES:
            named[name] = getattr(deps, name)
        elif name not in given and parameter.default is inspect.Parameter.empty:
            raise TypeError(f"{step.__module__}.{step.__qualname__} asks for {name!r}, which nothing gives")
    return functools.partial(step, **named)


class Bound:
    """A step ready to run inside a transaction: `bound(cause, **given)` returns what the step returns."""

    def __init__(self, step: Callable, deps: Dependencies, *given: str) -> None:
        self.outbox = deps.outbox
        self.run = _fill(step, deps, (*given, "moves"))

    def __call__(self, cause: str | None, /, **given):
        moves = Moves(self.outbox, cause)
        result = self.run(moves=moves, **given)
        moves.announce()
        return result


def on_message(step: Callable, deps: Dependencies) -> Handler:
    """The consumer's handler of a message type: `step(message, moves, ...)` in the consumer's transaction."""
    bound = Bound(step, deps, "message")

    def handle(message: Envelope) -> None:
        bound(message.message_id, message=message)

    return handle


def on_give_up(step: Callable, deps: Dependencies) -> GiveUp:
    """The consumer's last word on a message it gives up: `step(message, error, moves, ...)`."""
    bound = Bound(step, deps, "message", "error")

    def give_up(message: Envelope, error: Exception) -> None:
        bound(message.message_id, message=message, error=error)

    return give_up


@dataclass(frozen=True)
class Automatic:
    """How `approval.advance` runs one automatic step: `run(request, moves, ...)` in the consumer's
    transaction; first `prepare(request, ...)`, when given, outside any transaction (a directory's
    answer can take seconds), safe to repeat, its answer handed to `run` as `prepared`."""

    run: Callable
    prepare: Callable | None = None


def advance(steps: Mapping[str, Automatic], deps: Dependencies) -> TwoPhaseHandler:
    """The consumer's handler of `approval.advance`: the step it names runs on a request still
    waiting for it (per the workflow table); a stale step changes nothing."""
    prepares = {name: _fill(s.prepare, deps, ("request",)) for name, s in steps.items() if s.prepare}
    runs = {name: Bound(s.run, deps, "request", *(("prepared",) if s.prepare else ())) for name, s in steps.items()}

    def prepare(message: Envelope) -> object:
        p = message.payload
        first = prepares.get(p["step"])
        if first is None:
            return None
        request = records.read_request(p["request_id"])
        if request is None or not workflow.waits_for(request.state, p["step"]):
            return None
        return first(request=request)

    def commit(message: Envelope, prepared: object) -> None:
        p = message.payload
        request = records.load_for_update(p["request_id"])
        if not workflow.waits_for(request.state, p["step"]):
            log.info("stale step ignored", extra={"step": p["step"], "state": request.state})
            return
        given = {"prepared": prepared} if p["step"] in prepares else {}
        runs[p["step"]](message.message_id, request=request, **given)

    return TwoPhaseHandler(prepare=prepare, commit=commit)
