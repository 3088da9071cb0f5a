"""Signing in through a real OpenID Connect provider in Chromium: the provider's own login page, the
roles its claim carries, signing out there too, and the old cookie worth nothing afterwards.

Intake runs as a process in oidc mode (ENV=test) against oidc-provider (tests/support/oidc.py); the
provider's login page takes any password for its test users.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import requests

from tests.support.chromium import VIEWPORT
from tests.browser.pages import Page, expect
from tests.support.oidc import OpenIDProvider, skip_unless_available
from tests.support.system import RunningSystem, system_env

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOTS = DOCS if os.environ.get("SCREENSHOTS") == "update" else Path(tempfile.mkdtemp(prefix="screenshots-"))
NARROW = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def oidc_intake(tmp_path_factory, amqp_url, browser_namespace, browser_mailbox):
    """Intake alone, in oidc mode, and the provider it trusts; ROLE_GRANTS grants the usual approvers."""
    skip_unless_available()
    root = tmp_path_factory.mktemp("oidc-system")
    env = system_env(amqp_url=amqp_url, namespace=browser_namespace, db_urls={s: f"sqlite:///{root / (s + '.db')}" for s in
                     ("intake", "approval", "notifier")}, smtp_url=browser_mailbox.url, var_dir=root / "var", ENV="test")
    base = f"http://{env['INTAKE_BIND']}"
    provider = OpenIDProvider(root, f"{base}/sign-in/callback", f"{base}/sign-in").start()
    env.update(provider.settings())
    running = RunningSystem(env=env, logs=root)
    try:
        running.start("intake")
        yield running, provider
    finally:
        running.stop()
        provider.stop()


@pytest.fixture
def oidc_page(browser, oidc_intake):
    running, _ = oidc_intake
    context = browser.new_context(base_url=running.base, viewport=VIEWPORT, locale="en-SG", timezone_id="Asia/Singapore")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def sign_in_at_the_provider(page: Page, email: str) -> None:
    """From the portal's sign-in page, through the provider's own login form, back to the overview."""
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Invite Users")
    page.get_by_role("button", name="Sign in with your organisation account").click()
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill("any password will do")
    page.get_by_role("button", name="Sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()


def session_cookie(page: Page) -> dict:
    [cookie] = [c for c in page.context.cookies() if c["name"] == "session"]
    return cookie


def test_a_person_signs_in_at_the_provider_and_out_again_and_the_old_cookie_is_dead(oidc_page, oidc_intake, browser):
    running, provider = oidc_intake
    page = oidc_page
    page.goto("/status")
    assert page.url.endswith("/sign-in?next=/status")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sign-in-sso.png"), full_page=True, animations="disabled", caret="hide")

    sign_in_at_the_provider(page, "ada@tech.gov.sg")
    cookie = session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    # ada's admin role comes from the provider's roles claim: the table does not grant it
    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Roles").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Roles")
    expect(page.get_by_role("table")).to_contain_text("bob@tech.gov.sg")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()  # the provider's own sign-out page
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Invite Users")

    replay = browser.new_context(base_url=running.base)
    try:
        replay.add_cookies([cookie])
        again = replay.new_page()
        again.goto("/admin/roles")
        assert "/sign-in" in again.url
    finally:
        replay.close()
    stale = requests.get(f"{running.base}/admin/roles", cookies={"session": cookie["value"]}, allow_redirects=False, timeout=10)
    assert stale.status_code == 302 and stale.headers["Location"].startswith("/sign-in")

    # signed out at the provider too: signing in again asks for the login once more
    page.get_by_role("button", name="Sign in with your organisation account").click()
    expect(page.locator("input[name=login]")).to_be_visible()


def test_roles_follow_the_providers_claim(oidc_page):
    sign_in_at_the_provider(oidc_page, "bob@tech.gov.sg")
    nav = oidc_page.get_by_role("navigation", name="Invite Users")
    expect(nav.get_by_role("link", name="Invite status")).to_be_visible()
    expect(nav.get_by_role("link", name="Roles")).to_have_count(0)
    response = oidc_page.goto("/admin/roles")
    assert response.status == 403


def test_screenshots_of_the_roles_page(oidc_page):
    page = oidc_page
    sign_in_at_the_provider(page, "ada@tech.gov.sg")
    page.goto("/admin/roles")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("admin-roles", VIEWPORT), ("admin-roles-narrow", NARROW)):
        page.set_viewport_size(viewport)
        page.mouse.move(0, 0)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, animations="disabled", caret="hide")
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 0
    # on the narrow screen nothing is wider than it; ROLE_GRANTS sets every row, so none offers a revocation
    # a restart would undo, and each says where it comes from within reach without scrolling sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    expect(page.get_by_role("button", name="Revoke")).to_have_count(0)
    marks = page.get_by_text("Set by ROLE_GRANTS", exact=True)
    expect(marks).to_have_count(3)
    for i in range(marks.count()):
        box = marks.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"]
