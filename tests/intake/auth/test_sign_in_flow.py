"""Portal sign-in through the provider, driven without a browser: the code flow, the state that binds
it to the browser that started it, who is let in, and what happens when the provider is away."""
from urllib.parse import parse_qs, urlsplit

import pytest

from intake import settings as intake_settings
from intake.app import create_app
from tests.support.oidc import REDIRECT_URI
from tests.support.ports import free_port


@pytest.fixture
def portal(oidc_app):
    oidc_app.config["WTF_CSRF_ENABLED"] = False
    return oidc_app


def start(client, next_url="/status") -> str:
    """Ask the portal to sign in; return the provider address it sends the browser to."""
    response = client.get(f"/sign-in/start?next={next_url}")
    assert response.status_code == 302
    return response.headers["Location"]


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI
    return f"{parts.path}?{parts.query}"


def test_signing_in_at_the_provider_lands_on_the_page_asked_for_with_the_claims_roles(portal, provider):
    client = portal.test_client()
    authorize = start(client)
    asked = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{provider.issuer}/auth?")
    assert asked["code_challenge_method"] == ["S256"] and asked["state"][0] and asked["nonce"][0]
    assert asked["redirect_uri"] == [REDIRECT_URI] and "openid" in asked["scope"][0].split()

    landed = client.get(callback_path(provider.log_in(authorize, "ada@tech.gov.sg")))
    assert landed.status_code == 302 and landed.headers["Location"] == "/status"
    assert "Signed in as <strong>ada@tech.gov.sg</strong>" in client.get("/status").text
    assert client.get("/admin/roles").status_code == 200  # admin only by the provider's roles claim


def test_a_callback_is_accepted_once_and_only_by_the_browser_that_started_it(portal, provider):
    starter, other = portal.test_client(), portal.test_client()
    other.get("/sign-in")
    back = callback_path(provider.log_in(start(starter), "bob@tech.gov.sg"))
    refused = other.get(back)
    assert refused.status_code == 400 and "Signing in did not finish" in refused.text
    assert other.get("/status").status_code == 302
    assert starter.get(back).status_code == 302
    assert starter.get(back).status_code == 400  # the same code and state a second time


def test_someone_outside_the_organisation_is_not_let_in(portal, provider):
    client = portal.test_client()
    refused = client.get(callback_path(provider.log_in(start(client), "vic@vendor.example.com")))
    assert refused.status_code == 403 and "for public officers with an email address ending in gov.sg" in refused.text
    assert client.get("/").status_code == 302


def test_a_refusal_from_the_provider_is_shown_on_the_sign_in_page(portal):
    page = portal.test_client().get("/sign-in/callback?error=access_denied&state=whatever")
    assert page.status_code == 400 and "Signing in did not finish. Try again." in page.text


def test_signing_out_ends_the_session_here_and_sends_the_person_to_the_provider_to_end_theirs(portal, provider):
    client = portal.test_client()
    client.get(callback_path(provider.log_in(start(client), "amy@tech.gov.sg")))
    old = client.get_cookie("session").value
    out = client.post("/sign-out")
    assert out.status_code == 302
    end = urlsplit(out.headers["Location"])
    assert f"{end.scheme}://{end.netloc}{end.path}" == f"{provider.issuer}/session/end"
    params = parse_qs(end.query)
    assert params["post_logout_redirect_uri"] == ["http://127.0.0.1:5999/sign-in"] and params["id_token_hint"][0]
    replay = portal.test_client()
    replay.set_cookie("session", old)
    assert replay.get("/status").status_code == 302


def test_while_the_provider_is_away_sign_in_and_the_api_answer_503(intake_db, outbox, provider):
    away = provider.settings() | {"OIDC_ISSUER": f"http://127.0.0.1:{free_port()}"}
    client = create_app(intake_settings.load({"ENV": "test", **away}), outbox).test_client()
    page = client.get("/sign-in/start")
    assert page.status_code == 503 and "cannot be reached" in page.text
    api = client.get("/api/v1/invites", headers={"Authorization": f"Bearer {provider.sign(provider.claims('amy@tech.gov.sg'))}"})
    assert api.status_code == 503 and "identity provider cannot be reached" in api.json["message"]


def test_signing_in_with_an_email_the_provider_has_not_verified_is_refused(portal, provider):
    client = portal.test_client()
    refused = client.get(callback_path(provider.log_in(start(client), "bob.unverified")))
    assert refused.status_code == 403 and "email address is not verified" in refused.text
    assert client.get("/status").status_code == 302


def test_signing_in_without_email_verified_is_refused_unless_the_provider_verifies_every_address(
        portal, provider, intake_db, outbox):
    client = portal.test_client()
    refused = client.get(callback_path(provider.log_in(start(client), "bob.unchecked")))
    assert refused.status_code == 403 and "does not say that your email address is verified" in refused.text
    assert client.get("/status").status_code == 302

    trusting = create_app(intake_settings.load({"ENV": "test", **provider.settings(), "OIDC_EMAIL_ALWAYS_VERIFIED": "true"}),
                          outbox)
    trusting.config["WTF_CSRF_ENABLED"] = False
    client = trusting.test_client()
    landed = client.get(callback_path(provider.log_in(start(client), "bob.unchecked")))
    assert landed.status_code == 302 and landed.headers["Location"] == "/status"
    assert "Signed in as <strong>bob@tech.gov.sg</strong>" in client.get("/status").text
