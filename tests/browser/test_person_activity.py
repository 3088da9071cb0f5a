"""The auditors' page of everything one person did, in Chromium at 1280 and 390 px: an auditor finds a
person from the audit search, sees the role they were given, the request they asked for and the
decision they made in time order, and follows a decision to its request's timeline."""
import uuid

from tests.browser.pages import Page, expect, submit_by_api
from tests.browser.screens import NARROW, WIDE, shoot
from tests.browser.test_admin_roles import roles_command
from tests.browser.test_audit_pages import REQUESTER, sign_in_as_auditor


def officer(email: str, reason: str) -> dict:
    return {"method": "email_invitation", "email": email, "seed_onboarding": False, "reason": reason}


def test_an_auditor_sees_everything_one_person_did_in_time_order(page: Page, browser_system):
    tag = uuid.uuid4().hex[:6]
    pat = f"pat.{tag}@tech.gov.sg"
    roles_command(browser_system, "grant", "approver", pat)
    own = submit_by_api(browser_system, pat, officer(f"lee.{tag}@tech.gov.sg", "Joining the data team"))
    theirs = submit_by_api(browser_system, REQUESTER, officer(f"jo.{tag}@tech.gov.sg", "Analyst"))
    approved = browser_system.call("POST", f"/api/v1/invites/{theirs}/approve", pat, json={"comment": "Welcome"})
    assert approved.status_code == 202, approved.text
    browser_system.wait_for_state(theirs, "emailed")
    try:
        sign_in_as_auditor(page)
        page.get_by_role("link", name="Everything one person did").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Everything one person did")
        page.get_by_label("Person's email").fill(pat.upper())
        page.get_by_role("button", name="Show what they did").click()
        expect(page.locator("#roles-now")).to_have_text("Roles now: Approver.")
        rows = page.get_by_role("region").get_by_role("row")
        # the heading row, then the grant, the request and the decision, oldest first
        expect(rows).to_have_count(4)
        expect(page.locator("td[data-label=As]")).to_have_text(["Role holder", "Requester", "Approver"])
        expect(page.locator("td[data-label='What happened']")).to_have_text(
            ["Role granted by ops@tech.gov.sg", f"Request submitted by {pat}", f"Approved by {pat}"])
        for width in (WIDE, NARROW):
            page.set_viewport_size({"width": width, "height": 900})
            shoot(page, f"audit-person-{width}")
        page.set_viewport_size({"width": WIDE, "height": 900})
        page.get_by_role("link", name=f"Request for jo.{tag}@tech.gov.sg").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Timeline of the request for jo.{tag}@tech.gov.sg")
        # and back from the timeline's approver to the person's page
        page.get_by_role("link", name=pat).first.click()
        expect(page.locator("#roles-now")).to_have_text("Roles now: Approver.")
    finally:
        browser_system.call("POST", f"/api/v1/invites/{own}/cancel", pat)
