"""deploy/compose.yaml: valid against the Compose Specification's JSON schema, and shaped as the
deployment needs (replicated workers, health checks, a broker and a database fit for it)."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import kombu
import pytest

from tests.deploy.manifests import COMPOSE, DEFINITIONS, SERVICES, broker_grants, compose, compose_env, definitions

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "compose-spec.json").read_text())


def test_compose_file_follows_the_compose_specification():
    jsonschema.Draft7Validator(SCHEMA).validate(compose())


def test_the_schema_check_would_refuse_a_misspelt_key():
    spec = compose()
    spec["services"]["approval"]["healthckeck"] = spec["services"]["approval"].pop("healthcheck")
    with pytest.raises(jsonschema.ValidationError, match="healthckeck"):
        jsonschema.Draft7Validator(SCHEMA).validate(spec)


@pytest.mark.parametrize("worker", ["approval", "notifier"])
def test_each_worker_runs_two_replicas(worker):
    assert compose()["services"][worker]["deploy"]["replicas"] == 2


@pytest.mark.parametrize("name", [*SERVICES, "rabbitmq", "postgres", "mail", "redis"])
def test_every_long_running_service_has_a_health_check(name):
    assert compose()["services"][name]["healthcheck"]["test"][0] == "CMD"


@pytest.mark.parametrize("name", SERVICES)
def test_services_start_after_the_migrations_and_a_healthy_broker_and_database(name):
    depends = compose()["services"][name]["depends_on"]
    assert depends["migrate"] == {"condition": "service_completed_successfully"}
    assert depends["rabbitmq"] == depends["postgres"] == {"condition": "service_healthy"}
    assert compose()["services"][name]["command"] == ["python", "-m", name]


def test_rabbitmq_has_the_management_plugin_and_quorum_queues():
    spec = compose()
    assert spec["services"]["rabbitmq"]["image"].endswith("-management")
    assert "default_queue_type = quorum" in spec["configs"]["rabbitmq_conf"]["content"]
    for name in SERVICES:
        assert spec["services"][name]["environment"]["AMQP_QUORUM_QUEUES"] == "true"


def test_each_service_has_its_own_database_and_broker_url():
    spec = compose()
    for name in SERVICES:
        env = spec["services"][name]["environment"]
        assert env[f"{name.upper()}_DB_URL"].endswith(f"@postgres:5432/{name}")
        assert f"{name.upper()}_AMQP_URL" in env
        others = [s for s in SERVICES if s != name]
        assert not any(f"{o.upper()}_DB_URL" in env for o in others)
        assert not [k for k in env if "MIGRATION" in k]  # only the migrate step has the schema's owner


def test_images_are_pinned_and_containers_unprivileged():
    spec = compose()
    for name, service in spec["services"].items():
        assert ":latest" not in service["image"] and ":" in service["image"], name
    assert spec["x-service"]["read_only"] is True
    assert spec["x-service"]["cap_drop"] == ["ALL"]


def test_intake_gets_the_history_signing_key_as_a_secret_file():
    spec = compose()
    intake = spec["services"]["intake"]
    (secret,) = intake["secrets"]
    assert intake["environment"]["AUDIT_SIGNING_KEY"] == f"/run/secrets/{secret['source']}"
    assert secret["mode"] == 0o400 and secret["uid"] == "10001"
    assert spec["secrets"][secret["source"]]["file"].endswith(".pem")


def broker_login(url: str) -> tuple[str, str, str]:
    """The user, password and vhost a service's broker URL logs in with, as kombu reads it."""
    connection = kombu.Connection(url)
    return connection.userid, connection.password, connection.virtual_host


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_logs_in_to_the_broker_as_its_own_user_of_the_definitions(name):
    spec = compose()
    user, password, vhost = broker_login(spec["services"][name]["environment"][f"{name.upper()}_AMQP_URL"])
    assert user == name and vhost in broker_grants()[name]
    assert password == f"${{{name.upper()}_AMQP_PASSWORD}}"
    # the password the URL carries is the one the broker user is given
    assert spec["services"]["rabbitmq-users"]["environment"][f"{name.upper()}_AMQP_PASSWORD"].startswith(
        f"${{{name.upper()}_AMQP_PASSWORD:?")


def test_no_service_logs_in_as_the_operators_account():
    spec = compose()
    admin = spec["services"]["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_USER"]
    assert admin not in broker_grants()
    urls = [v for s in compose_env() for k, v in spec["services"][s]["environment"].items() if k.endswith("AMQP_URL")]
    assert urls and not any(broker_login(url)[0] == admin for url in urls)


def test_services_start_after_the_broker_has_their_users():
    spec = compose()
    users = spec["services"]["rabbitmq-users"]
    assert users["depends_on"] == {"rabbitmq": {"condition": "service_healthy"}}
    for name in SERVICES:
        assert spec["services"][name]["depends_on"]["rabbitmq-users"] == {"condition": "service_completed_successfully"}


