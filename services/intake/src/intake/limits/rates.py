"""Per-user rate limits on the actions that cost the most or invite abuse, kept where every replica sees them.

`DEFAULT_LIMITS` (in intake's settings, beside the RATE_LIMIT_<ACTION> rows that override them) is the whole policy's budgets; each route says where it is declared which
actions it counts as (`@limited("submit")`), and a bulk route how many actions one of its requests
asks for. Each action has one budget per person, shared by the API and the portal (submitting
through either counts once; a portal form's step to its check page counts too, since it asks the
same questions of the directory and of open requests). Every route that decides on requests counts
as `decide`, and a bulk decision counts once per decision it asks for: approving 100 requests at
once is 100 decisions, whether made one by one or together, through the API or the portal; a bulk
its route refuses as it stands (no reason for rejecting) counts once. A bulk larger than what is
left of a limit is refused whole, its Retry-After being when the limit next has room (perhaps not
yet room for all of it); one larger than a limit allows in its whole window could never pass, so
it is refused as invalid input (422, naming its field) instead of being told to wait, and counts
nothing.

Counts live in RATE_LIMIT_STORAGE_URL (Redis, shared by every intake replica), or in memory
when it is unset, which suits one local process. A request over the limit is answered 429 with
Retry-After: a JSON body on the API, a page on the portal.

The `limits` library counts (a moving window, in memory or in Redis). Only a limited route's
own requests are counted, in a wrapper around its view: a Flask extension for this resolved
every request's limits twice, a third of a submission's CPU outside the database. The wrapper is
put directly under the route's `@route`, so a request is counted after the blueprint has
identified its caller (an unknown caller hears 401 first) and before the route's guard and its
schema (a bulk route's count reads the request first).
"""
from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from prometheus_client import Counter
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from invite_common.config import Settings

from intake.errors import InvalidInput
from intake.settings import DEFAULT_LIMITS
from intake.auth.identity import Unauthenticated, current_caller

log = logging.getLogger(__name__)

# Each request let through uncounted while the storage is away: an alert, since the limits are what
# keeps a flood from stopping intake, and a lapse is otherwise only a log line per request.
LAPSED = Counter("invites_rate_limits_lapsed",
                 "Limited requests let through uncounted because the rate-limit storage could not be reached.",
                 registry=None)

KEY_PREFIX = "invites"


# the methods an action counts; POST when not named
METHODS = {"sign_in_redirects": ("GET",), "people_search": ("GET",)}


@dataclass(frozen=True)
class Bulk:
    """A route one request of which asks for many actions: how many, the field listing them, and
    what to say when they are more than a limit allows at once ({amount}, {window})."""

    asked: Callable[[], int]
    field: str
    too_many: str


class TooManyAttempts(TooManyRequests):
    """A request over one of its action's limits; `retry_after` is when the limit lets it through."""

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class MoreThanALimitAllows(Exception):
    """A request asking for more actions at once than one of its action's limits allows in a whole window."""

    def __init__(self, item: RateLimitItem) -> None:
        super().__init__(item)
        self.amount = item.amount
        name = item.GRANULARITY.name
        self.window = f"{'an' if name == 'hour' else 'a'} {name}" if item.multiples == 1 else f"{item.multiples} {name}s"


def limits_for(overrides: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The limits in force: the defaults, with RATE_LIMIT_<ACTION> settings in their place."""
    limits = dict(DEFAULT_LIMITS)
    for action, value in overrides:
        if action not in limits:
            raise ValueError(f"RATE_LIMIT_{action.upper()} names no rate-limited action ({', '.join(limits)})")
        limits[action] = value
    return limits


def _who() -> str:
    """The person a request counts against; without one, the address it came from."""
    try:
        return "user:" + current_caller().email
    except Unauthenticated:
        return _address()


def _address() -> str:
    return "addr:" + (request.remote_addr or "unknown")


def _signing_in_as() -> str:
    # the email typed in, as typed (bounded): before sign-in there is no one else to count against
    return _address() + "|" + request.form.get("email", "").strip().lower()[:254]


KEYS = {"sign_in": _signing_in_as, "sign_in_per_address": _address, "sign_in_redirects": _address}


class RateLimits:
    """The limits in force, counted in the storage every replica shares."""

    def __init__(self, storage_url: str, limits: dict[str, str]) -> None:
        self.storage = storage_from_string(storage_url or "memory://")
        self.window = MovingWindowRateLimiter(self.storage)
        self.limits: dict[str, list[RateLimitItem]] = {action: parse_many(value) for action, value in limits.items()}

    def count(self, action: str, who: str, cost: int = 1) -> None:
        """Count `cost` of `action` by `who`; raise TooManyAttempts when one of its limits is reached.

        More than a limit allows in its whole window raises MoreThanALimitAllows, counting nothing.
        A storage that cannot be reached lets the request through: an outage of the counts must
        not stop people from working, so the limits lapse until it is back.
        """
        for item in self.limits[action]:
            if cost > item.amount:
                raise MoreThanALimitAllows(item)
        for item in self.limits[action]:
            try:
                if self.window.hit(item, KEY_PREFIX, action, who, cost=cost):
                    continue
                reset_at = self.window.get_window_stats(item, KEY_PREFIX, action, who).reset_time
            except Exception as exc:  # noqa: BLE001 - whatever the storage's client raises
                log.warning("rate-limit storage unavailable; limits lapse", extra={"error": type(exc).__name__})
                LAPSED.inc()
                return
            raise TooManyAttempts(retry_after=max(1, math.ceil(reset_at - time.time())))


def limited(*actions: str, bulk: Bulk | None = None):
    """Count each request of the route against the budgets of `actions` (one request each, or as
    many as `bulk` says it asks for). Put it directly under the route's `@route`."""
    unknown = set(actions) - set(DEFAULT_LIMITS)
    if unknown:
        raise ValueError(f"no rate-limited action is named {', '.join(sorted(unknown))}")

    def decorate(view):
        @functools.wraps(view)
        def counted(*args, **kwargs):
            limits: RateLimits = current_app.extensions["rate_limiter"]
            for action in actions:
                if request.method in METHODS.get(action, ("POST",)):
                    try:
                        limits.count(action, KEYS.get(action, _who)(), bulk.asked() if bulk else 1)
                    except MoreThanALimitAllows as exc:
                        # only a bulk can ask for more than one at once
                        raise InvalidInput({bulk.field: [bulk.too_many.format(amount=exc.amount, window=exc.window)]}) from None
            return view(*args, **kwargs)

        counted.rate_limited = actions
        return counted

    return decorate


def limited_routes(app: Flask) -> dict[str, tuple[str, ...]]:
    """Every endpoint of `app` that counts against rate limits, with the actions it counts as."""
    found = {}
    for endpoint, view in app.view_functions.items():
        actions = getattr(view, "rate_limited", ())
        # a class of views (flask-smorest's MethodView) declares them on its methods
        view_class = getattr(view, "view_class", None)
        for method in getattr(view_class, "methods", None) or ():
            actions += getattr(getattr(view_class, method.lower(), None), "rate_limited", ())
        if actions:
            found[endpoint] = actions
    return found


def register_limits(app: Flask, settings: Settings) -> RateLimits:
    """Count the routes' rate limits in RATE_LIMIT_STORAGE_URL, with RATE_LIMIT_<ACTION> in place of a default."""
    limits = RateLimits(settings.rate_limit_storage_url, limits_for(settings.rate_limits))
    app.extensions["rate_limiter"] = limits
    return limits
