"""The Prometheus scrape configuration and alert rules: well-formed, pointing at files that exist,
and every alert explained in the runbook."""
from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.manifests import DEPLOY, compose

PROMETHEUS = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
RULES = [rule for group in yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"] for rule in group["rules"]]
RUNBOOK = (DEPLOY / "RUNBOOK.md").read_text()


def test_prometheus_scrapes_every_service_and_loads_the_rules():
    jobs = {job["job_name"]: job for job in PROMETHEUS["scrape_configs"]}
    assert set(jobs) == {"invites-intake", "invites-approval", "invites-notifier"}
    ports = {name: job["dns_sd_configs"][0]["port"] for name, job in jobs.items()}
    # each service's metrics listener as compose binds it: intake's own, the workers' health ports
    services = compose()["services"]
    served = {f"invites-{name}": int(services[name]["environment"][variable].rpartition(":")[2])
              for name, variable in (("intake", "INTAKE_METRICS_BIND"), ("approval", "APPROVAL_BIND"),
                                     ("notifier", "NOTIFIER_BIND"))}
    assert ports == served
    assert ports["invites-intake"] != int(services["intake"]["environment"]["INTAKE_BIND"].rpartition(":")[2])
    for rule_file in PROMETHEUS["rule_files"]:
        assert (DEPLOY / rule_file).exists()


def test_compose_mounts_the_files_prometheus_reads():
    for name, config in compose()["configs"].items():
        if "file" in config:
            assert (DEPLOY / config["file"]).exists(), name


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["alert"])
def test_every_alert_has_a_severity_a_summary_and_a_runbook_entry(rule):
    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
    assert rule["labels"]["severity"] in {"page", "warn"}
    assert rule["annotations"]["summary"]
    assert f"**{rule['alert']}**" in RUNBOOK
    if "for" in rule:
        assert re.fullmatch(r"\d+[smh]", rule["for"])
