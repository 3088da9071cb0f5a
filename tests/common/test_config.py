"""ENV and AUTH_MODE are read strictly: trimmed, any case, and anything unknown stops every service at start."""
import subprocess
import sys

import pytest

from invite_common import config
from invite_common.config import ConfigError

BROKER = {"AMQP_URL": "amqps://invites:s3cret@mq.internal:5671/invites"}


@pytest.mark.parametrize("raw, read", [
    ("production", "production"), ("Production", "production"), (" PRODUCTION\n", "production"),
    ("Development", "development"), ("test ", "test"), ("", "development"),
])
def test_env_is_read_case_insensitively_and_trimmed(raw, read):
    assert config.load({"ENV": raw} | BROKER).env == read


@pytest.mark.parametrize("raw", ["prod", "Prod", "staging", "dev", "develop", "testing", "live", "production1", "pro duction"])
def test_an_unknown_env_refuses_to_start_naming_the_value(raw):
    with pytest.raises(ConfigError) as refused:
        config.load({"ENV": raw})
    assert f"ENV={raw!r}" in str(refused.value) and "development, test, production" in str(refused.value)


@pytest.mark.parametrize("raw, read", [("OIDC", "oidc"), (" oidc ", "oidc"), ("Dev", "dev"), ("", "dev")])
def test_auth_mode_is_read_case_insensitively_and_trimmed(raw, read):
    assert config.load({"AUTH_MODE": raw}).auth_mode == read


@pytest.mark.parametrize("raw", ["sso", "oauth", "openid", "development", "none", "o1dc"])
def test_an_unknown_auth_mode_refuses_to_start(raw):
    with pytest.raises(ConfigError, match="AUTH_MODE"):
        config.load({"AUTH_MODE": raw})


@pytest.mark.parametrize("environ", [
    {},
    {"AMQP_URL": "amqp://guest:guest@rabbitmq.internal:5672//"},
    {"AMQP_URL": "amqp://GUEST:secret@rabbitmq.internal:5672//"},
    {"AMQP_URL": "amqp://rabbitmq.internal:5672//"},
    BROKER | {"APPROVAL_AMQP_URL": "amqp://guest:guest@rabbitmq.internal//"},
], ids=["default", "guest", "GUEST", "no user", "a service's own URL"])
def test_production_refuses_the_brokers_guest_login(environ):
    with pytest.raises(ConfigError, match="guest"):
        config.load({"ENV": "production"} | environ)


@pytest.mark.parametrize("service", ["intake", "approval", "notifier"])
def test_production_judges_each_service_by_the_broker_url_it_connects_with(service):
    own = f"{service.upper()}_AMQP_URL"
    settings = config.load({"ENV": "production", own: f"amqps://{service}:s3cret@mq.internal:5671/"}, service=service)
    assert settings.amqp_url == f"amqps://{service}:s3cret@mq.internal:5671/"
    # another service's guest URL is not this one's business; its own guest URL is
    others = {f"{o.upper()}_AMQP_URL": "amqp://guest:guest@mq.internal//" for o in ("intake", "approval", "notifier") if o != service}
    config.load({"ENV": "production", own: f"amqps://{service}:s3cret@mq.internal:5671/"} | others, service=service)
    with pytest.raises(ConfigError, match=own):
        config.load({"ENV": "production", own: "amqp://guest:guest@mq.internal//", "AMQP_URL": BROKER["AMQP_URL"]}, service=service)
    with pytest.raises(ConfigError, match="AMQP_URL"):
        config.load({"ENV": "production"}, service=service)


def test_development_keeps_the_local_guest_broker():
    assert config.load({}).amqp_url == "amqp://guest:guest@127.0.0.1:5672//"


@pytest.mark.parametrize("service", ["approval", "notifier", "intake"])
def test_every_service_stops_at_start_with_a_clear_message(service, tmp_path):
    done = subprocess.run([sys.executable, "-m", service], env={"ENV": "prod", "PATH": "/usr/bin:/bin",
                          "INVITES_VAR_DIR": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == "configuration error: ENV='prod' is not one of development, test, production"


@pytest.mark.parametrize("name, meant", [
    ("OIDC_ISUER", "OIDC_ISSUER"), ("OIDC_CLIENTID", "OIDC_CLIENT_ID"), ("OIDC_AUDIANCE", "OIDC_AUDIENCE"),
    ("AUTH_MODES", "AUTH_MODE"), ("AUTHMODE", "AUTH_MODE"), ("SECRET_KY", "SECRET_KEY"),
    ("SESSION_IDLE_MINUTE", "SESSION_IDLE_MINUTES"),
])
def test_a_misspelt_sign_in_variable_refuses_to_start_naming_the_right_one(name, meant):
    with pytest.raises(ConfigError) as refused:
        config.load({name: "x"})
    assert str(refused.value) == f"configuration error: {name} is not a setting; did you mean {meant}?"


def test_an_unknown_oidc_variable_refuses_to_start_and_unrelated_names_pass():
    with pytest.raises(ConfigError, match="OIDC_TENANT is not a setting; the OIDC_ settings are OIDC_ISSUER"):
        config.load({"OIDC_TENANT": "x"})
    # names merely near other products' settings are left alone (desktop sessions set SESSION_MANAGER)
    config.load({"SESSION_MANAGER": "local/host", "SECRET_KEY_FILE": "/run/secrets/key", "ENVIRONMENT": "x"})
