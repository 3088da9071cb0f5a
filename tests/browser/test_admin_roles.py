"""The administrator's Roles page in Chromium at 1280 and 390 px: a grant shows who the person is (or
that nobody has seen them) before it is made, an address outside the organisation is refused on the
field, a revocation asks first, the result banner takes focus at the top, and with ROLE_GRANTS set the
page offers no change a restart would undo. Also the not-found page's links for an auditor and a
signed-out visitor.

Intake runs alone as a process (development sign-in), once with ROLE_GRANTS empty and once with it set.
"""
from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from tests.browser.pages import Page, expect, field_error, sign_in
from tests.browser.screens import NARROW, WIDE, shoot
from tests.support.chromium import ACTION_TIMEOUT_MS, CONTEXT_OPTIONS
from tests.support.system import RunningSystem, system_env

ADMIN = "ada@tech.gov.sg"
AUDITOR = "carol@tech.gov.sg"


def roles_command(running: RunningSystem, *args: str) -> None:
    """Change the role table from a shell, as an operator would (`python -m intake roles ...`)."""
    env = dict(running.env, LOG_LEVEL="WARNING", ROLE_GRANTS="")
    done = subprocess.run([sys.executable, "-m", "intake", "roles", *args, "--operator", "ops@tech.gov.sg"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _intake(tmp_path_factory, amqp_url, browser_namespace, browser_mailbox, role_grants: str):
    root = tmp_path_factory.mktemp("roles-system")
    env = system_env(amqp_url=amqp_url, namespace=browser_namespace, db_urls={s: f"sqlite:///{root / (s + '.db')}" for s in
                     ("intake", "approval", "notifier")}, smtp_url=browser_mailbox.url, var_dir=root / "var",
                     ROLE_GRANTS=role_grants)
    return RunningSystem(env=env, logs=root)


@pytest.fixture(scope="module")
def managed_here(tmp_path_factory, amqp_url, browser_namespace, browser_mailbox):
    """Intake whose roles are managed on the Roles page: ada administers, carol audits."""
    running = _intake(tmp_path_factory, amqp_url, browser_namespace, browser_mailbox, "")
    roles_command(running, "grant", "admin", ADMIN)
    roles_command(running, "grant", "auditor", AUDITOR)
    try:
        running.start("intake")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def set_by_configuration(tmp_path_factory, amqp_url, browser_namespace, browser_mailbox):
    """Intake whose ROLE_GRANTS lists every role, and one grant an operator made since it started."""
    running = _intake(tmp_path_factory, amqp_url, browser_namespace, browser_mailbox,
                      f"admin:{ADMIN},approver:bob@tech.gov.sg,auditor:{AUDITOR}")
    try:
        running.start("intake")
        roles_command(running, "grant", "auditor", "eve@tech.gov.sg")
        yield running
    finally:
        running.stop()


@pytest.fixture(params=[WIDE, NARROW], ids=["1280", "390"])
def width(request) -> int:
    return request.param


def page_on(browser, running: RunningSystem, width: int):
    context = browser.new_context(base_url=running.base, **{**CONTEXT_OPTIONS, "viewport": {"width": width, "height": 900 if width == WIDE else 844}})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context, context.new_page()


@pytest.fixture
def admin_page(browser, managed_here, width):
    context, page = page_on(browser, managed_here, width)
    sign_in(page, ADMIN)
    page.goto("/admin/roles")
    expect(page.get_by_role("heading", level=1)).to_have_text("Roles")
    yield page
    context.close()


def expect_result_banner_in_view(page: Page, text: str) -> None:
    """The banner saying what happened is at the top, has focus, and can be read without scrolling."""
    banner = page.locator("[data-banner]")
    expect(banner).to_be_focused()
    expect(banner).to_contain_text(text)
    expect(banner).to_be_in_viewport()


def test_granting_a_role_to_someone_never_seen_asks_first_then_says_done_at_the_top(admin_page: Page, width):
    page = admin_page
    email = f"new.{uuid.uuid4().hex[:6]}@tech.gov.sg"
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_role("radio", name="Auditor").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grant anyway?")
    expect(page.get_by_role("alert")).to_contain_text("We have never seen this person")
    expect(page.get_by_role("alert")).to_be_focused()
    shoot(page, f"admin-roles-grant-unknown-{width}")
    page.get_by_role("button", name="Grant anyway").click()
    expect_result_banner_in_view(page, f"{email} is now an auditor.")
    shoot(page, f"admin-roles-granted-{width}", full_page=False)
    expect(page.get_by_role("row").filter(has_text=email)).to_have_count(1)


def test_an_approver_outside_the_organisation_is_refused_on_the_field(admin_page: Page, width):
    page = admin_page
    page.get_by_label("Email address", exact=True).fill("someone@vendor.example.com")
    page.get_by_role("radio", name="Approver").check()
    page.get_by_role("button", name="Continue").click()
    expect(field_error(page, "Email address")).to_contain_text(
        "Only public officers can be approvers, and someone@vendor.example.com is not an address ending in gov.sg")
    expect(page.get_by_role("heading", level=1)).to_have_text("Roles")
    shoot(page, f"admin-roles-outside-refused-{width}")
    expect(page.get_by_role("row").filter(has_text="someone@vendor.example.com")).to_have_count(0)


def test_an_external_auditor_is_granted_after_a_warning(admin_page: Page, width):
    page = admin_page
    email = f"audit.{uuid.uuid4().hex[:6]}@firm.example.com"
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_role("radio", name="Auditor").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text(f"{email} is not a public officer's address")
    shoot(page, f"admin-roles-grant-external-{width}")
    page.get_by_role("button", name="Grant anyway").click()
    expect_result_banner_in_view(page, f"{email} is now an auditor.")


def test_revoking_asks_are_you_sure_naming_the_person_and_role(admin_page: Page, width, managed_here):
    page = admin_page
    email = f"gone.{uuid.uuid4().hex[:6]}@tech.gov.sg"
    roles_command(managed_here, "grant", "approver", email)
    page.reload()
    page.get_by_role("button", name=f"Revoke approver from {email}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Are you sure you want to revoke the approver role from {email}?")
    shoot(page, f"admin-roles-revoke-confirm-{width}")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("row").filter(has_text=email)).to_have_count(1)
    page.get_by_role("button", name=f"Revoke approver from {email}").click()
    page.get_by_role("button", name="Yes, revoke the role").click()
    expect_result_banner_in_view(page, f"{email} is no longer an approver.")
    shoot(page, f"admin-roles-revoked-{width}", full_page=False)
    expect(page.get_by_role("row").filter(has_text=email)).to_have_count(0)


def test_with_role_grants_set_only_changes_that_last_are_offered(browser, set_by_configuration, width):
    context, page = page_on(browser, set_by_configuration, width)
    try:
        sign_in(page, ADMIN)
        page.goto("/admin/roles")
        expect(page.get_by_text("change ROLE_GRANTS")).to_be_visible()
        expect(page.get_by_role("heading", name="Grant a role")).to_have_count(0)
        expect(page.get_by_text("Set by ROLE_GRANTS", exact=True)).to_have_count(3)
        # the grant made since start goes at the next start: revoking it lasts, so it is offered
        expect(page.get_by_role("button", name="Revoke")).to_have_count(1)
        expect(page.get_by_role("button", name="Revoke auditor from eve@tech.gov.sg")).to_be_visible()
        expect(page.get_by_text("Removed at restart", exact=True)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shoot(page, f"admin-roles-set-by-configuration-{width}")
    finally:
        context.close()


def test_an_auditors_not_found_page_links_to_the_audit_pages(browser, managed_here, width):
    context, page = page_on(browser, managed_here, width)
    try:
        page.goto("/sign-in")
        page.get_by_label("Email address", exact=True).fill(AUDITOR)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_text(f"Signed in as {AUDITOR}")).to_be_visible()
        response = page.goto("/no-such-page")
        assert response.status == 404
        main = page.get_by_role("main")
        expect(main.get_by_role("link")).to_have_text(["Audit history", "Integrity"])
        expect(main.get_by_text("your overview")).to_have_count(0)
        shoot(page, f"not-found-auditor-{width}")
        page.get_by_role("button", name="Sign out").click()
        page.goto("/no-such-page")
        expect(page.get_by_role("main").get_by_role("link")).to_have_text(["Sign in"])
        shoot(page, f"not-found-signed-out-{width}")
    finally:
        context.close()
