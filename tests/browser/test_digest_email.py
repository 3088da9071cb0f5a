"""The approvers' digest as a mail program shows it: its HTML part rendered in Chromium at 1280 px
and 390 px, with each line a link (saved as digest-email.png and digest-email-390.png)."""
from tests.browser.screens import NARROW, SCREENSHOTS, WIDE
from tests.notifier.test_rendering import QUEUE, approver_digest
from notifier.rendering import render


def test_the_digests_html_shows_batches_and_requesters_as_links_at_both_widths(browser):
    email = render("approver_digest", approver_digest())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content(email.html)
        links = page.get_by_role("link")
        assert links.get_by_text("Batch of 27 from amy@tech.gov.sg").get_attribute("href") == f"{QUEUE}?batch=b1"
        assert page.get_by_role("link", name="jane.tan@tech.gov.sg").get_attribute("href") == f"{QUEUE}/r1"
        assert page.get_by_role("link", name="see them all in the queue").get_attribute("href") == QUEUE
        for width, name in ((WIDE, "digest-email"), (NARROW, "digest-email-390")):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
            # nothing spills past the phone's width
            assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
