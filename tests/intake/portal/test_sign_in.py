"""Signing in and out of the portal, and what a session may and may not authenticate."""
from intake import settings as intake_settings
from intake.app import create_app
from intake.auth.sessions import ServerSession
from tests.support.portal_html import field_error, title
from tests.support.callers import signed_in


def test_signed_out_visitor_is_sent_to_sign_in_and_back_after(portal_app):
    client = portal_app.test_client()
    response = client.get("/status?state=submitted")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=/status?state%3Dsubmitted"
    page = client.get(response.headers["Location"]).text
    assert "Sign in as amy@tech.gov.sg" in page and "Sign in as bob@tech.gov.sg" in page
    back = client.post("/sign-in", data={"email": "Amy@Tech.gov.sg", "next": "/status?state=submitted"})
    assert back.headers["Location"] == "/status?state=submitted"
    assert "Signed in as <strong>amy@tech.gov.sg</strong>" in client.get("/").text


def test_sign_in_never_redirects_off_the_site(portal_app):
    client = portal_app.test_client()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post("/sign-in", data={"email": "amy@tech.gov.sg", "next": target})
        assert response.headers["Location"] == "/"


def test_sign_in_refuses_a_bad_address_and_someone_outside_the_organisation(portal_app):
    client = portal_app.test_client()
    bad = client.post("/sign-in", data={"email": "amy@"})
    assert bad.status_code == 422 and "after the @" in field_error(bad.text, "email")
    outsider = client.post("/sign-in", data={"email": "eve@example.com"})
    assert outsider.status_code == 422 and "ending in gov.sg" in field_error(outsider.text, "email")
    assert client.get("/").status_code == 302


def test_sign_out_ends_the_session(amy_session):
    response = amy_session.post("/sign-out")
    assert response.headers["Location"] == "/sign-in"
    assert "You have signed out." in amy_session.get("/sign-in").text
    assert amy_session.get("/status").status_code == 302


def test_the_session_cookie_is_httponly_and_samesite_lax(portal_app):
    response = portal_app.test_client().post("/sign-in", data={"email": "amy@tech.gov.sg"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_a_portal_session_does_not_authenticate_api_calls(amy_session):
    assert amy_session.get("/api/v1/invites").status_code == 401


OIDC = {"AUTH_MODE": "oidc", "OIDC_ISSUER": "https://id.example.gov.sg", "OIDC_CLIENT_ID": "invite-users",
        "OIDC_CLIENT_SECRET": "not-used-here", "OIDC_AUDIENCE": "invite-users-api"}
PRODUCTION = OIDC | {"ENV": "production", "SECRET_KEY": "k3Yp9-Qm2vXz7Lw4Rt8Nb6Hc1Jd5Fg0Ps-Ue", "AMQP_URL": "amqps://invites:s3cret@mq.internal:5671/invites",
                     "PORTAL_URL": "https://invites.example.gov.sg"}


def test_oidc_mode_offers_single_sign_on_and_no_email_box(intake_db, outbox):
    app = create_app(intake_settings.load(PRODUCTION), outbox)
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    client = app.test_client()
    page = client.get("/sign-in?next=/status")
    assert page.status_code == 200 and title(page.text) == "Sign in – Invite Users"
    with app.test_request_context("/"):
        stored = ServerSession({"next_after_sign_in": "/status"})
        response = app.response_class()
        app.session_interface.save_session(app, stored, response)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=") and "; Secure" in cookie and "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie and "; Path=/" in cookie and "Domain=" not in cookie
    assert "Sign in with your organisation account" in page.text and 'value="/status"' in page.text
    assert 'name="email"' not in page.text
    assert client.post("/sign-in", data={"email": "amy@tech.gov.sg"}).status_code != 302
    assert client.get("/").headers["Location"] == "/sign-in"


def test_a_dev_session_stops_working_when_the_service_runs_in_oidc_mode(portal_app, intake_db, outbox):
    client = signed_in(portal_app.test_client(), "amy@tech.gov.sg")
    oidc_app = create_app(intake_settings.load(OIDC), outbox)
    other = oidc_app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    assert other.get("/status").status_code == 302
