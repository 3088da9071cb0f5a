"""Audit tests: intake's real database (SQLite and PostgreSQL) and a signing key made for the test."""
import pytest

from intake import settings as intake_settings
from intake.audit import keys


@pytest.fixture
def settings(tmp_path):
    # the same folder as the app fixture's settings, so both use one development key
    return intake_settings.load({"INVITES_VAR_DIR": str(tmp_path / "var"), "ENV": "test"})


@pytest.fixture
def signer(settings):
    return keys.load_signer(settings)


@pytest.fixture
def public_keys(settings, signer):
    return keys.verify_keys(settings)


@pytest.fixture
def carol(app):
    """The auditor, signed in to the portal (forms posted without their CSRF token)."""
    from tests.support.callers import signed_in

    app.config["WTF_CSRF_ENABLED"] = False
    return signed_in(app.test_client(), "carol@tech.gov.sg")


@pytest.fixture
def people(client):
    """amy, bob, carol and zed of tech.gov.sg, each calling the API as themselves."""
    from tests.support.callers import as_user

    return {name: as_user(client, f"{name}@tech.gov.sg") for name in ("amy", "bob", "carol", "zed")}
