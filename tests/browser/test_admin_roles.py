"""The administrator's Roles page in Chromium at 1280 and 390 px: a grant shows who the person is (or
that nobody has seen them) before it is made, an address outside the organisation is refused on the
field, a revocation asks first, the result banner takes focus at the top, and with ROLE_GRANTS set the
page offers no change a restart would undo. Also the not-found page's links for an auditor and a
signed-out visitor.

Intake runs alone as a process (development sign-in), once with ROLE_GRANTS empty and once with it set,
and once asking a SCIM directory (scim2-server, in this process) who people are.
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


def _intake(tmp_path_factory, amqp_url, browser_namespace, browser_mailbox, role_grants: str, **extra: str):
    root = tmp_path_factory.mktemp("roles-system")
    env = system_env(amqp_url=amqp_url, namespace=browser_namespace, db_urls={s: f"sqlite:///{root / (s + '.db')}" for s in
                     ("intake", "approval", "notifier")}, smtp_url=browser_mailbox.url, var_dir=root / "var",
                     ROLE_GRANTS=role_grants,
                     # every test signs in as ada afresh, more often than a person would in a minute
                     RATE_LIMIT_SIGN_IN="60/minute;1000/hour", **extra)
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
    page.get_by_role("radio", name="Approver", exact=True).check()
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
        expect(main.get_by_role("link")).to_have_text(["Audit history", "Role changes", "Stand-ins", "Integrity"])
        expect(main.get_by_text("your overview")).to_have_count(0)
        shoot(page, f"not-found-auditor-{width}")
        page.get_by_role("button", name="Sign out").click()
        page.goto("/no-such-page")
        expect(page.get_by_role("main").get_by_role("link")).to_have_text(["Sign in"])
        shoot(page, f"not-found-signed-out-{width}")
    finally:
        context.close()


# people intake has seen: invitees of a request each, whose names the email field's suggestions show
SEEN = (("wen.seah@tech.gov.sg", "Wen", "Seah", "GovTech"), ("wen.sim@tech.gov.sg", "Wen", "Sim", "CPF Board"),
        ("wendy.sng@tech.gov.sg", "Wendy", "Sng", "MOH"))


@pytest.fixture(scope="module")
def people_seen(managed_here):
    for email, first, last, organisation in SEEN:
        response = managed_here.call("POST", "/api/v1/invites", "nurul.huda@tech.gov.sg", json={
            "method": "create_account", "email": email, "user_type": "public_officer", "first_name": first,
            "last_name": last, "contact_number": "+65 9123 4567", "organisation": organisation,
            "department": "Platforms", "seed_onboarding": False, "reason": "Joins the platform team"})
        assert response.status_code == 201, response.text
    return SEEN


def test_a_person_is_found_by_name_and_granted_a_role_with_the_keyboard_alone(admin_page: Page, width, people_seen):
    page = admin_page
    # each width grants a different Wen S.: the second of the two found at 390 px
    email, first, last, organisation = people_seen[0] if width == WIDE else people_seen[1]
    field = page.get_by_role("combobox", name="Email address")
    expect(field).to_have_attribute("aria-expanded", "false")
    field.focus()
    page.keyboard.type("wen s", delay=30)
    found = page.get_by_role("listbox", name="People found")
    expect(found.get_by_role("option")).to_have_count(2)  # Wendy Sng's full name does not start so
    expect(field).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".suggest [role=status]")).to_have_text("2 people found. Use the up and down arrows to choose.")
    for _ in range(1 if width == WIDE else 2):
        page.keyboard.press("ArrowDown")
    chosen = found.get_by_role("option", selected=True)
    expect(chosen).to_contain_text(f"{first} {last}")
    expect(chosen).to_contain_text(organisation)
    expect(field).to_have_attribute("aria-activedescendant", chosen.get_attribute("id"))
    expect(field).to_be_focused()
    found.scroll_into_view_if_needed()
    shoot(page, f"admin-roles-people-found-{width}", full_page=False)
    page.keyboard.press("Enter")
    expect(field).to_have_value(email)
    expect(found).to_be_hidden()
    expect(field).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("heading", level=1)).to_have_text("Roles")  # choosing sent nothing
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio", name="Approver", exact=True)).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Continue")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Grant the approver role to {first} {last}?")
    expect(page.get_by_text(organisation, exact=True)).to_be_visible()
    shoot(page, f"admin-roles-grant-found-person-{width}")
    grant = page.get_by_role("button", name="Grant role")
    for _ in range(30):  # through the page's links to the button, as a keyboard user goes
        if grant.evaluate("button => button === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(grant).to_be_focused()
    page.keyboard.press("Enter")
    expect_result_banner_in_view(page, f"{email} is now an approver.")
    expect(page.get_by_role("row").filter(has_text=email)).to_have_count(1)


def test_escape_closes_the_people_found_and_the_field_still_takes_any_address(admin_page: Page, width, people_seen):
    page = admin_page
    field = page.get_by_role("combobox", name="Email address")
    field.focus()
    page.keyboard.type("wendy", delay=30)
    expect(page.get_by_role("option")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(field).to_have_attribute("aria-expanded", "false")
    expect(field).to_have_value("wendy")
    page.keyboard.type(".sng.2@tech.gov.sg", delay=10)
    expect(page.locator(".suggest [role=status]")).to_have_text("No people found.")
    page.keyboard.press("Enter")  # nothing chosen: Enter sends the form as it always did
    expect(page.get_by_role("alert")).to_contain_text("Choose the role to grant.")
    expect(page.get_by_label("Email address", exact=True)).to_have_value("wendy.sng.2@tech.gov.sg")


def test_the_roles_page_with_people_found_or_a_bad_address_has_no_wcag_a_or_aa_violations(browser, managed_here, people_seen):
    from tests.browser.test_accessibility import AXE, violations

    if not AXE.is_file():
        pytest.skip("axe-core is not installed in tests/browser/axe: run `make setup`")
    # bypassing the Content-Security-Policy only so that axe-core's script can be added
    context = browser.new_context(base_url=managed_here.base, bypass_csp=True, **CONTEXT_OPTIONS)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, ADMIN)
        page.goto("/admin/roles")
        page.get_by_role("combobox", name="Email address").press_sequentially("wen")
        expect(page.get_by_role("option")).to_have_count(3)
        page.keyboard.press("ArrowDown")
        expect(page.get_by_role("option", selected=True)).to_have_count(1)
        found = violations(page, "Roles page with people found")
        page.keyboard.press("Escape")
        page.get_by_role("combobox", name="Email address").fill("not an address")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
        found += violations(page, "Roles page refusing a bad address")
        assert not found, "\n".join(found)
    finally:
        context.close()


# people with an account in the directory, whom intake has never seen
IN_DIRECTORY = (("siti.rahman@tech.gov.sg", "srahman", "Siti", "Rahman", "GovTech"),
                ("siti.rahmat@tech.gov.sg", "srahmat", "Siti", "Rahmat", "Land Transport Authority"))


@pytest.fixture(scope="module")
def with_directory(tmp_path_factory, amqp_url, browser_namespace, browser_mailbox):
    """Intake whose roles are managed on the Roles page and whose people are found in the directory."""
    from tests.support.scim import ScimServer

    directory = ScimServer().start()
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    for email, username, given, family, organisation in IN_DIRECTORY:
        directory.add_user({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", enterprise],
                            "userName": username, "emails": [{"value": email, "primary": True}],
                            "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
                            enterprise: {"organization": organisation}})
    running = _intake(tmp_path_factory, amqp_url, browser_namespace, browser_mailbox, "",
                      DIRECTORY_URL=directory.url, DIRECTORY_TOKEN=directory.token)
    roles_command(running, "grant", "admin", ADMIN)
    try:
        running.start("intake")
        yield running
    finally:
        running.stop()
        directory.stop()


def test_a_person_found_in_the_directory_is_granted_a_role_as_the_directory_names_them(browser, with_directory, width):
    context, page = page_on(browser, with_directory, width)
    email, _, given, family, organisation = IN_DIRECTORY[0] if width == WIDE else IN_DIRECTORY[1]
    try:
        sign_in(page, ADMIN)
        page.goto("/admin/roles")
        field = page.get_by_role("combobox", name="Email address")
        field.focus()
        page.keyboard.type("rahma", delay=30)  # the start of their family name
        found = page.get_by_role("listbox", name="People found")
        expect(found.get_by_role("option")).to_have_count(2)
        for _ in range(1 if width == WIDE else 2):
            page.keyboard.press("ArrowDown")
        expect(found.get_by_role("option", selected=True)).to_contain_text(f"{given} {family}{email}{organisation}")
        found.scroll_into_view_if_needed()
        shoot(page, f"admin-roles-directory-people-found-{width}", full_page=False)
        page.keyboard.press("Enter")
        expect(field).to_have_value(email)
        page.keyboard.press("Tab")
        page.keyboard.press("Space")  # the first role, Approver
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Grant the approver role to {given} {family}?")
        expect(page.get_by_text(organisation, exact=True)).to_be_visible()
        expect(page.get_by_text("Has an account in the directory")).to_be_visible()
        shoot(page, f"admin-roles-grant-directory-person-{width}")
        page.get_by_role("button", name="Grant role").press("Enter")
        expect_result_banner_in_view(page, f"{email} is now an approver.")
    finally:
        context.close()
