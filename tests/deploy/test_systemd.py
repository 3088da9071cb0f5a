"""deploy/systemd: each unit gives its service longer to stop than the service gives itself."""
from __future__ import annotations

import configparser

import pytest

from tests.deploy.manifests import DEPLOY, SERVICES


def common_settings() -> dict[str, str]:
    lines = (DEPLOY / "systemd" / "common.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


@pytest.mark.parametrize("name", SERVICES)
def test_each_unit_waits_longer_for_its_service_to_stop_than_shutdown_seconds(name):
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string((DEPLOY / "systemd" / f"invite-{name}.service").read_text())
    assert unit["Service"]["KillSignal"] == "SIGTERM"
    assert float(unit["Service"]["TimeoutStopSec"]) > float(common_settings()["SHUTDOWN_SECONDS"]) + 5
