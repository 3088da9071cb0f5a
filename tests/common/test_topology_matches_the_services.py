"""The broker topology binds each consumer queue to exactly the message types its service's
bootstrap handles: a type handled but not bound never arrives, one bound but not handled is
dead-lettered. Checked from the declarations alone, with no broker or database."""
from __future__ import annotations

import importlib

import pytest

from invite_common.topology import CONSUMERS, SERVICES, owner


def consumers_declared_by(service: str, tmp_path) -> dict[str, set[str]]:
    """Queue -> message types, as `service`'s bootstrap declares its consumers."""
    bootstrap = importlib.import_module(f"{service}.bootstrap")
    settings = importlib.import_module(f"{service}.settings").load({"INVITES_VAR_DIR": str(tmp_path)})
    return {queue: set(handlers) for queue, handlers in bootstrap.declare(settings).consumers.items()}


@pytest.mark.parametrize("service", SERVICES)
def test_each_consumer_queue_is_bound_to_exactly_the_types_its_service_handles(service, tmp_path):
    bound = {queue: set(types) for queue, types in CONSUMERS.items() if owner(queue) == service}
    assert consumers_declared_by(service, tmp_path) == bound


def test_every_consumer_queue_belongs_to_a_service():
    assert {owner(queue) for queue in CONSUMERS} <= set(SERVICES)
