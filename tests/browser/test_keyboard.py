"""The portal can be used with the keyboard alone."""
from tests.browser.pages import expect


def test_skip_link_and_sign_in_form_work_with_tab_and_enter_alone(page):
    page.goto("/sign-in")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()

    email = page.get_by_label("Email address", exact=True)
    for _ in range(12):  # past the sample users' buttons to the email field
        page.keyboard.press("Tab")
        if email.evaluate("field => field === document.activeElement"):
            break
    expect(email).to_be_focused()
    page.keyboard.type("lim.jia.hui@tech.gov.sg")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.get_by_text("Signed in as lim.jia.hui@tech.gov.sg")).to_be_visible()
