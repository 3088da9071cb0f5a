"""What every portal page shares: a title, one h1, the sidebar with the current page, error pages."""
import pytest

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
