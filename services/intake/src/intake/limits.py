"""Per-user rate limits on the actions that cost the most or invite abuse, kept where every replica sees them.

The table below is the whole policy: which routes count as which action. Each action has one
budget per person, shared by the API and the portal (submitting through either counts once).
Counts live in RATE_LIMIT_STORAGE_URL (Redis, shared by every intake replica), or in memory
when it is unset, which suits one local process. A request over the limit is answered 429 with
Retry-After: a JSON body on the API, a page on the portal.

The `limits` library counts (a moving window, in memory or in Redis). Only a limited route's
own requests are counted, in a wrapper around its view: a Flask extension for this resolved
every request's limits twice, a third of a submission's CPU outside the database.
"""
from __future__ import annotations

import functools
import logging
import math
import time

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from intake.identity import Unauthenticated, current_caller

log = logging.getLogger(__name__)

KEY_PREFIX = "invites"

# action -> limits (the `limits` library's notation; RATE_LIMIT_<ACTION> overrides one, e.g. RATE_LIMIT_SUBMIT)
DEFAULT_LIMITS = {
    "submit": "30/minute;300/day",
    "upload": "10/minute;100/day",
    "batch_submit": "10/minute;100/day",
    "resend": "10/minute;50/day",
    "decide": "120/minute;3000/day",
    # per address and email signed in as; and per address, whatever the emails tried
    "sign_in": "10/minute;100/hour",
    "sign_in_per_address": "60/minute;1000/hour",
    # single sign-on: the trips to the provider and back (GETs), per address
    "sign_in_redirects": "30/minute;300/hour",
}

# endpoint -> the action(s) its requests count as
LIMITED_ROUTES = {
    "invites.Invites": "submit",
    "portal.invite.email_invitation": "submit",
    "portal.invite.create_account": "submit",
    "batches.upload": "upload",
    "portal.batch.upload_file": "upload",
    "batches.submit": "batch_submit",
    "portal.batch.submit": "batch_submit",
    "invites.resend": "resend",
    "portal.status.resend": "resend",
    "invites.approve": "decide",
    "invites.reject": "decide",
    "approvals.decide_many": "decide",
    "portal.auth.sign_in": ("sign_in", "sign_in_per_address"),
    "portal.auth.start": "sign_in_redirects",
    "portal.auth.callback": "sign_in_redirects",
}
# the methods an action counts; POST when not named
METHODS = {"sign_in_redirects": ("GET",)}


class TooManyAttempts(TooManyRequests):
    """A request over one of its action's limits; `retry_after` is when the limit lets it through."""

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


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


def actions_of(endpoint: str) -> tuple[str, ...]:
    named = LIMITED_ROUTES.get(endpoint, ())
    return named if isinstance(named, tuple) else (named,)


class RateLimits:
    """The limits in force, counted in the storage every replica shares."""

    def __init__(self, storage_url: str, limits: dict[str, str]) -> None:
        self.storage = storage_from_string(storage_url or "memory://")
        self.window = MovingWindowRateLimiter(self.storage)
        self.limits: dict[str, list[RateLimitItem]] = {action: parse_many(value) for action, value in limits.items()}

    def count(self, action: str, who: str) -> None:
        """Count one `action` by `who`; raise TooManyAttempts when one of its limits is reached.

        A storage that cannot be reached lets the request through: an outage of the counts must
        not stop people from working, so the limits lapse until it is back.
        """
        for item in self.limits[action]:
            try:
                if self.window.hit(item, KEY_PREFIX, action, who):
                    continue
                reset_at = self.window.get_window_stats(item, KEY_PREFIX, action, who).reset_time
            except Exception as exc:  # noqa: BLE001 - whatever the storage's client raises
                log.warning("rate-limit storage unavailable; limits lapse", extra={"error": type(exc).__name__})
                return
            raise TooManyAttempts(retry_after=max(1, math.ceil(reset_at - time.time())))


def _limited(view, actions: tuple[str, ...], limits: RateLimits):
    @functools.wraps(view)
    def limited(*args, **kwargs):
        for action in actions:
            if request.method in METHODS.get(action, ("POST",)):
                limits.count(action, KEYS.get(action, _who)())
        return view(*args, **kwargs)

    return limited


def install(app: Flask, storage_url: str, overrides: tuple[tuple[str, str], ...] = ()) -> RateLimits:
    """Put the rate limits on the app's routes; call once every route is registered.

    A route's requests are counted after the blueprint has identified the caller (an unknown
    caller hears 401 first) and before its view reads anything."""
    limits = RateLimits(storage_url, limits_for(overrides))
    for endpoint in sorted(set(LIMITED_ROUTES) & set(app.view_functions)):
        app.view_functions[endpoint] = _limited(app.view_functions[endpoint], actions_of(endpoint), limits)
    return limits
