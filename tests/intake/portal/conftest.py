"""The portal driven through Flask's test client on the real database (SQLite and PostgreSQL).

CSRF checks are off in these fixtures so each test reads as the user's steps; test_csrf turns them on.
"""
import pytest

from tests.support.callers import signed_in


@pytest.fixture
def portal_app(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def amy_session(portal_app):
    """A client signed in as the requester amy@tech.gov.sg."""
    return signed_in(portal_app.test_client(), "amy@tech.gov.sg")


@pytest.fixture
def zed_session(portal_app):
    """Another requester, who must never see amy's requests."""
    return signed_in(portal_app.test_client(), "zed@tech.gov.sg")
