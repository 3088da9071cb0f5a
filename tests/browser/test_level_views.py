"""Approval levels in the browser, under a two-level policy (an agency level, then a security level for offshore
vendors): who will decide on the check page and on each row of a batch review, the level a request waits in
on the approver's queue and the requester's status page, and each level's decision in the auditor's timeline;
every one of those pages at 1280 px and 390 px, free of axe-core's WCAG A and AA violations."""
from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.pages import Page, expect, filled_in, reload_until, request_id_from_url, sign_in
from tests.browser.people import ADMIN, APPROVER, AUDITOR, SECOND_APPROVER
from tests.browser.screens import NARROW, WIDE, shoot
from tests.browser.test_accessibility import AXE, violations
from tests.support.chromium import ACTION_TIMEOUT_MS, CONTEXT_OPTIONS
from tests.support.mailbox import Mailbox
from tests.support.policies import LEVELS, OFFSHORE_VENDORS
from tests.support.system import RETRY_DELAYS, SERVICES, RunningSystem, system_env

SECURITY_APPROVER = "sam@tech.gov.sg"
POLICY = LEVELS + OFFSHORE_VENDORS
HEADINGS = ["email", "user_type", "username", "first_name", "last_name", "contact_number", "organisation",
            "seed_onboarding", "offshore", "reason"]


@pytest.fixture(scope="module")
def views_mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def views_system(tmp_path_factory, amqp_url, views_mailbox):
    """The services with the two-level policy and a security approver in the role table."""
    from invite_common.topology import Topology
    from tests.support.broker import delete_namespace

    root = tmp_path_factory.mktemp("levels-system")
    (root / "policy.toml").write_text(POLICY)
    namespace = f"l{uuid.uuid4().hex[:10]}"
    env = system_env(
        amqp_url=amqp_url, namespace=namespace, db_urls={s: f"sqlite:///{root / (s + '.db')}" for s in SERVICES},
        smtp_url=views_mailbox.url, var_dir=root / "var",
        ROLE_GRANTS=(f"approver:{APPROVER},approver:{SECOND_APPROVER},auditor:{AUDITOR},admin:{ADMIN},"
                     f"security_approver:{SECURITY_APPROVER}"),
        APPROVER_DIGEST_MINUTES="0", APPROVAL_POLICY=str(root / "policy.toml"),
    )
    system = RunningSystem(env=env, logs=root)
    try:
        system.start()
        yield system
    finally:
        system.stop()
        delete_namespace(amqp_url, Topology(namespace=namespace, retry_delays=RETRY_DELAYS))


@pytest.fixture
def levels_page(browser, views_system):
    """A fresh page on the levels system; its context lets axe-core in past the Content-Security-Policy."""
    context = browser.new_context(base_url=views_system.base, bypass_csp=True, **CONTEXT_OPTIONS)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    yield context.new_page()
    context.close()


def shown_and_checked(page: Page, name: str) -> None:
    """Shoot the page at 1280 px and 390 px, and check it with axe-core at both widths."""
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"{name}-{width}")
    page.set_viewport_size({"width": WIDE, "height": 900})
    if AXE.is_file():
        found = violations(page, name)
        assert not found, "\n".join(found)


def offshore_vendor_form(page: Page, email: str, username: str) -> None:
    page.goto("/invite/account")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_role("group", name="Is this person a public officer or a vendor?").get_by_label("Vendor").check()
    page.get_by_label("TechPass username").fill(username)
    page.get_by_label("Offshore: works from outside Singapore").check()
    page.get_by_label("First name").fill("Farah")
    page.get_by_label("Last name").fill("Lim")
    page.get_by_label("Contact number").fill("9123 4567")
    page.get_by_label("Organisation", exact=True).fill("Example Pte Ltd")
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("Yes", exact=True).check()
    page.get_by_label("Reason for the request").fill("Offshore support engineer")
    page.get_by_role("button", name="Continue").click()


def decider(page: Page, level: str):
    return page.locator("[data-check-section=deciders] .summary-list__row").filter(
        has=page.get_by_text(level)).locator(".summary-list__value")


