"""The Prometheus scrape configuration, the alert rules and the Alertmanager configuration: valid as
their own tools read them, every alert tried by `promtool test rules` both firing and quiet, every
scrape job watched for going missing, and every alert explained in the runbook."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from invite_common.topology import CONSUMERS, Topology
from tests.deploy.manifests import DEPLOY, compose

PROMETHEUS = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
RULES = [rule for group in yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"] for rule in group["rules"]]
ALERTS = {rule["alert"]: rule for rule in RULES}
RULE_TESTS = Path(__file__).parent / "alerts_test.yml"
RUNBOOK = (DEPLOY / "RUNBOOK.md").read_text()
SERVICE_JOBS = {"invites-intake", "invites-approval", "invites-notifier"}


def tool(name: str, package: str) -> str:
    """The path of Prometheus's `name` tool: .venv's (make monitoring-tools) or the machine's."""
    found = Path(sys.executable).parent / name
    if found.exists():
        return str(found)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is missing: `make monitoring-tools` unpacks it from Debian's {package} package")
    return found


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_prometheus_scrapes_every_service_and_loads_the_rules():
    jobs = {job["job_name"]: job for job in PROMETHEUS["scrape_configs"]}
    assert set(jobs) == SERVICE_JOBS | {"rabbitmq"}
    ports = {name: jobs[name]["dns_sd_configs"][0]["port"] for name in SERVICE_JOBS}
    # each service's metrics listener as compose binds it: intake's own, the workers' health ports
    services = compose()["services"]
    served = {f"invites-{name}": int(services[name]["environment"][variable].rpartition(":")[2])
              for name, variable in (("intake", "INTAKE_METRICS_BIND"), ("approval", "APPROVAL_BIND"),
                                     ("notifier", "NOTIFIER_BIND"))}
    assert ports == served
    assert ports["invites-intake"] != int(services["intake"]["environment"]["INTAKE_BIND"].rpartition(":")[2])
    for rule_file in PROMETHEUS["rule_files"]:
        assert (DEPLOY / rule_file).exists()


def test_prometheus_scrapes_each_queues_depth_and_consumers_from_the_brokers_own_plugin():
    job = next(job for job in PROMETHEUS["scrape_configs"] if job["job_name"] == "rabbitmq")
    assert job["static_configs"] == [{"targets": ["rabbitmq:15692"]}]
    assert job["metrics_path"] == "/metrics/detailed"
    assert set(job["params"]["family"]) == {"queue_coarse_metrics", "queue_consumer_count"}
    broker = compose()["services"]["rabbitmq"]
    plugins_file = next(c for c in broker["configs"] if c["target"] == "/etc/rabbitmq/enabled_plugins")
    plugins = (DEPLOY / compose()["configs"][plugins_file["source"]]["file"]).read_text()
    listed = re.fullmatch(r"\[([a-z_,\s]+)\]\.\s*", plugins).group(1)
    # the management image's own plugin stays: the file takes the place of the image's
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= {p.strip() for p in listed.split(",")}


def test_prometheus_sends_alerts_to_the_alertmanager_compose_runs_beside_it():
    [target] = [t for am in PROMETHEUS["alerting"]["alertmanagers"] for c in am["static_configs"] for t in c["targets"]]
    host, port = target.split(":")
    services = compose()["services"]
    assert services[host]["profiles"] == services["prometheus"]["profiles"] == ["monitoring"]
    [config] = services[host]["configs"]
    assert config["target"] == "/etc/alertmanager/alertmanager.yml"
    assert compose()["configs"][config["source"]]["file"] == "./alertmanager.yml"
    assert port == "9093"


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


def test_every_scrape_job_is_watched_for_having_no_target_at_all():
    absent = set(re.findall(r'absent\(up\{job="([^"]+)"\}\)', ALERTS["InvitesTargetMissing"]["expr"]))
    assert absent == {job["job_name"] for job in PROMETHEUS["scrape_configs"]}


def queue_pattern(alert: str) -> re.Pattern:
    """The queue regex an alert selects RabbitMQ's series with (PromQL regexes match the whole value)."""
    [pattern] = set(re.findall(r"queue=~`([^`]+)`", ALERTS[alert]["expr"]))
    return re.compile(pattern)


@pytest.mark.parametrize("namespace", ["", "ci7"])
def test_the_queue_alerts_watch_the_topologys_work_queues_and_dead_letter_queues(namespace):
    topology = Topology(namespace)
    work = {topology.queue(c).name for c in CONSUMERS}
    dead = {topology.dead_letter_queue(c).name for c in CONSUMERS}
    retry = {q.name for c in CONSUMERS for q in topology.retry_queues(c)}
    for alert in ("InvitesQueueWithoutConsumers", "InvitesQueueBacklog"):
        watched = queue_pattern(alert)
        assert {q for q in work | dead | retry if watched.fullmatch(q)} == work, alert
    assert {q for q in work | dead | retry if queue_pattern("InvitesDeadLetters").fullmatch(q)} == dead


def test_the_rules_pass_promtools_check():
    checked = run(tool("promtool", "prometheus"), "check", "rules", str(DEPLOY / "alerts.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(RULES)} rules found" in checked.stdout


def test_the_prometheus_configuration_passes_promtools_check():
    # the syntax and the rule files it names; the host names are compose's and are not resolved
    checked = run(tool("promtool", "prometheus"), "check", "config", str(DEPLOY / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alertmanager_configuration_passes_amtools_check():
    checked = run(tool("amtool", "prometheus-alertmanager"), "check-config", str(DEPLOY / "alertmanager.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_fires_and_stays_quiet_as_its_promtool_cases_say():
    tested = run(tool("promtool", "prometheus"), "test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_case_where_it_fires_and_one_where_it_must_not():
    cases = [case for group in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in group["alert_rule_test"]]
    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert set(ALERTS) - fires == set(), "alerts no case sees firing"
    assert set(ALERTS) - quiet == set(), "alerts no case holds quiet"
    assert {case["alertname"] for case in cases} <= set(ALERTS)
