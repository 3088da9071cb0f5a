"""Intake refuses to start with sign-in settings that would open it to anyone, and says which one."""
import subprocess
import sys
from pathlib import Path

import pytest

from intake import settings as intake_settings
from invite_common.config import ConfigError
from intake.auth import settings as auth_settings

ROOT = Path(__file__).resolve().parents[3]
GOOD_KEY = "q0Yc8-Lm3ZpR7tWv2XbN9sKd4HgJ6fAe1UiO5"
OIDC = {"AUTH_MODE": "oidc", "OIDC_ISSUER": "https://id.example.gov.sg", "OIDC_CLIENT_ID": "invite-users",
        "OIDC_CLIENT_SECRET": "from-the-provider", "OIDC_AUDIENCE": "https://invites.example.gov.sg/api"}
PRODUCTION = OIDC | {"ENV": "production", "SECRET_KEY": GOOD_KEY, "AMQP_URL": "amqps://invites:s3cret@mq.internal/invites",
                     "PORTAL_URL": "https://invites.example.gov.sg"}


def example_secret_key() -> str:
    """The SECRET_KEY line of the example env file operators copy."""
    lines = (ROOT / "deploy/systemd/intake.env.example").read_text().splitlines()
    return next(line.split("=", 1)[1] for line in lines if line.startswith("SECRET_KEY="))


def refusal(environ: dict) -> str:
    with pytest.raises(ConfigError) as refused:
        auth_settings.check(intake_settings.load(environ))
    return str(refused.value)


def test_a_complete_production_configuration_starts():
    auth_settings.check(intake_settings.load(PRODUCTION))


@pytest.mark.parametrize("key, problem", [
    (None, "SECRET_KEY is not set"),
    ("", "SECRET_KEY is not set"),
    ("too-short-for-a-key", "shorter than 32 bytes"),
    ("CHANGE-ME", "shorter than 32 bytes"),
    ("CHANGE-ME-to-a-long-random-value-please", "still a placeholder"),
    ("changeme" * 5, "still a placeholder"),
    ("a" * 40, "does not look random"),
    ("abababababababababababababababababab", "does not look random"),
])
def test_production_refuses_a_missing_short_or_placeholder_secret_key(key, problem):
    environ = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    if key is not None:
        environ["SECRET_KEY"] = key
    assert problem in refusal(environ)


def test_the_example_env_files_placeholders_are_refused():
    assert example_secret_key() == "CHANGE-ME"
    assert "SECRET_KEY" in refusal(PRODUCTION | {"SECRET_KEY": example_secret_key()})
    assert "OIDC_CLIENT_SECRET is still a placeholder" in refusal(PRODUCTION | {"OIDC_CLIENT_SECRET": "CHANGE-ME"})


@pytest.mark.parametrize("mode", ["dev", "DEV", " Dev "])
def test_production_refuses_the_development_sign_in(mode):
    assert "AUTH_MODE=dev (the development sign-in) is refused when ENV=production" in refusal(PRODUCTION | {"AUTH_MODE": mode})


@pytest.mark.parametrize("missing", ["OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_AUDIENCE"])
def test_oidc_mode_needs_each_provider_setting(missing):
    assert f"AUTH_MODE=oidc needs {missing}" in refusal({**OIDC, missing: ""})


@pytest.mark.parametrize("name, url", [("OIDC_ISSUER", "http://id.example.gov.sg"),
                                       ("OIDC_REDIRECT_URI", "http://invites.example.gov.sg/sign-in/callback")])
def test_production_sends_codes_and_tokens_only_over_https(name, url):
    assert f"{name} must be an https URL" in refusal(PRODUCTION | {name: url})


def test_the_api_audience_cannot_be_the_client_id():
    assert "OIDC_AUDIENCE must name the API" in refusal(OIDC | {"OIDC_AUDIENCE": "invite-users"})


def test_a_provider_url_must_be_a_url():
    assert "is not an http(s) URL" in refusal(OIDC | {"OIDC_ISSUER": "id.example.gov.sg"})


@pytest.mark.parametrize("grants", ["approver bob@tech.gov.sg", "owner:bob@tech.gov.sg", "auditor:not-an-email"])
def test_a_malformed_role_grants_refuses_to_start(grants):
    assert "ROLE_GRANTS entry" in refusal({"ROLE_GRANTS": grants})


@pytest.mark.parametrize("environ, allowed", [
    ({"ENV": "development"}, True), ({"ENV": "Test"}, True), ({}, True),
    ({"ENV": "test", **OIDC}, False), (PRODUCTION, False),
])
def test_the_development_identity_works_only_in_development_and_test(environ, allowed):
    assert auth_settings.dev_identity_allowed(intake_settings.load(environ)) is allowed


@pytest.mark.parametrize("environ, message", [
    (PRODUCTION | {"AUTH_MODE": "dev"}, "AUTH_MODE=dev (the development sign-in) is refused when ENV=production"),
    (PRODUCTION | {"SECRET_KEY": "CHANGE-ME"}, "SECRET_KEY is shorter than 32 bytes"),
])
def test_python_m_intake_stops_before_opening_anything(environ, message, tmp_path):
    done = subprocess.run([sys.executable, "-m", "intake"], env=environ | {"PATH": "/usr/bin:/bin", "INVITES_VAR_DIR": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "intake.db").exists()
