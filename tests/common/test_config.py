"""Settings are read from one table per service: ENV and every choice read strictly (trimmed, any
case), every bad value a ConfigError naming its variable, production's broker rules judged on the URL
each service connects with, production's portal address and mail relay set explicitly and over TLS,
and the tables writing the documentation's settings tables."""
import importlib
import subprocess
import sys

import pytest

from invite_common import config
from invite_common.config import ConfigError

SERVICES = ("intake", "approval", "notifier")
BROKER = {"AMQP_URL": "amqps://invites:s3cret@mq.internal:5671/invites"}
# what production asks of each service besides the broker: intake's public address, the notifier's relay over TLS
RUNNING = {"PORTAL_URL": "https://invites.example.gov.sg", "SMTP_URL": "smtps://invites:pa55word@smtp.internal:465"}


def load(service: str, environ: dict, **kwargs):
    return importlib.import_module(f"{service}.settings").load(environ, **kwargs)


def rows_of(service: str) -> list[config.Setting]:
    return [*config.common_rows(service), *importlib.import_module(f"{service}.settings").ROWS]


@pytest.mark.parametrize("raw, read", [
    ("production", "production"), ("Production", "production"), (" PRODUCTION\n", "production"),
    ("Development", "development"), ("test ", "test"), ("", "development"),
])
def test_env_is_read_case_insensitively_and_trimmed(raw, read):
    assert load("notifier", {"ENV": raw} | BROKER | RUNNING).env == read


@pytest.mark.parametrize("raw", ["prod", "Prod", "staging", "dev", "develop", "testing", "live", "production1", "pro duction"])
def test_an_unknown_env_refuses_to_start_naming_the_value(raw):
    with pytest.raises(ConfigError) as refused:
        load("approval", {"ENV": raw})
    assert f"ENV={raw!r}" in str(refused.value) and "development, test, production" in str(refused.value)


@pytest.mark.parametrize("raw, read", [("OIDC", "oidc"), (" oidc ", "oidc"), ("Dev", "dev"), ("", "dev")])
def test_auth_mode_is_read_case_insensitively_and_trimmed(raw, read):
    assert load("intake", {"AUTH_MODE": raw}).auth_mode == read


@pytest.mark.parametrize("raw", ["sso", "oauth", "openid", "development", "none", "o1dc"])
def test_an_unknown_auth_mode_refuses_to_start(raw):
    with pytest.raises(ConfigError, match="AUTH_MODE"):
        load("intake", {"AUTH_MODE": raw})


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("environ", [
    {},
    {"AMQP_URL": "amqp://guest:guest@rabbitmq.internal:5672//"},
    {"AMQP_URL": "amqp://GUEST:secret@rabbitmq.internal:5672//"},
    {"AMQP_URL": "amqp://rabbitmq.internal:5672//"},
], ids=["default", "guest", "GUEST", "no user"])
def test_production_refuses_the_brokers_guest_login(service, environ):
    with pytest.raises(ConfigError, match="guest"):
        load(service, {"ENV": "production"} | environ)


@pytest.mark.parametrize("service", SERVICES)
def test_production_judges_each_service_by_the_broker_url_it_connects_with(service):
    own = f"{service.upper()}_AMQP_URL"
    settings = load(service, {"ENV": "production", own: f"amqps://{service}:s3cret@mq.internal:5671/"} | RUNNING)
    assert settings.amqp_url == f"amqps://{service}:s3cret@mq.internal:5671/" and settings.own_broker_user
    # another service's guest URL is not this one's business; its own guest URL is
    others = {f"{o.upper()}_AMQP_URL": "amqp://guest:guest@mq.internal//" for o in SERVICES if o != service}
    load(service, {"ENV": "production", own: f"amqps://{service}:s3cret@mq.internal:5671/"} | others | RUNNING)
    with pytest.raises(ConfigError, match=own):
        load(service, {"ENV": "production", own: "amqp://guest:guest@mq.internal//"} | BROKER)
    with pytest.raises(ConfigError, match="AMQP_URL"):
        load(service, {"ENV": "production"})


@pytest.mark.parametrize("service", SERVICES)
def test_a_command_that_never_connects_to_the_broker_needs_no_broker_login(service):
    assert load(service, {"ENV": "production"}, connects=False).env == "production"


