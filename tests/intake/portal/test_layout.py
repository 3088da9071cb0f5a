"""What every portal page shares: a title, one h1, the sidebar with the current page, error pages."""
import pytest

from tests.support.callers import signed_in
from tests.support.portal_html import headings, title


def test_every_page_has_a_title_one_h1_and_a_skip_link(amy_session):
    for path in ("/", "/invite", "/invite/email", "/invite/account", "/invite/batch", "/status", "/sign-in"):
        page = amy_session.get(path).text
        assert title(page).endswith("– Invite Users") and len(headings(page)) == 1, path
        assert '<a class="skip-link" href="#main-content">' in page and '<main class="main" id="main-content"' in page


def test_the_sidebar_marks_the_current_page(amy_session):
    page = amy_session.get("/invite/email").text
    assert '<a class="sidebar__link" href="/invite" aria-current="true">Invite users</a>' in page
    assert '<a class="sidebar__link" href="/status" aria-current="page">' in amy_session.get("/status").text


@pytest.mark.parametrize("path", ["/no-such-page", "/status/no-such-request"])
def test_unknown_portal_addresses_get_a_404_page_in_the_layout(amy_session, path):
    response = amy_session.get(path)
    assert response.status_code == 404 and title(response.text).startswith("Page not found")
    assert "Signed in as" in response.text


def test_api_errors_stay_json(amy_session):
    response = amy_session.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.is_json


def test_pages_forbid_framing_and_caching(amy_session):
    response = amy_session.get("/status")
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def _links(page: str) -> list[str]:
    """The links the error page's own content offers (inside its narrow column)."""
    import re

    body = page[page.index('<div class="narrow">'):]
    return re.findall(r'<a href="([^"]+)">', body)


def test_an_auditors_not_found_page_offers_the_audit_pages_not_a_requesters(portal_app):
    carol = signed_in(portal_app.test_client(), "carol@tech.gov.sg")
    page = carol.get("/no-such-page")
    assert page.status_code == 404
    assert _links(page.text) == ["/audit", "/audit/roles", "/audit/stand-ins", "/audit/integrity"]


def test_a_requesters_not_found_page_offers_their_own_pages(amy_session):
    assert _links(amy_session.get("/no-such-page").text) == ["/", "/invite", "/status"]


def test_a_forbidden_page_offers_the_pages_the_person_may_open(amy_session):
    page = amy_session.get("/admin/roles")
    assert page.status_code == 403 and "/admin/roles" not in _links(page.text)
    assert _links(page.text) == ["/", "/invite", "/status"]


def test_a_signed_out_visitors_not_found_page_offers_sign_in(portal_app):
    page = portal_app.test_client().get("/no-such-page")
    assert page.status_code == 404 and _links(page.text) == ["/sign-in"]
