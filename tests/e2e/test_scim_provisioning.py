"""Provisioning through a SCIM 2.0 directory: the three services as processes, approval pointed at a
real SCIM server by DIRECTORY_URL."""
from __future__ import annotations

import re

import pytest

from tests.support.system import make_system
from tests.support.broker import wait_for
from tests.support.metrics import names, scrape, value
from tests.deploy.manifests import DEPLOY

REQUESTER = "amy@tech.gov.sg"
APPROVER = "bob@tech.gov.sg"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

VENDOR = {
    "method": "create_account",
    "email": "vic.lim@vendor.example.com",
    "user_type": "vendor",
    "username": "v-vic.lim",
    "first_name": "Vic",
    "last_name": "Lim",
    "contact_number": "+65 9123 4567",
    "organisation": "Example Pte Ltd",
    "department": "Payments",
    "seed_onboarding": False,
    "reason": "Builds the payments service",
}


@pytest.fixture
def scim_system(request, tmp_path, amqp_url, namespace, mailbox, scim):
    system = make_system(request, tmp_path, amqp_url, namespace, mailbox, "postgresql",
                          DIRECTORY_URL=scim.url, DIRECTORY_TOKEN=scim.token, DIRECTORY_TIMEOUT="2")
    system.start()
    return system


def submit_and_approve(system, body):
    response = system.call("POST", "/api/v1/invites", REQUESTER, json=body)
    assert response.status_code == 201, response.text
    invite_id = response.json()["id"]
    assert system.call("POST", f"/api/v1/invites/{invite_id}/approve", APPROVER, json={}).status_code == 202
    return invite_id


def test_approved_requests_are_provisioned_once_in_the_directory_and_refused_for_an_existing_account(
        scim_system, scim, mailbox):
    # One system for every journey: starting the three services is what costs here.
    invite_id = submit_and_approve(scim_system, VENDOR)
    final = scim_system.wait_for_state(invite_id, "emailed")
    [user] = scim.users
    assert scim.creates() == 1
    assert (user["userName"], user["externalId"]) == ("v-vic.lim", invite_id)
    assert user["emails"][0]["value"] == "vic.lim@vendor.example.com"
    assert user["phoneNumbers"] == [{"value": "+6591234567", "type": "work"}]
    assert user[ENTERPRISE] == {"organization": "Example Pte Ltd", "department": "Payments"}
    provision = next(h for h in final["history"] if h["to_state"] == "account_created")
    assert provision["details"]["username"] == "v-vic.lim"
    wait_for(lambda: mailbox.to("vic.lim@vendor.example.com"), what="the invitation")

    # an account made outside this system holds the invitee's email: intake refuses the request
    scim.add_user({"userName": "jlee", "emails": [{"value": "Jo.Lee@vendor.example.com"}]})
    refused = scim_system.call("POST", "/api/v1/invites", REQUESTER,
                               json=VENDOR | {"email": "jo.lee@vendor.example.com", "username": "v-jo.lee"})
    assert refused.status_code == 409 and "email" in refused.json()["errors"], refused.text

    # one made between the request and its approval: provisioning finds it, a permanent failure, with why
    response = scim_system.call("POST", "/api/v1/invites", REQUESTER,
                                json=VENDOR | {"email": "max@vendor.example.com", "username": "v-max.ng"})
    assert response.status_code == 201, response.text
    taken = response.json()["id"]
    scim.add_user({"userName": "maxn", "emails": [{"value": "max@vendor.example.com"}]})
    assert scim_system.call("POST", f"/api/v1/invites/{taken}/approve", APPROVER, json={}).status_code == 202
    failure = next(h for h in scim_system.wait_for_state(taken, "failed")["history"] if h["to_state"] == "failed")
    assert "already holds an account for this email" in failure["note"]

    # the directory is down for a while: the request is still accepted (intake could not look),
    # provisioning waits, then happens once
    scim.go_down()
    later = submit_and_approve(scim_system, VENDOR | {"email": "kim@vendor.example.com", "username": "v-kim.tan"})
    wait_for(lambda: "directory not answering" in scim_system.log("approval"), what="a failed attempt")
    scim.come_back()
    scim_system.wait_for_state(later, "emailed")
    assert sorted(u["userName"] for u in scim.users) == ["jlee", "maxn", "v-kim.tan", "v-vic.lim"]
    assert scim.creates() == 2  # v-vic.lim and v-kim.tan; jlee and maxn were made by another client

    # what Prometheus sees: requests by state, and every metric the alert rules use, across the services
    binds = {name: scim_system.env[f"{name.upper()}_BIND"] for name in ("approval", "notifier")}
    binds["intake"] = scim_system.env["INTAKE_METRICS_BIND"]
    samples = {name: scrape(f"http://{bind}/metrics") for name, bind in binds.items()}
    assert value(samples["approval"], "invites_requests", state="emailed") == 2
    assert value(samples["approval"], "invites_requests", state="failed") == 1
    assert value(samples["approval"], "invites_requests", state="rejected") == 0
    assert value(samples["intake"], "invites_http_requests_total", route="/api/v1/invites", method="POST", status="201") == 3
    assert value(samples["intake"], "invites_http_requests_total", route="/api/v1/invites", method="POST", status="409") == 1
    assert value(samples["notifier"], "invites_emails_sent_total", template="invitation") == 2
    served = set().union(*(names(s) for s in samples.values()))
    alerting = set(re.findall(r"\binvites_[a-z_]+", (DEPLOY / "alerts.yml").read_text()))
    # intake's verdict on the whole chain exists from its first walk, a minute after start (sooner
    # would walk a long chain on every replica of a rollout at once); tests/intake/audit serve it
    verdicts = {"invites_history_verify_intact"}
    assert alerting - served - verdicts == set(), "alert rules use metrics no service serves"
    assert verdicts <= alerting