@pytest.mark.parametrize("environ, refusal", [
    ({}, "PORTAL_URL is not set; ENV=production needs the portal's public https address"),
    ({"PORTAL_URL": " "}, "PORTAL_URL is not set"),
    ({"PORTAL_URL": "http://invites.example.gov.sg"}, "PORTAL_URL must be an https:// address when ENV=production"),
    ({"PORTAL_URL": "http://127.0.0.1:8080"}, "PORTAL_URL must be an https:// address"),
], ids=["unset", "blank", "plain-http", "the-development-default-written-out"])
def test_production_refuses_a_portal_address_the_emails_links_cannot_use(environ, refusal):
    with pytest.raises(ConfigError) as refused:
        load("intake", {"ENV": "production"} | BROKER | environ)
    assert str(refused.value).startswith(f"configuration error: {refusal}")


SMTP_PASSWORD = "pa55-do-not-print"


@pytest.mark.parametrize("environ, refusal", [
    ({}, "SMTP_URL is not set; ENV=production needs the mail relay over TLS: smtps://"),
    ({"SMTP_URL": f"smtp://invites:{SMTP_PASSWORD}@smtp.internal:587"}, "SMTP_URL does not use TLS"),
    ({"SMTP_URL": f"smtp://invites:{SMTP_PASSWORD}@smtp.internal:587?starttls=false"}, "SMTP_URL does not use TLS"),
    ({"SMTP_URL": "smtp://127.0.0.1:1025"}, "SMTP_URL does not use TLS"),
], ids=["unset", "plain", "starttls-false", "the-mail-catcher-written-out"])
def test_production_refuses_a_mail_relay_without_tls_and_never_prints_its_password(environ, refusal):
    with pytest.raises(ConfigError) as refused:
        load("notifier", {"ENV": "production"} | BROKER | environ)
    assert str(refused.value).startswith(f"configuration error: {refusal}")
    assert SMTP_PASSWORD not in str(refused.value)


@pytest.mark.parametrize("smtp_url", ["smtps://invites:s3cret@smtp.internal:465", "smtps://smtp.internal",
                                      "smtp://invites:s3cret@smtp.internal:587?starttls=true",
                                      "smtp://smtp.internal:587?starttls=TRUE"])
def test_production_takes_a_relay_over_implicit_tls_or_starttls(smtp_url):
    assert load("notifier", {"ENV": "production", "SMTP_URL": smtp_url} | BROKER).smtp_url == smtp_url


@pytest.mark.parametrize("service", ["intake", "notifier"])
def test_outside_production_the_portal_and_relay_keep_their_local_defaults(service):
    settings = load(service, {"ENV": "test"})
    if service == "intake":
        assert settings.portal_url == "http://127.0.0.1:8080"
    else:
        assert settings.smtp_url == "smtp://127.0.0.1:1025"


def test_development_keeps_the_local_guest_broker():
    settings = load("approval", {})
    assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672//" and not settings.own_broker_user


# a value each parser refuses, per variable: every one is named in the refusal
BAD_VALUES = {
    "AMQP_PREFETCH": "lots", "RETRY_DELAYS": "1,soon", "SHUTDOWN_SECONDS": "0", "MESSAGE_LOG_DAYS": "-1",
    "AMQP_QUORUM_QUEUES": "maybe", "LOG_LEVEL": "loud", "APPROVAL_BIND": "approval.internal", "REQUEST_EXPIRY_DAYS": "two weeks",
    "SEED_ENROLMENT_DAYS": "0", "DIRECTORY_TIMEOUT": "ten", "NOTIFY_REQUESTER_WHEN_SENT": "sometimes",
    "DIRECTORY_URL": "ldap://directory",
}


@pytest.mark.parametrize("variable, raw", sorted(BAD_VALUES.items()))
def test_every_bad_value_is_a_config_error_naming_its_variable(variable, raw):
    with pytest.raises(ConfigError) as refused:
        load("approval", {variable: raw})
    assert str(refused.value).startswith(f"configuration error: {variable}")


