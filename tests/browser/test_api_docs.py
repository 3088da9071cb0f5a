"""The interactive API docs work in a real browser under the portal's content policy."""
from tests.browser.pages import expect


def test_the_api_docs_render_with_no_content_policy_violation(page):
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto("/api/docs")
    expect(page.get_by_text("/api/v1/invites", exact=True).first).to_be_visible()
    assert refused == []
