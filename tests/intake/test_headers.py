"""Headers: the API's answers are never cached nor sniffed, the docs page has the portal's policy,
HSTS over HTTPS in production, and a 405 says which methods are allowed."""
import pytest

from intake import settings as intake_settings
from intake.app import create_app
from tests.support.callers import as_user
from tests.intake.portal.test_sign_in import PRODUCTION

API_ANSWERS = [
    ("GET", "/api/v1/invites", {"X-Dev-User": "amy@tech.gov.sg"}, 200),
    ("GET", "/api/v1/invites", {}, 401),
    ("GET", "/api/v1/invites/nope", {"X-Dev-User": "amy@tech.gov.sg"}, 404),
    ("POST", "/api/v1/invites", {"X-Dev-User": "amy@tech.gov.sg"}, 422),
    ("GET", "/api/openapi.json", {}, 200),
    ("GET", "/api/v1/batches/template.csv", {"X-Dev-User": "amy@tech.gov.sg"}, 200),
]


@pytest.mark.parametrize("method,path,headers,status", API_ANSWERS)
def test_api_answers_are_not_cached_nor_sniffed(client, method, path, headers, status):
    response = client.open(path, method=method, headers=headers, json={} if method == "POST" else None)
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_api_docs_page_has_the_portals_content_policy_and_no_inline_script(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self'")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "/static/js/api-docs.js" in html


@pytest.mark.parametrize("env,base,expected", [
    ("production", "https://invites.example", True),
    ("production", "http://invites.example", False),
    ("development", "https://invites.example", False),
])
def test_hsts_is_sent_over_https_in_production_only(outbox, env, base, expected):
    app = create_app(intake_settings.load(PRODUCTION if env == "production" else {"ENV": env}), outbox)
    for path in ("/api/v1/invites", "/sign-in", "/healthz"):
        response = app.test_client().get(path, base_url=base, headers={"X-Dev-User": "amy@tech.gov.sg"})
        assert ("Strict-Transport-Security" in response.headers) is expected, path
        if expected:
            assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("method,path,allowed", [
    ("PUT", "/api/v1/invites", {"GET", "POST"}),
    ("GET", "/api/v1/invites/x/approve", {"POST"}),
    ("DELETE", "/sign-in", {"GET", "POST"}),
    ("GET", "/sign-out", {"POST"}),
])
def test_405_answers_carry_allow(client, method, path, allowed):
    response = as_user(client, "amy@tech.gov.sg")(method, path)
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