def test_a_request_shows_its_levels_from_the_check_page_through_the_queue_to_the_auditors_timeline(
        levels_page: Page, views_system, browser):
    page = levels_page
    tag = uuid.uuid4().hex[:6]
    invitee = f"farah.{tag}@vendor.example.com"
    sign_in(page, f"lina.{tag}@tech.gov.sg")
    offshore_vendor_form(page, invitee, f"v-farah.{tag}")

    expect(page.get_by_role("heading", name="Who will decide")).to_be_visible()
    expect(decider(page, "Agency approval")).to_have_text(f"Any of: {APPROVER}, {SECOND_APPROVER}")
    expect(decider(page, "Security approval")).to_have_text(f"Any of: {SECURITY_APPROVER}")
    shown_and_checked(page, "levels-check-answers")

    page.get_by_role("button", name="Submit request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request for {invitee}")
    invite_id = request_id_from_url(page)
    expect(page.locator("[data-waiting-level] dd")).to_contain_text("Waiting for Agency approval since")
    expect(page.get_by_role("list", name="Levels of approval")).to_have_text(
        re.compile(r"Agency approval: waiting now\s+Security approval: to come"))
    shown_and_checked(page, "levels-status-waiting")

    # the agency approver's queue marks the level; bob approves it there
    queue = browser.new_context(base_url=views_system.base, bypass_csp=True, **CONTEXT_OPTIONS).new_page()
    sign_in(queue, APPROVER)
    queue.goto("/approvals")
    row = queue.get_by_role("row").filter(has=queue.get_by_role("link", name=invitee, exact=True))
    expect(row).to_contain_text("Waits in: Agency approval")
    shown_and_checked(queue, "levels-queue-agency")
    response = views_system.call("POST", f"/api/v1/invites/{invite_id}/approve", APPROVER, json={"comment": "Known to us"})
    assert response.status_code == 202, response.text

    reload_until(page, page.locator("[data-level-state=waiting]"), "Security approval: waiting now")
    expect(page.get_by_role("list", name="Levels of approval")).to_contain_text(f"Agency approval: approved by {APPROVER}")
    expect(page.locator("[data-waiting-level] dd")).to_contain_text("Waiting for Security approval since")
    shown_and_checked(page, "levels-status-second-level")

    security = browser.new_context(base_url=views_system.base, bypass_csp=True, **CONTEXT_OPTIONS).new_page()
    sign_in(security, SECURITY_APPROVER)
    security.goto("/approvals")
    expect(security.get_by_role("row").filter(has=security.get_by_role("link", name=invitee, exact=True))).to_contain_text(
        "Waits in: Security approval")
    shown_and_checked(security, "levels-queue-security")
    response = views_system.call("POST", f"/api/v1/invites/{invite_id}/approve", SECURITY_APPROVER, json={"comment": "Fine"})
    assert response.status_code == 202, response.text

    auditor = browser.new_context(base_url=views_system.base, bypass_csp=True, **CONTEXT_OPTIONS).new_page()
    auditor.goto("/sign-in")  # an auditor lands on the audit history, not the overview
    auditor.get_by_label("Email address", exact=True).fill(AUDITOR)
    auditor.get_by_role("button", name="Sign in", exact=True).click()
    expect(auditor.get_by_role("heading", level=1)).to_have_text("Audit history")
    auditor.goto(f"/audit/requests/{invite_id}")
    titles = auditor.locator(".timeline__title")
    reload_until(auditor, titles.filter(has_text="Security approval approved"),
                 f"Security approval approved by {SECURITY_APPROVER}")
    expect(titles.filter(has_text="Agency approval approved")).to_have_text(f"Agency approval approved by {APPROVER}")
    shown_and_checked(auditor, "levels-audit-timeline")
    for other in (queue, security, auditor):
        other.context.close()


def test_each_row_of_a_batch_review_shows_its_levels_and_who_decides(levels_page: Page):
    page = levels_page
    tag = uuid.uuid4().hex[:6]
    sign_in(page, f"batch.{tag}@tech.gov.sg")
    rows = [
        {"email": f"wei.{tag}@vendor.example.com", "user_type": "vendor", "username": f"v-wei.{tag}", "first_name": "Wei",
         "last_name": "Chen", "contact_number": "9123 4567", "organisation": "Example Pte Ltd", "seed_onboarding": "yes",
         "offshore": "yes", "reason": "Offshore support engineer"},
        {"email": f"hana.{tag}@tech.gov.sg", "user_type": "public_officer", "first_name": "Hana", "last_name": "Yeo",
         "contact_number": "9123 4568", "organisation": "GovTech", "seed_onboarding": "no", "offshore": "no",
         "reason": "Joining the platform team"},
    ]
    page.goto("/invite/batch")
    page.get_by_label("Choose a file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": filled_in(HEADINGS, rows)})
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your batch")

    cells = page.locator("[data-levels]")
    expect(cells.nth(0).locator(".levels-route")).to_have_text("Agency approval → Security approval")
    expect(cells.nth(1).locator(".levels-route")).to_have_text("Agency approval")
    cells.nth(0).get_by_text("Who decides").click()
    expect(cells.nth(0).locator("[data-level=security]")).to_have_text(f"Security approval: Any of: {SECURITY_APPROVER}")
    shown_and_checked(page, "levels-batch-review")
