"""Over a rate limit the portal answers with a page of its own, readable at 1280 px and at 390 px."""
import os
import tempfile
from pathlib import Path

from tests.browser.pages import expect

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOTS = DOCS if os.environ.get("SCREENSHOTS") == "update" else Path(tempfile.mkdtemp(prefix="screenshots-"))


def test_too_many_sign_in_attempts_show_a_page_saying_to_wait(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto("/sign-in")
    for _ in range(10):  # the default limit for one email from one address is 10 a minute
        page.get_by_label("Email address", exact=True).fill("not.an.officer@example.com")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("heading", level=1)).not_to_have_text("Please wait a moment")
    page.get_by_label("Email address", exact=True).fill("not.an.officer@example.com")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert answer.value.status == 429 and int(answer.value.headers["retry-after"]) >= 1
    expect(page.get_by_role("heading", level=1)).to_have_text("Please wait a moment")
    expect(page.get_by_text("Nothing more was sent")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "too-many-attempts.png"), full_page=True, animations="disabled")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCREENSHOTS / "too-many-attempts-390.png"), full_page=True, animations="disabled")
