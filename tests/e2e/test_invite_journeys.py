"""An invite's journey across intake, approval and notifier, as separate processes over real RabbitMQ."""
import contextlib
import json
import re
import sqlite3
import threading

from tests.support.broker import wait_for
from tests.support.mailbox import html_of, text_of
import pytest

pytestmark = pytest.mark.both_databases("the whole pipeline runs on the production database too")

REQUESTER = "amy@tech.gov.sg"
APPROVER = "bob@tech.gov.sg"
AUDITOR = "carol@tech.gov.sg"


def submit(system, body, user=REQUESTER):
    response = system.call("POST", "/api/v1/invites", user, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def email_invitation(email="jane.tan@tech.gov.sg", seed=False):
    return {"method": "email_invitation", "email": email, "seed_onboarding": seed, "reason": "Joining the platform team"}


def test_approved_email_invitation_sends_exactly_one_invitation_and_ends_emailed(system, mailbox):
    invite = submit(system, email_invitation())
    assert invite["state"] == "submitted"
    queue = system.call("GET", "/api/v1/approvals", APPROVER).json()["items"]
    assert [i["id"] for i in queue] == [invite["id"]]

    response = system.call("POST", f"/api/v1/invites/{invite['id']}/approve", APPROVER, json={"comment": "Welcome aboard"})
    assert response.status_code == 202

    final = system.wait_for_state(invite["id"], "emailed")
    wait_for(lambda: mailbox.to("jane.tan@tech.gov.sg"), what="the invitation")
    messages = mailbox.to("jane.tan@tech.gov.sg")
    assert len(messages) == 1
    message = messages[0]
    assert message["Subject"] == "You're invited to TechPass: activate your account"
    assert "jane.tan" in text_of(message)  # the TechPass username derived from the email
    assert REQUESTER in text_of(message)
    assert "jane.tan" in html_of(message)
    assert "SEED" not in message["Subject"]

    events = [(h["event"], h["to_state"]) for h in final["history"]]
    assert events == [
        ("submit", "submitted"),
        ("approve", "approved"),
        ("provision", "account_created"),
        ("mark_emailed", "emailed"),
    ]
    approve = next(h for h in final["history"] if h["event"] == "approve")
    assert approve["actor"] == APPROVER and approve["note"] == "Welcome aboard"
    assert system.call("GET", "/api/v1/approvals", APPROVER).json()["items"] == []
    # a late duplicate email would show here: there must still be exactly one
    assert len(mailbox.to("jane.tan@tech.gov.sg")) == 1


def test_create_account_with_seed_emails_the_enrolment_code_after_seed_requested(system, mailbox):
    body = {
        "method": "create_account",
        "email": "vic.lim@vendor.example.com",
        "user_type": "vendor",
        "username": "v-vic.lim",
        "first_name": "Vic",
        "last_name": "Lim",
        "contact_number": "+65 9123 4567",
        "organisation": "Example Pte Ltd",
        "seed_onboarding": True,
        "reason": "Builds the payments service",
    }
    invite = submit(system, body)
    assert system.call("POST", f"/api/v1/invites/{invite['id']}/approve", APPROVER, json={}).status_code == 202

    final = system.wait_for_state(invite["id"], "emailed")
    states = [h["to_state"] for h in final["history"] if h["to_state"]]
    assert states == ["submitted", "approved", "account_created", "seed_requested", "emailed"]
    seed_entry = next(h for h in final["history"] if h["to_state"] == "seed_requested")
    assert "seed_expires_at" in seed_entry["details"]

    wait_for(lambda: mailbox.to("vic.lim@vendor.example.com"), what="the SEED invitation")
    [message] = mailbox.to("vic.lim@vendor.example.com")
    assert "SEED" in message["Subject"]
    code = re.search(r"SEED-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", text_of(message))
    assert code, text_of(message)
    assert code.group(0) in html_of(message)
    assert "Vic" in text_of(message) and "v-vic.lim" in text_of(message)


def test_rejection_sends_the_requester_a_notice_with_the_reason(system, mailbox):
    invite = submit(system, email_invitation("ken.ong@tech.gov.sg"))
    response = system.call("POST", f"/api/v1/invites/{invite['id']}/reject", APPROVER, json={"reason": "Already has an account"})
    assert response.status_code == 202

    final = system.wait_for_state(invite["id"], "rejected")
    wait_for(lambda: mailbox.to(REQUESTER), what="the rejection notice")
    [notice] = mailbox.to(REQUESTER)
    assert "ken.ong@tech.gov.sg" in notice["Subject"] and "rejected" in notice["Subject"]
    assert "Already has an account" in text_of(notice)
    assert mailbox.to("ken.ong@tech.gov.sg") == []
    reject = next(h for h in final["history"] if h["event"] == "reject")
    assert reject["actor"] == APPROVER and reject["note"] == "Already has an account"


def test_a_rejection_with_a_1000_character_reason_reaches_the_requester_whole(system, mailbox):
    # the mailbox refuses lines over 998 bytes with 500, as standards-keeping relays do; this reason
    # is 2,000 bytes without a space in its Chinese half
    reason = ("该项目已经结束，供应商的合同没有续签。" * 27)[:500] + (" The project has ended." * 22)[:500]
    assert len(reason) == 1000
    invite = submit(system, email_invitation("ken.ong@tech.gov.sg"))
    response = system.call("POST", f"/api/v1/invites/{invite['id']}/reject", APPROVER, json={"reason": reason})
    assert response.status_code == 202

    system.wait_for_state(invite["id"], "rejected")
    wait_for(lambda: mailbox.to(REQUESTER), what="the rejection notice")
    [notice] = mailbox.to(REQUESTER)
    assert " ".join(reason.split()) in " ".join(text_of(notice).split())
    assert reason.strip() in html_of(notice)


def test_reject_without_a_reason_is_refused_with_the_field(system):
    invite = submit(system, email_invitation("lee@tech.gov.sg"))
    response = system.call("POST", f"/api/v1/invites/{invite['id']}/reject", APPROVER, json={})
    assert response.status_code == 422
    assert "reason" in response.json()["errors"]


def test_requester_approving_their_own_request_gets_403_and_nothing_changes(system, mailbox):
    invite = submit(system, email_invitation("may@tech.gov.sg"), user=APPROVER)
    response = system.call("POST", f"/api/v1/invites/{invite['id']}/approve", APPROVER, json={})
    assert response.status_code == 403
    after = system.invite(invite["id"], AUDITOR)
    assert after["state"] == "submitted" and after["pending_decision"] is None
    assert [h["event"] for h in after["history"]] == ["submit"]
    # and another approver can still decide on it
    assert system.call("POST", f"/api/v1/invites/{invite['id']}/approve", "dana@tech.gov.sg", json={}).status_code == 202
    system.wait_for_state(invite["id"], "emailed")


def test_two_concurrent_decisions_exactly_one_is_accepted(system, mailbox):
    invite = submit(system, email_invitation("raj@tech.gov.sg"))
    statuses, barrier = [], threading.Barrier(2)

    def decide(user, path, body):
        barrier.wait()
        statuses.append(system.call("POST", f"/api/v1/invites/{invite['id']}/{path}", user, json=body).status_code)

    threads = [
        threading.Thread(target=decide, args=(APPROVER, "approve", {})),
        threading.Thread(target=decide, args=("dana@tech.gov.sg", "reject", {"reason": "duplicate"})),
    ]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(statuses) == [202, 409]
    wait_for(lambda: system.invite(invite["id"], AUDITOR)["state"] in ("emailed", "rejected"), what="the one decision")
    decided = [h for h in system.invite(invite["id"], AUDITOR)["history"] if h["event"] in ("approve", "reject")]
    assert len(decided) == 1


def test_open_request_for_the_same_email_is_refused_with_409(system):
    first = submit(system, email_invitation("sam@tech.gov.sg"))
    response = system.call("POST", "/api/v1/invites", REQUESTER, json=email_invitation("SAM@Tech.Gov.SG"))
    assert response.status_code == 409
    assert response.json()["existing_id"] == first["id"]


def test_resending_an_emailed_invitation_sends_it_again_once(system, mailbox):
    invite = submit(system, email_invitation("tess@tech.gov.sg"))
    system.call("POST", f"/api/v1/invites/{invite['id']}/approve", APPROVER, json={})
    system.wait_for_state(invite["id"], "emailed")
    wait_for(lambda: mailbox.to("tess@tech.gov.sg"), what="the first invitation")

    assert system.call("POST", f"/api/v1/invites/{invite['id']}/resend", REQUESTER).status_code == 202
    wait_for(lambda: len(mailbox.to("tess@tech.gov.sg")) == 2, what="the resent invitation")
    first, second = mailbox.to("tess@tech.gov.sg")
    assert first["Subject"] == second["Subject"]
    assert first["Message-ID"] != second["Message-ID"]  # a new send, not a duplicate of the first
    assert system.call("POST", f"/api/v1/invites/{invite['id']}/resend", REQUESTER).status_code == 409
    assert system.invite(invite["id"], AUDITOR)["state"] == "emailed"


def approval_rows(system, sql, *args):
    """Rows of approval's own SQLite database, read as its service wrote them."""
    path = system.env["APPROVAL_DB_URL"].removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        return db.execute(sql, args).fetchall()


def test_a_requester_told_the_invitation_is_out_gets_one_notice_and_no_resend_enters_the_history(notifying_system, mailbox):
    system = notifying_system
    invite = submit(system, email_invitation("lin@tech.gov.sg"))
    assert system.call("POST", f"/api/v1/invites/{invite['id']}/approve", APPROVER, json={}).status_code == 202
    system.wait_for_state(invite["id"], "emailed")
    wait_for(lambda: mailbox.to(REQUESTER), what="the notice that the invitation is out")
    # approval has taken in both deliveries, the invitation's and the notice's; whatever it
    # announced about the request is then in its outbox
    wait_for(lambda: approval_rows(system, "SELECT COUNT(*) FROM handled_message WHERE consumer = ?",
                                   "approval.email-outcomes") == [(2,)], what="approval to record both deliveries")
    announced = [json.loads(body)["payload"] for (body,) in approval_rows(
        system, "SELECT body FROM outbox_message WHERE correlation_id = ? AND message_type = ?",
        invite["id"], "invite.state_changed")]
    moves = sum(1 + len(event.get("then", [])) for event in announced)
    final = wait_for(lambda: (i := system.invite(invite["id"], AUDITOR)) and len(i["history"]) == 1 + moves and i,
                     what="the history to hold every move approval announced")

    assert [h["event"] for h in final["history"]] == ["submit", "approve", "provision", "mark_emailed"]
    assert len(mailbox.to("lin@tech.gov.sg")) == 1
    [notice] = mailbox.to(REQUESTER)
    assert "lin@tech.gov.sg" in text_of(notice)
    verified = wait_for(lambda: (r := system.call("GET", "/api/v1/audit/verify", AUDITOR).json())["unlinked"] == 0 and r,
                        what="the linker to chain every entry")
    assert verified["intact"] is True
