"""On a phone-sized screen the header stays short and the navigation folds into a Menu, with or without JavaScript;
on a wide screen the navigation is always shown. The requester's lists become cards that start with the state."""
import pytest

from tests.support.chromium import ACTION_TIMEOUT_MS
from tests.browser.pages import Page, expect, sign_in, submit_by_api
from tests.browser.screens import shoot, shoot_both

PHONE = {"width": 390, "height": 844}
# Where the page's heading may start at most: the masthead, a one-row header and the account line.
HEADING_TOP_AT_MOST = 200


def heading_top(page: Page) -> float:
    return page.get_by_role("heading", level=1).bounding_box()["y"]


def nav_links(page: Page):
    return page.get_by_role("navigation", name="Invite Users").get_by_role("link")


def test_the_menu_opens_and_closes_the_navigation_on_a_phone(page: Page):
    page.set_viewport_size(PHONE)
    sign_in(page, "menu.user@tech.gov.sg")

    assert heading_top(page) <= HEADING_TOP_AT_MOST, heading_top(page)
    expect(nav_links(page).first).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    shoot_both(page, "narrow-menu-closed")

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav_links(page)).to_have_count(3)
    expect(page.get_by_role("link", name="Invite status")).to_be_visible()
    expect(nav_links(page).first).to_be_focused()
    shoot(page, "narrow-menu-open-390")  # a phone's view only: a wide screen has no menu to open

    page.keyboard.press("Escape")
    expect(menu).to_be_focused()
    expect(nav_links(page).first).to_be_hidden()

    menu.click()
    page.get_by_role("link", name="Invite status").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite status")

    # on a wide screen the navigation is always there, and there is no menu to open
    page.set_viewport_size({"width": 1280, "height": 900})
    for link in nav_links(page).all():
        expect(link).to_be_visible()
    expect(menu).to_be_hidden()


@pytest.fixture
def page_without_javascript(browser, browser_system):
    ctx = browser.new_context(base_url=browser_system.base, viewport=PHONE, locale="en-SG", timezone_id="Asia/Singapore",
                              java_script_enabled=False)
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    yield ctx.new_page()
    ctx.close()


def test_without_javascript_the_menu_link_shows_the_navigation(page_without_javascript: Page):
    page = page_without_javascript
    sign_in(page, "no.script@tech.gov.sg")
    expect(nav_links(page).first).to_be_hidden()

    page.get_by_role("link", name="Menu").click()
    expect(page.get_by_role("link", name="Invite status")).to_be_visible()
    nav_links(page).filter(has_text="Invite users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite users")


def test_on_a_phone_the_requesters_lists_are_cards_led_by_the_techpass_state(page: Page, browser_system):
    requester = "card.reader@tech.gov.sg"
    for name in ("first.card", "second.card"):
        submit_by_api(browser_system, requester, {"method": "email_invitation", "email": f"{name}@tech.gov.sg",
                                                  "seed_onboarding": False, "reason": "Joining the platform team"})
    page.set_viewport_size(PHONE)
    sign_in(page, requester)

    for where, table in (("overview", page.locator("#recent-heading ~ .table-wrap table")),
                         ("invite-status", None)):
        if where == "invite-status":
            page.goto("/status")
            table = page.get_by_role("table", name="Your requests, newest first")
        card = table.get_by_role("row").filter(has=page.get_by_role("link", name="first.card@tech.gov.sg"))
        state = card.get_by_text("Waiting for approval", exact=True)
        email = card.get_by_role("link", name="first.card@tech.gov.sg")
        state.scroll_into_view_if_needed()
        expect(state).to_be_in_viewport(ratio=1)  # the whole tag, not cut off at the screen's edge
        state_box, email_box = state.bounding_box(), email.bounding_box()
        # the whole state is on the screen, above the address, and nothing scrolls sideways
        assert state_box["x"] >= 0 and state_box["x"] + state_box["width"] <= PHONE["width"], state_box
        assert state_box["y"] < email_box["y"], (state_box, email_box)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shoot_both(page, f"narrow-{where}-cards", in_view="table")

    # on a wide screen the same list is a table again, its columns in their order
    page.set_viewport_size({"width": 1280, "height": 900})
    headers = [h.strip() for h in page.get_by_role("columnheader").all_inner_texts()]
    # (Invite status starts with the column of boxes that tick requests to cancel, named for screen readers)
    assert [h for h in headers if h != "Select to cancel"] == ["Email", "Method", "TechPass state", "SEED", "Created"]
