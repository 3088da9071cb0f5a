"""Per-user rate limits on the actions that cost the most or invite abuse, kept where every replica sees them.

The table below is the whole policy: which routes count as which action. Each action has one
budget per person, shared by the API and the portal (submitting through either counts once).
Counts live in RATE_LIMIT_STORAGE_URL (Redis, shared by every intake replica), or in memory
when it is unset, which suits one local process. A request over the limit is answered 429 with
Retry-After: a JSON body on the API, a page on the portal.
"""
from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter

from intake.identity import Unauthenticated, current_caller

# action -> limits (flask-limiter's notation; RATE_LIMIT_<ACTION> overrides one, e.g. RATE_LIMIT_SUBMIT)
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
METHODS = {"sign_in_redirects": ["GET"]}


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


def install(app: Flask, storage_url: str, overrides: tuple[tuple[str, str], ...] = ()) -> Limiter:
    """Put the rate limits on the app's routes; call once every route is registered."""
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter = Limiter(
        key_func=_who,
        app=app,
        storage_uri=storage_url or "memory://",
        strategy="moving-window",
        key_prefix="invites",
        # a storage outage must not stop people from working: the limits lapse until it is back
        swallow_errors=True,
    )
    limits = limits_for(overrides)
    for action, value in limits.items():
        shared = limiter.shared_limit(
            value, scope=action, methods=METHODS.get(action, ["POST"]), key_func=KEYS.get(action, _who)
        )
        endpoints = {endpoint for endpoint in LIMITED_ROUTES if action in actions_of(endpoint)}
        for endpoint in sorted(endpoints & set(app.view_functions)):
            app.view_functions[endpoint] = shared(app.view_functions[endpoint])
    return limiter
