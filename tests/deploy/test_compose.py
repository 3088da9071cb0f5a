"""deploy/compose.yaml: valid against the Compose Specification's JSON schema, and shaped as the
deployment needs (replicated workers, health checks, a broker and a database fit for it)."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.deploy.manifests import SERVICES, compose

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


@pytest.mark.parametrize("name", [*SERVICES, "rabbitmq", "postgres", "mail"])
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
    assert "CREATE DATABASE" in spec["configs"]["postgres_databases"]["content"]


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
