"""Portal sessions kept in intake's database, so they can be ended on the server.

The cookie carries only a random token; the row's id is the token's SHA-256, so reading the table
gives nobody a usable cookie. A session ends when its person signs out (the row is deleted, so the
old cookie is worth nothing from then on), after SESSION_IDLE_MINUTES unused, and in any case
SESSION_MAX_HOURS after it began. Signing in starts a new session under a new token, so a token
planted before sign-in never becomes a signed-in one. API routes get no session at all: a cookie
never authenticates the API.

Before sign-in nothing is stored on the server: what an anonymous visitor's session holds (the
form's CSRF token, the page to return to, the sign-in's state at the provider, a notice) travels
in the same cookie, signed with SECRET_KEY so it cannot be altered, and lasts SESSION_MAX_HOURS.
Otherwise every anonymous visit of the sign-in page would add a row, and anyone could fill the
table. It is readable by its own browser only (HttpOnly), which is all the sign-in's one-time
values need. A token and a signed value never look alike: the token has no dot.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
import time

import peewee
from flask import Flask, g
from itsdangerous import BadSignature, URLSafeTimedSerializer
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from invite_common.config import Settings
from invite_common.db import utcnow

from intake.models import PortalSession

# The key under which identity keeps the signed-in email; stored in its own column so one person's
# sessions can be found (and ended) without reading every session's data.
SESSION_USER = "user"

# Recording every page view would cost a write each; a minute is fine-grained enough for an idle limit.
TOUCH_EVERY = dt.timedelta(seconds=60)
PURGE_EVERY_SECONDS = 300.0


def token_id(token: str) -> str:
    """The row id of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


class ServerSession(CallbackDict, SessionMixin):
    """A session's data, with what the store needs to know: its row, and whether it changed."""

    def __init__(self, initial=None, *, sid: str | None = None, created_at: dt.datetime | None = None,
                 last_seen_at: dt.datetime | None = None):
        def changed(_):
            self.modified = True

        super().__init__(initial, changed)
        self.sid = sid
        self.created_at = created_at
        self.last_seen_at = last_seen_at
        self.modified = False
        self.renew = False
        # an anonymous session read from its signed cookie: written again only when it changes
        self.from_cookie = False

    def start_over(self) -> None:
        """Forget everything and continue under a new token (sign-in and sign-out)."""
        self.clear()
        self.renew = True


class ServerSessionInterface(SessionInterface):
    """Flask's session, stored in the portal_session table."""

    def __init__(self, idle: dt.timedelta, lifetime: dt.timedelta):
        self.idle = idle
        self.lifetime = lifetime
        self._purged_at = 0.0
        self._purge_lock = threading.Lock()

    def _signer(self, app) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(app.secret_key, salt="portal-session-before-sign-in")

    def _anonymous(self, app, value: str) -> ServerSession:
        """The session a signed value carries, or a new one when it was altered or is too old."""
        try:
            data = self._signer(app).loads(value, max_age=self.lifetime.total_seconds())
        except BadSignature:
            return ServerSession()
        if not isinstance(data, dict) or SESSION_USER in data:
            return ServerSession()  # a signed-in session is only ever a row
        session = ServerSession(data)
        session.from_cookie = True
        return session

    def is_expired(self, row: PortalSession, now: dt.datetime) -> bool:
        """Tell whether a stored session has been unused too long or has lived its whole lifetime."""
        return now - row.last_seen_at > self.idle or now - row.created_at > self.lifetime

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        token = request.cookies.get(self.get_cookie_name(app))
        if token and "." in token:
            return self._anonymous(app, token)
        if token:
            try:
                row = PortalSession.get_or_none(PortalSession.id == token_id(token))
            except (peewee.OperationalError, peewee.InterfaceError) as exc:
                # Flask opens the session before any error handler can answer; keep the error for
                # the request to raise, so a database outage is answered like any other
                g.session_error = exc
                return self.make_null_session(app)
            if row is not None:
                if not self.is_expired(row, utcnow()):
                    return ServerSession(json.loads(row.data), sid=row.id, created_at=row.created_at,
                                         last_seen_at=row.last_seen_at)
                row.delete_instance()
        return ServerSession()

    def save_session(self, app, session, response) -> None:
        if not isinstance(session, ServerSession):
            return
        name, domain, path = self.get_cookie_name(app), self.get_cookie_domain(app), self.get_cookie_path(app)
        if session.renew and session.sid:
            PortalSession.delete().where(PortalSession.id == session.sid).execute()
            session.sid = None
        now = utcnow()
        if not session:
            if session.sid and session.modified:
                PortalSession.delete().where(PortalSession.id == session.sid).execute()
            if session.renew or session.modified:
                response.delete_cookie(name, domain=domain, path=path)
            return
        if session.sid is None and SESSION_USER not in session:
            if session.modified or session.renew or not session.from_cookie:
                response.set_cookie(
                    name, self._signer(app).dumps(dict(session)), expires=now + self.lifetime,
                    httponly=self.get_cookie_httponly(app), secure=self.get_cookie_secure(app),
                    samesite=self.get_cookie_samesite(app), domain=domain, path=path,
                )
                response.vary.add("Cookie")
            return
        if session.sid is None:
            token = secrets.token_urlsafe(32)
            PortalSession.create(id=token_id(token), email=_email(session), data=json.dumps(dict(session)),
                                 created_at=now, last_seen_at=now)
            response.set_cookie(
                name, token, expires=now + self.lifetime, httponly=self.get_cookie_httponly(app),
                secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app), domain=domain, path=path,
            )
            response.vary.add("Cookie")
            self._purge_now_and_then()
        elif session.modified:
            PortalSession.update(email=_email(session), data=json.dumps(dict(session)), last_seen_at=now).where(
                PortalSession.id == session.sid).execute()
        elif session.last_seen_at is None or now - session.last_seen_at > TOUCH_EVERY:
            PortalSession.update(last_seen_at=now).where(PortalSession.id == session.sid).execute()

    def _purge_now_and_then(self) -> None:
        # Sessions nobody comes back to would pile up; clearing them on a new session's creation,
        # a few times an hour, keeps the table to the sessions still alive.
        if time.monotonic() - self._purged_at < PURGE_EVERY_SECONDS or not self._purge_lock.acquire(False):
            return
        try:
            self._purged_at = time.monotonic()
            now = utcnow()
            PortalSession.delete().where(
                (PortalSession.last_seen_at < now - self.idle) | (PortalSession.created_at < now - self.lifetime)
            ).execute()
        finally:
            self._purge_lock.release()


def _email(session: ServerSession) -> str | None:
    value = session.get(SESSION_USER)
    return value if isinstance(value, str) else None


def register_sessions(app: Flask, settings: Settings) -> None:
    """Keep the portal's sessions in the database, under a cookie made as the settings say."""
    production = settings.env == "production"
    app.config.update(
        # the portal's session cookie: out of scripts' reach, not sent on cross-site posts, HTTPS-only in
        # production, where the __Host- prefix also keeps it to this exact host. Lax, not Strict: the
        # provider's redirect back after sign-in is a cross-site navigation that must carry it.
        SESSION_COOKIE_NAME="__Host-session" if production else "session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
    )
    app.session_interface = ServerSessionInterface(
        idle=dt.timedelta(minutes=settings.session_idle_minutes), lifetime=dt.timedelta(hours=settings.session_max_hours)
    )
