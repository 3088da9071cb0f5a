"""deploy/dev/compose.yaml, the development dependencies in one command: valid Compose, each part on
the port the services' defaults and the tests look for, none on a port `make run` takes itself."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from invite_common.config import AMQP_DEFAULT, DEFAULT_BINDS
from tests.deploy.manifests import DEPLOY, compose

ROOT = DEPLOY.parent
DEV = DEPLOY / "dev" / "compose.yaml"
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "compose-spec.json").read_text())


def dev() -> dict:
    return yaml.safe_load(DEV.read_text())


def published(service: dict) -> dict[int, tuple[str, int]]:
    """Host port → (host address, container port) for each of a service's short-syntax ports."""
    ports = {}
    for entry in service.get("ports", []):
        address, host, container = entry.split(":")
        ports[int(host)] = (address, int(container))
    return ports


def make_run_ports() -> set[int]:
    """The ports `make run` listens on itself: each service's default bind, intake's metrics and the
    mail catcher's two."""
    intake_settings = (ROOT / "services/intake/src/intake/settings.py").read_text()
    catcher = (DEPLOY / "mailcatcher.py").read_text()
    binds = [*DEFAULT_BINDS.values(), *re.findall(r'"INTAKE_METRICS_BIND", "([^"]+)"', intake_settings),
             *re.findall(r'"MAILCATCHER_(?:SMTP|HTTP)", "([^"]+)"', catcher)]
    assert len(binds) == 6, binds
    return {int(bind.rpartition(":")[2]) for bind in binds}


def test_dev_compose_follows_the_compose_specification():
    jsonschema.Draft7Validator(SCHEMA).validate(dev())


def test_brings_up_the_broker_the_database_redis_and_a_mail_catcher_each_with_a_health_check():
    services = dev()["services"]
    assert set(services) == {"rabbitmq", "postgres", "redis", "mail"}
    for name, service in services.items():
        assert service["healthcheck"]["test"][0] == "CMD", name


def test_images_are_pinned_and_the_same_as_production_compose_runs():
    services, production = dev()["services"], compose()["services"]
    for name, service in services.items():
        tag = service["image"].rpartition(":")[2]
        assert re.match(r"v?\d+(\.\d+)+", tag), f"{name}: {service['image']} names no exact version"
    for name in ("rabbitmq", "postgres", "redis", "mail"):
        assert services[name]["image"] == production[name]["image"], name


def test_every_port_is_published_on_this_machine_only():
    for name, service in dev()["services"].items():
        for address, _ in published(service).values():
            assert address == "127.0.0.1", name


def test_the_ports_are_those_the_services_and_the_tests_look_for():
    services = dev()["services"]
    broker = urlsplit(AMQP_DEFAULT)
    assert published(services["rabbitmq"])[broker.port] == ("127.0.0.1", 5672)
    # the tests make a vhost per test through the management API
    assert published(services["rabbitmq"])[15672] == ("127.0.0.1", 15672)
    assert published(services["postgres"])[5432] == ("127.0.0.1", 5432)
    assert published(services["redis"])[6379] == ("127.0.0.1", 6379)
    ci = (ROOT / ".ci" / "run").read_text()
    for port in (5672, 5432, 6379):
        assert re.search(rf"\b{port}\b", ci), f".ci/run no longer checks {port}: the two disagree"


def test_no_port_collides_with_what_make_run_starts():
    taken = make_run_ports()
    for name, service in dev()["services"].items():
        clash = taken & set(published(service))
        assert not clash, f"{name} publishes {clash}, which make run listens on"


def test_the_development_logins_are_the_defaults_the_tests_use():
    services = dev()["services"]
    broker = urlsplit(AMQP_DEFAULT)
    assert (broker.username, broker.password) == ("guest", "guest")
    # guest may log in only from the node's own host unless loopback_users is emptied
    assert "loopback_users = none" in dev()["configs"]["rabbitmq_conf"]["content"].splitlines()
    assert services["postgres"]["environment"] == {"POSTGRES_USER": "postgres", "POSTGRES_HOST_AUTH_METHOD": "trust"}
    backing = (ROOT / "tests/support/backing.py").read_text()
    assert "postgresql://postgres@127.0.0.1:5432/postgres" in backing


@pytest.mark.parametrize("document", ["README.md", "Makefile"])
def test_the_readme_and_the_makefile_name_the_same_command(document):
    assert "docker compose -f deploy/dev/compose.yaml up -d --wait" in (ROOT / document).read_text()