def test_the_broker_is_given_the_definitions_file():
    spec = compose()
    users = spec["services"]["rabbitmq-users"]
    mounted = {c["source"]: c["target"] for c in users["configs"]}
    assert (COMPOSE.parent / spec["configs"]["rabbitmq_definitions"]["file"]).resolve() == DEFINITIONS
    assert mounted["rabbitmq_definitions"] == "/etc/rabbitmq/invites-definitions.json"
    # rabbitmqctl reaches the broker's node with the Erlang cookie kept in the broker's data volume
    broker = spec["services"]["rabbitmq"]
    assert "rabbitmq-data:/var/lib/rabbitmq:ro" in users["volumes"]
    assert "rabbitmq-data:/var/lib/rabbitmq" in broker["volumes"]
    assert users["environment"]["HOME"] == "/var/lib/rabbitmq" and users["user"] == "rabbitmq"
    assert users["image"] == broker["image"]


RECORD = '#!/bin/sh\nprintf "%s\\n" "$*" >> "$CALLS"\n'


def run_users_script(tmp_path: Path, passwords: dict[str, str], rabbitmqctl: str = RECORD) -> tuple[int, list[str]]:
    """Run the script compose mounts into rabbitmq-users, with a stand-in for the broker's CLI that
    records its arguments; return the exit status and the calls."""
    script = tmp_path / "invites-users.sh"
    # compose turns `$$` into `$` when it writes a config's content
    script.write_text(compose()["configs"]["rabbitmq_users"]["content"].replace("$$", "$"))
    fake = tmp_path / "bin" / "rabbitmqctl"
    fake.parent.mkdir()
    fake.write_text(rabbitmqctl)
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    calls.touch()
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "CALLS": str(calls), **passwords}
    result = subprocess.run([compose()["services"]["rabbitmq-users"]["entrypoint"][0], str(script)], env=env, timeout=30)
    return result.returncode, calls.read_text().splitlines()


def test_the_users_script_imports_the_definitions_then_sets_each_password(tmp_path):
    spec = compose()
    users = spec["services"]["rabbitmq-users"]
    mounted = {c["source"]: c["target"] for c in users["configs"]}
    assert mounted["rabbitmq_users"] == users["command"][0]
    passwords = {f"{name.upper()}_AMQP_PASSWORD": f"pw-{name}-{i}" for i, name in enumerate(SERVICES)}
    status, calls = run_users_script(tmp_path, passwords)
    node = f"rabbit@{spec['services']['rabbitmq']['hostname']}"
    expected = [f"--node {node} import_definitions {mounted['rabbitmq_definitions']}"]
    expected += [f"--node {node} change_password {u['name']} {passwords[u['name'].upper() + '_AMQP_PASSWORD']}"
                 for u in definitions()["users"]]
    assert status == 0 and calls == expected


def test_the_users_script_stops_at_the_first_failure(tmp_path):
    status, calls = run_users_script(tmp_path, {f"{n.upper()}_AMQP_PASSWORD": "x" for n in SERVICES},
                                     rabbitmqctl=RECORD + "exit 69\n")
    assert status != 0 and len(calls) == 1 and "import_definitions" in calls[0]


def test_the_users_script_refuses_a_missing_password(tmp_path):
    status, calls = run_users_script(tmp_path, {"INTAKE_AMQP_PASSWORD": "x", "NOTIFIER_AMQP_PASSWORD": "y"})
    assert status != 0
    assert not any("change_password approval" in call or "change_password notifier" in call for call in calls)


def test_every_variable_compose_requires_is_in_the_example_env_file():
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE.read_text()))
    example = (COMPOSE.parent / "compose.env.example").read_text().splitlines()
    names = {line.split("=", 1)[0] for line in example if "=" in line and not line.startswith("#")}
    assert {"INTAKE_AMQP_PASSWORD", "APPROVAL_AMQP_PASSWORD", "NOTIFIER_AMQP_PASSWORD"} <= required
    assert required <= names


ROLES_SQL = COMPOSE.parent / "postgres" / "roles.sql"


@pytest.mark.parametrize("name", SERVICES)
def test_the_migrate_service_connects_as_the_services_migration_role_and_names_its_runtime_role(name):
    env = compose()["services"]["migrate"]["environment"]
    migration = urlsplit(env[f"{name.upper()}_MIGRATION_DB_URL"])
    runtime = urlsplit(env[f"{name.upper()}_DB_URL"])
    assert (migration.username, migration.path) == (f"{name}_migrator", f"/{name}")
    assert (runtime.username, runtime.path) == (name, f"/{name}")
    assert migration.password == f"${{{name.upper()}_MIGRATION_DB_PASSWORD}}"
    assert env[f"{name.upper()}_DB_URL"] == compose()["services"][name]["environment"][f"{name.upper()}_DB_URL"]


