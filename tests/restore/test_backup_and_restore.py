"""Backup and restore as deploy/RUNBOOK.md says: back up a running system's three PostgreSQL databases
with deploy/backup.py, restore them into fresh databases of other names and roles, start the services
on them with the escrowed signing key, and find every request, every email record and an intact,
verifiable chain; a restore with another signing key is refused, and the chain does not verify with it."""
from __future__ import annotations

import json
from collections import Counter

from tests.restore.databases import BACKUP, SERVICES, command, migrate, rows
from tests.support.broker import wait_for
from tests.support.metrics import scrape
from tests.support.system import RunningSystem, system_env

REQUESTER = "amy@tech.gov.sg"
APPROVER = "bob@tech.gov.sg"
AUDITOR = "carol@tech.gov.sg"


def email_invitation(email: str) -> dict:
    return {"method": "email_invitation", "email": email, "seed_onboarding": False, "reason": "Joining the platform team"}


SEED_VENDOR = {
    "method": "create_account", "email": "vic.lim@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim",
    "first_name": "Vic", "last_name": "Lim", "contact_number": "+65 9123 4567", "organisation": "Example Pte Ltd",
    "seed_onboarding": True, "reason": "Builds the payments service",
}


def submit(system: RunningSystem, body: dict) -> str:
    response = system.call("POST", "/api/v1/invites", REQUESTER, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def decide(system: RunningSystem, invite_id: str, verb: str, body: dict) -> None:
    response = system.call("POST", f"/api/v1/invites/{invite_id}/{verb}", APPROVER if verb != "cancel" else REQUESTER,
                           json=body)
    assert response.status_code == 202, response.text


def seen(system: RunningSystem, invite_id: str) -> tuple:
    """What the auditor sees of a request: its state and its history."""
    invite = system.invite(invite_id, AUDITOR)
    return invite["state"], [(h["event"], h["to_state"], h["actor"], h["note"], h["at"]) for h in invite["history"]]


def deliveries(url: str) -> list[tuple]:
    return rows(url, "SELECT request_id, template, send_key, recipient_domain, smtp_message_id, status, attempts, "
                     "error, sent_at, created_at FROM delivery ORDER BY request_id, template, send_key")


def duplicates_dropped(system: RunningSystem) -> int:
    """How many messages the restored services recognised as handled already and dropped."""
    binds = [system.env["INTAKE_METRICS_BIND"], system.env["APPROVAL_BIND"], system.env["NOTIFIER_BIND"]]
    return int(sum(v for bind in binds for (name, labels), v in scrape(f"http://{bind}/metrics").items()
                   if name == "invites_messages_handled_total" and ("outcome", "duplicate") in labels))


def recipients(mailbox) -> Counter:
    return Counter(address for m in mailbox.messages for address in m["X-Envelope-To"].split(","))


def test_a_restored_backup_holds_every_request_email_and_an_intact_chain_and_runs_on(
        database_sets, restore_namespace, signing_keys, mailbox, amqp_url, tmp_path, request):
    source = database_sets()
    assert source.create().returncode == 0
    migrate(source, tmp_path)
    env = system_env(amqp_url=amqp_url, namespace=restore_namespace, smtp_url=mailbox.url, var_dir=tmp_path / "var",
                     db_urls={s: source.runtime_url(s) for s in SERVICES}, AUDIT_SIGNING_KEY=signing_keys["escrowed"])
    (tmp_path / "before").mkdir()
    before = RunningSystem(env=env, logs=tmp_path / "before")
    request.addfinalizer(before.stop)
    before.start()

    # requests down each path: emailed, emailed after SEED, rejected, cancelled, still submitted
    emailed = submit(before, email_invitation("jane.tan@tech.gov.sg"))
    seeded = submit(before, SEED_VENDOR)
    rejected = submit(before, email_invitation("ken.ong@tech.gov.sg"))
    cancelled = submit(before, email_invitation("lee.wu@tech.gov.sg"))
    waiting = submit(before, email_invitation("mei.goh@tech.gov.sg"))
    decide(before, emailed, "approve", {"comment": "Welcome aboard"})
    decide(before, seeded, "approve", {})
    decide(before, rejected, "reject", {"reason": "Not on the team"})
    decide(before, cancelled, "cancel", {})
    for invite_id, state in ((emailed, "emailed"), (seeded, "emailed"), (rejected, "rejected"),
                             (cancelled, "cancelled"), (waiting, "submitted")):
        before.wait_for_state(invite_id, state)
    requests = (emailed, seeded, rejected, cancelled, waiting)
    intake_admin = source.url("intake", "postgres")
    wait_for(lambda: rows(intake_admin, "SELECT count(*) FROM history_entry WHERE chain_seq IS NULL") == [(0,)]
             and rows(intake_admin, "SELECT count(*) FROM chain_head") != [(0,)], timeout=30,
             what="the history chained and a head signed")
    was = {invite_id: seen(before, invite_id) for invite_id in requests}
    listed = before.call("GET", "/api/v1/invites", AUDITOR).json()["items"]

    # a public key that did not sign the chain is refused, so a wrong escrow copy shows at once
    wrong_key = command([str(BACKUP), "backup", str(tmp_path / "wrong"), "--public-key", str(signing_keys["other"])],
                        source.env(), tmp_path)
    assert wrong_key.returncode == 2 and "did not sign the chain's last head" in wrong_key.stderr
    assert not (tmp_path / "wrong" / "manifest.json").exists()

    # the backup is taken while the services run
    backup_dir = tmp_path / "backup"
    made = command([str(BACKUP), "backup", str(backup_dir), "--public-key", str(signing_keys["public"])],
                   source.env(), tmp_path)
    assert made.returncode == 0, made.stderr
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["audit"]["last_head"]["key_id"] == manifest["audit"]["public_key_id"]
    assert set(manifest["databases"]) == set(SERVICES)
    sent = deliveries(source.url("notifier", "postgres"))
    # the two invitations, and the requester's word of the rejection
    assert {emailed, seeded, rejected} == {r[0] for r in sent} and {r[5] for r in sent} == {"sent"}
    mail_before = recipients(mailbox)
    before.stop()

    # into fresh databases, with roles of other names
    target = database_sets()
    assert target.create().returncode == 0
    refused = command([str(BACKUP), "restore", str(backup_dir), "--signing-key", str(signing_keys["other"])],
                      target.env(), tmp_path)
    assert refused.returncode == 2
    assert manifest["audit"]["last_head"]["key_id"] in refused.stderr and "escrowed key" in refused.stderr
    assert rows(target.url("intake", "postgres"), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]

    restored = command([str(BACKUP), "restore", str(backup_dir), "--signing-key", str(signing_keys["escrowed"])],
                       target.env(), tmp_path)
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    # every message published around the backup goes out again: the consumers must drop them
    assert all(report["databases"][s]["republished"] > 0 for s in SERVICES), report
    replayed = sum(report["databases"][s]["republished"] for s in SERVICES)
    for service in SERVICES:
        owners = rows(target.url(service, "postgres"), "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
        assert owners == [(target.migration_role(service),)]

    # the chain verifies with the escrowed key, and not with another
    check = {"INTAKE_DB_URL": target.runtime_url("intake")}
    verified = command(["-m", "intake", "audit", "verify"], check | {"AUDIT_SIGNING_KEY": str(signing_keys["escrowed"])}, tmp_path)
    assert verified.returncode == 0 and verified.stdout.startswith("intact"), verified.stdout + verified.stderr
    wrong = command(["-m", "intake", "audit", "verify"], check | {"AUDIT_SIGNING_KEY": str(signing_keys["other"])}, tmp_path)
    assert wrong.returncode == 1 and "NOT intact" in wrong.stdout

    # the services start on the restored databases, as their runtime roles
    (tmp_path / "after").mkdir()
    after = RunningSystem(env=env | {f"{s.upper()}_DB_URL": target.runtime_url(s) for s in SERVICES}, logs=tmp_path / "after")
    request.addfinalizer(after.stop)
    after.start()
    # the system was at rest when it was backed up: every replayed message had been handled
    wait_for(lambda: duplicates_dropped(after) == replayed, timeout=30, what=f"{replayed} replays dropped as duplicates")
    fresh = submit(after, email_invitation("nia.koh@tech.gov.sg"))
    decide(after, fresh, "approve", {})
    after.wait_for_state(fresh, "emailed")
    wait_for(lambda: all(rows(target.url(s, "postgres"), "SELECT count(*) FROM outbox_message WHERE published_at IS NULL")
                         == [(0,)] for s in SERVICES), timeout=20, what="every outbox published")

    for invite_id in requests:
        assert seen(after, invite_id) == was[invite_id]
    assert [i for i in after.call("GET", "/api/v1/invites", AUDITOR).json()["items"] if i["id"] != fresh] == listed
    assert [r for r in deliveries(target.url("notifier", "postgres")) if r[0] != fresh] == sent
    # the replayed messages sent nobody a second email
    assert recipients(mailbox) == mail_before + Counter({"nia.koh@tech.gov.sg": 1})
    again = command(["-m", "intake", "audit", "verify"], check | {"AUDIT_SIGNING_KEY": str(signing_keys["escrowed"])}, tmp_path)
    assert again.returncode == 0, again.stdout