@pytest.mark.parametrize("variable, raw", [
    ("SMTP_URL", "mail.internal:25"), ("SMTP_TIMEOUT", "-1"), ("NOTIFIER_BIND", "localhost:99999"),
])
def test_the_notifiers_bad_values_are_named_too(variable, raw):
    with pytest.raises(ConfigError, match=variable):
        load("notifier", {variable: raw})


@pytest.mark.parametrize("variable, raw", [
    ("SESSION_IDLE_MINUTES", "0"), ("HTTP_CONNECTION_LIMIT", "many"), ("API_DOCS", "perhaps"),
    ("RATE_LIMIT_SUBMIT", "thirty a minute"), ("RATE_LIMIT_LUNCH", "1/minute"), ("PORTAL_URL", "invites.gov.sg"),
    ("INTAKE_METRICS_BIND", "metrics"), ("RETENTION_DAYS", "-3"),
])
def test_intakes_bad_values_are_named_too(variable, raw):
    with pytest.raises(ConfigError, match=variable):
        load("intake", {variable: raw})


@pytest.mark.parametrize("service", SERVICES)
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
        load("intake", {name: "x"})
    assert str(refused.value) == f"configuration error: {name} is not a setting; did you mean {meant}?"


def test_an_unknown_oidc_variable_refuses_to_start_and_unrelated_names_pass():
    with pytest.raises(ConfigError, match="OIDC_TENANT is not a setting; the OIDC_ settings are OIDC_ISSUER"):
        load("intake", {"OIDC_TENANT": "x"})
    # names merely near other products' settings are left alone (desktop sessions set SESSION_MANAGER)
    load("intake", {"SESSION_MANAGER": "local/host", "SECRET_KEY_FILE": "/run/secrets/key", "ENVIRONMENT": "x"})


@pytest.mark.parametrize("service", SERVICES)
def test_every_default_is_written_once_and_read_by_its_own_parser(service):
    settings = load(service, {})
    for row in rows_of(service):
        if row.attribute in ("shared_amqp_url",) or row.variable.endswith(config.FAMILY):
            continue
        assert hasattr(settings, row.attribute), row.variable
    assert {row.name(service) for row in rows_of(service)}.isdisjoint({""})


@pytest.mark.parametrize("service", SERVICES)
def test_each_variable_is_one_row_of_its_services_table(service):
    names = [row.name(service) for row in rows_of(service)]
    assert len(names) == len(set(names))


CLUSTER = "amqps://intake:s3cret@mq-0.internal:5671/;amqps://intake:s3cret@mq-1.internal:5671/;amqps://intake:s3cret@mq-2.internal:5671/"


@pytest.mark.parametrize("service", SERVICES)
def test_a_broker_url_may_list_a_clusters_nodes_separated_by_semicolons(service):
    spaced = CLUSTER.replace(";", " ; ") + ";"
    assert load(service, {"AMQP_URL": spaced}).amqp_url == CLUSTER


@pytest.mark.parametrize("raw, said", [
    ("amqps://intake:s3cret@mq-0.internal:5671/;amqp://intake:s3cret@mq-1.internal:5672/", "mixes amqp:// and amqps://"),
    ("amqps://intake:s3cret@mq-0.internal:5671/;redis://mq-1.internal/", "node 2 of 2 is not an amqp:// or amqps://"),
    ("amqps://intake:s3cret@mq-0.internal:5671/;amqps://intake:s3cret@:5671/", "node 2 of 2 is not an amqp:// or amqps://"),
    ("amqps://intake:s3cret@mq-0.internal:port/", "node 1 of 1 has a port that is not a number"),
    (" ; ", "is empty"),
], ids=["tls-and-plain", "another-scheme", "no-host", "bad-port", "empty"])
def test_a_broker_url_that_cannot_be_connected_to_stops_the_service_without_showing_the_password(raw, said):
    with pytest.raises(ConfigError, match=said) as refused:
        load("approval", {"AMQP_URL": raw})
    assert "s3cret" not in str(refused.value)


def test_production_refuses_a_guest_login_on_any_node_of_the_cluster():
    guest_last = CLUSTER.rsplit(";", 1)[0] + ";amqps://guest:guest@mq-2.internal:5671/"
    with pytest.raises(ConfigError, match="guest"):
        load("notifier", {"ENV": "production", "NOTIFIER_AMQP_URL": guest_last} | BROKER)