def test_postgres_makes_the_databases_and_roles_with_the_shipped_script_and_every_password_it_asks_for():
    spec = compose()
    postgres = spec["services"]["postgres"]
    mounted = {c["source"]: c["target"] for c in postgres["configs"]}
    assert (COMPOSE.parent / spec["configs"]["postgres_roles"]["file"]).resolve() == ROLES_SQL
    assert mounted["postgres_databases"].startswith("/docker-entrypoint-initdb.d/")
    # outside the init folder: the image would run a .sql there itself, without the passwords
    assert not mounted["postgres_roles"].startswith("/docker-entrypoint-initdb.d/")
    script = spec["configs"]["postgres_databases"]["content"].replace("$$", "$")
    assert f"-f {mounted['postgres_roles']}" in script
    asked = set(re.findall(r":'(\w+_password)'", ROLES_SQL.read_text()))
    given = dict(re.findall(r'-v (\w+)="\$(\w+)"', script))
    assert asked and set(given) == asked
    for variable, env_name in given.items():
        assert postgres["environment"][env_name].startswith(f"${{{env_name}:?")


def test_the_roles_script_makes_the_roles_the_urls_log_in_as():
    made = set(re.findall(r"\('(\w+)'\)", ROLES_SQL.read_text()))
    env = compose()["services"]["migrate"]["environment"]
    users = {urlsplit(v).username for k, v in env.items() if k.endswith("DB_URL")}
    assert users == {"intake", "approval", "notifier", "intake_migrator", "approval_migrator", "notifier_migrator"}
    assert users <= made


def seconds(duration: str) -> float:
    """A compose duration such as `30s` or `1m30s`, in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([hms])", duration))


@pytest.mark.parametrize("name", SERVICES)
def test_each_container_has_longer_to_stop_than_the_service_gives_itself(name):
    service = compose()["services"][name]
    assert seconds(service["stop_grace_period"]) > float(service["environment"]["SHUTDOWN_SECONDS"]) + 5


@pytest.mark.parametrize("name", [*SERVICES, "migrate"])
def test_every_service_can_be_given_the_authorities_tls_ca_file_names(name):
    service = compose()["services"][name]
    assert service["environment"]["TLS_CA_FILE"] == "${TLS_CA_FILE:-}"
    assert "./tls:/etc/invite-users/tls:ro" in service["volumes"]
    example = (COMPOSE.parent / "compose.env.example").read_text()
    assert "/etc/invite-users/tls/" in example and "\nTLS_CA_FILE=" in example


def example_env() -> dict[str, str]:
    return dict(line.split("=", 1) for line in (COMPOSE.parent / "compose.env.example").read_text().splitlines()
                if "=" in line and not line.startswith("#"))


def test_intake_must_be_told_the_portals_address_for_the_links_in_emails():
    """No default: production refuses one that is not the public https address, so compose asks for it."""
    assert compose()["services"]["intake"]["environment"]["PORTAL_URL"].startswith("${PORTAL_URL:?")
    assert example_env()["PORTAL_URL"].startswith("https://")


def test_the_notifier_must_be_told_a_relay_and_the_example_names_one_over_tls():
    assert compose()["services"]["notifier"]["environment"]["SMTP_URL"].startswith("${SMTP_URL:?")
    smtp = urlsplit(example_env()["SMTP_URL"])
    assert smtp.scheme == "smtps" or "starttls=true" in smtp.query


def test_the_mail_catcher_only_starts_when_asked_for_and_nothing_waits_for_it():
    spec = compose()
    assert spec["services"]["mail"]["profiles"] == ["try-out"]
    assert not [name for name, service in spec["services"].items() if "mail" in (service.get("depends_on") or {})]


def test_intake_counts_its_limits_in_the_redis_service_it_waits_for():
    spec = compose()
    intake = spec["services"]["intake"]
    url = urlsplit(intake["environment"]["RATE_LIMIT_STORAGE_URL"])
    assert url.scheme == "redis" and url.hostname in spec["services"]
    assert intake["depends_on"][url.hostname] == {"condition": "service_healthy"}
    redis = spec["services"][url.hostname]
    assert redis["healthcheck"]["test"][0] == "CMD" and "ports" not in redis
    assert redis["command"][redis["command"].index("--save") + 1] == ""  # counters only: nothing on disk


def test_the_example_api_audience_is_an_absolute_uri_as_resource_indicators_need():
    example = dict(line.split("=", 1) for line in (COMPOSE.parent / "compose.env.example").read_text().splitlines()
                   if "=" in line and not line.startswith("#"))
    assert urlsplit(example["OIDC_AUDIENCE"]).scheme
