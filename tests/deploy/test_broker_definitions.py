"""deploy/rabbitmq/definitions.json declares every queue exactly as the services of each manifest
will: with the type (`x-queue-type`) and the retry delays their settings ask for. A queue loaded with
another type stops every service at start, so the file and the manifests must agree."""
from __future__ import annotations

import pytest
from approval import settings as approval_settings
from invite_common.broker_users import definitions as derived_definitions
from invite_common.topology import Topology

from tests.deploy.manifests import SERVICES, compose, definitions, generated_configmaps, k8s_objects

# the settings that decide how a service declares its queues
QUEUE_SETTINGS = ("AMQP_QUORUM_QUEUES", "RETRY_DELAYS", "AMQP_NAMESPACE")


def queue_settings() -> dict[str, dict[str, str]]:
    """The queue settings each deployment gives each service, by "<manifest>:<service>"."""
    found = {}
    configmaps = generated_configmaps()
    deployments = {doc["metadata"]["name"]: doc for _, doc in k8s_objects() if doc["kind"] == "Deployment"}
    for name in SERVICES:
        [container] = deployments[name]["spec"]["template"]["spec"]["containers"]
        env = {}
        for source in container.get("envFrom", []):
            env |= configmaps[source["configMapRef"]["name"]]
        env |= {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
        found[f"k8s:{name}"] = {k: v for k, v in env.items() if k in QUEUE_SETTINGS}
        env = compose()["services"][name]["environment"]
        found[f"compose:{name}"] = {k: v for k, v in env.items() if k in QUEUE_SETTINGS}
    return found


def declared_queues(settings: dict[str, str]) -> list[dict]:
    """The queues a service started with these settings declares, in the definitions' format."""
    read = approval_settings.load(settings)
    topology = Topology(read.amqp_namespace, read.amqp_quorum_queues, read.retry_delays)
    return derived_definitions(topology)["queues"]


@pytest.mark.parametrize("where,settings", sorted(queue_settings().items()))
def test_the_definitions_declare_every_queue_as_the_manifests_services_do(where, settings):
    assert definitions()["queues"] == declared_queues(settings)


def test_both_manifests_ask_for_quorum_queues_and_the_definitions_give_every_queue_that_type():
    for where, settings in queue_settings().items():
        assert approval_settings.load(settings).amqp_quorum_queues, where
    assert {q["arguments"].get("x-queue-type") for q in definitions()["queues"]} == {"quorum"}


def test_the_check_would_see_a_queue_declared_without_its_type():
    shipped = definitions()["queues"]
    classic = declared_queues({"AMQP_QUORUM_QUEUES": "false"})
    assert [q["name"] for q in classic] == [q["name"] for q in shipped] and classic != shipped
