"""Portal sessions live on the server: the cookie is an opaque token, and sign-out, idle time and the
absolute lifetime end a session wherever its cookie is."""
import datetime as dt
import re


from intake import settings as intake_settings
from invite_common.db import utcnow
from intake.app import create_app
from intake.auth.sessions import token_id
from intake.models import PortalSession
from tests.support.callers import signed_in


def cookie(client) -> str:
    return client.get_cookie("session").value


def row_of(client) -> PortalSession | None:
    return PortalSession.get_or_none(PortalSession.id == token_id(cookie(client)))


def test_the_cookie_is_an_opaque_token_and_the_session_is_kept_on_the_server(amy_session):
    token = cookie(amy_session)
    assert "amy" not in token and len(token) >= 40
    row = row_of(amy_session)
    assert row.email == "amy@tech.gov.sg" and row.id != token
    assert amy_session.get("/").status_code == 200


def test_signing_in_starts_a_new_session_under_a_new_token(portal_app):
    client = portal_app.test_client()
    client.get("/sign-in")  # the page's form token starts an anonymous session
    before = cookie(client)
    signed_in(client, "amy@tech.gov.sg")
    assert cookie(client) != before and "." not in cookie(client)
    assert row_of(client).email == "amy@tech.gov.sg"


def test_an_anonymous_visit_stores_no_session_on_the_server(portal_app):
    for _ in range(5):
        visitor = portal_app.test_client()
        page = visitor.get("/sign-in")
        assert page.status_code == 200 and 'name="csrf_token"' in page.text
        assert cookie(visitor)  # the form's token travels in the signed cookie
    assert PortalSession.select().count() == 0


def test_the_sign_in_form_still_needs_the_token_its_cookie_holds(portal_app):
    portal_app.config["WTF_CSRF_ENABLED"] = True
    visitor = portal_app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', visitor.get("/sign-in").text).group(1)
    stranger = portal_app.test_client()  # the token without the cookie it belongs to
    assert stranger.post("/sign-in", data={"email": "amy@tech.gov.sg", "csrf_token": token}).status_code == 400
    signed = visitor.post("/sign-in", data={"email": "amy@tech.gov.sg", "csrf_token": token})
    assert signed.status_code == 302
    assert row_of(visitor).email == "amy@tech.gov.sg"


def test_an_altered_anonymous_cookie_is_not_believed(portal_app):
    visitor = portal_app.test_client()
    visitor.get("/sign-in")
    value = cookie(visitor)
    payload, _, signature = value.partition(".")
    forged = portal_app.test_client()
    # a value claiming to be signed in, under the old signature
    forged.set_cookie("session", f'{payload[:-2]}AA.{signature}')
    assert forged.get("/status").status_code == 302
    forged.set_cookie("session", portal_app.session_interface._signer(portal_app).dumps(
        {"user": "amy@tech.gov.sg", "auth_mode": "dev"}))
    assert forged.get("/status").status_code == 302  # signed in is only ever a row on the server


def test_after_sign_out_the_old_cookie_is_worth_nothing(amy_session, portal_app):
    old = cookie(amy_session)
    amy_session.post("/sign-out")
    assert PortalSession.get_or_none(PortalSession.id == token_id(old)) is None
    replay = portal_app.test_client()
    replay.set_cookie("session", old)
    assert replay.get("/status").status_code == 302


def test_a_session_unused_for_longer_than_the_idle_limit_ends(amy_session):
    PortalSession.update(last_seen_at=utcnow() - dt.timedelta(minutes=31)).execute()
    assert amy_session.get("/status").status_code == 302
    assert PortalSession.select().where(PortalSession.email == "amy@tech.gov.sg").count() == 0


def test_a_session_in_use_is_kept_alive_until_its_absolute_lifetime(amy_session):
    PortalSession.update(last_seen_at=utcnow() - dt.timedelta(minutes=20)).execute()
    assert amy_session.get("/status").status_code == 200
    assert utcnow() - row_of(amy_session).last_seen_at < dt.timedelta(seconds=30)
    PortalSession.update(created_at=utcnow() - dt.timedelta(hours=12, minutes=1)).execute()
    assert amy_session.get("/status").status_code == 302


def test_the_limits_come_from_the_environment(intake_db, outbox):
    app = create_app(intake_settings.load({"SESSION_IDLE_MINUTES": "5", "SESSION_MAX_HOURS": "1"}), outbox)
    assert app.session_interface.idle == dt.timedelta(minutes=5)
    assert app.session_interface.lifetime == dt.timedelta(hours=1)


def test_api_calls_neither_read_nor_write_sessions(amy_session):
    sessions = PortalSession.select().count()
    response = amy_session.get("/api/v1/invites")
    assert response.status_code == 401 and "Set-Cookie" not in response.headers
    assert PortalSession.select().count() == sessions


def test_a_session_store_that_cannot_be_read_is_answered_with_the_error_page(amy_session, intake_db):
    intake_db.execute_sql("ALTER TABLE portal_session RENAME TO portal_session_away")
    page = amy_session.get("/status")
    assert page.status_code == 500 and "Nothing you sent was lost" in page.text
