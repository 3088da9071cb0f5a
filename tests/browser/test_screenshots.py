"""Screenshots of the portal's main pages for the README.

Every run renders and saves them (so a page that breaks fails here); they replace the ones in
docs/screenshots/ only with SCREENSHOTS=update, so an ordinary test run leaves the tree clean.

The sample requester amy@tech.gov.sg has requests that were sent, rejected and are waiting, so the
pages show what a requester normally sees. File names are stable.
"""
from tests.browser.pages import approve, expect, filled_in, reject, sign_in, submit_by_api
from tests.browser.screens import NARROW, SCREENSHOTS, UPDATING, WIDE, shoot

NAMES = (
    "sign-in", "overview", "invite-users", "email-invitation-error", "create-account", "batch-review",
    "invite-status", "request-detail",
)
REQUESTER = "amy@tech.gov.sg"

VENDOR = {
    "method": "create_account", "email": "vic.lim@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim",
    "first_name": "Vic", "last_name": "Lim", "contact_number": "+65 9123 4567", "organisation": "Example Pte Ltd",
    "department": "Payments", "seed_onboarding": True, "reason": "Builds the payments service for the next release",
}

BATCH_HEADINGS = [
    "email", "user_type", "username", "first_name", "last_name", "contact_number", "organisation", "department",
    "seed_onboarding", "offshore", "reason",
]
# A duplicate, a bad contact number and a vendor without a username: the review shows each beside its cell.
BATCH_ROWS = [
    {"email": "aisha.rahman@tech.gov.sg", "user_type": "public_officer", "first_name": "Aisha", "last_name": "Rahman",
     "contact_number": "9123 4567", "organisation": "GovTech", "department": "Platform", "seed_onboarding": "no",
     "offshore": "no", "reason": "Joining the platform team"},
    {"email": "daniel.koh@vendor.example.com", "user_type": "vendor", "username": "daniel.koh", "first_name": "Daniel",
     "last_name": "Koh", "contact_number": "12345", "organisation": "Example Pte Ltd", "seed_onboarding": "yes",
     "offshore": "no", "reason": "Builds the booking service"},
    {"email": "aisha.rahman@tech.gov.sg", "user_type": "public_officer", "first_name": "Aisha", "last_name": "Rahman",
     "contact_number": "9123 4567", "organisation": "GovTech", "seed_onboarding": "no", "offshore": "no",
     "reason": "Joining the platform team"},
    {"email": "li.na@vendor.example.com", "user_type": "vendor", "first_name": "Li", "last_name": "Na",
     "contact_number": "+86 139 1234 5678", "organisation": "Example Pte Ltd", "seed_onboarding": "yes",
     "offshore": "yes", "reason": "Offshore support engineer"},
]


def officer(email: str, reason: str, seed: bool = False) -> dict:
    return {"method": "email_invitation", "email": email, "seed_onboarding": seed, "reason": reason}


def requests_in_several_states(browser_system) -> str:
    """Give the sample requester requests that were sent, rejected and are waiting; return the vendor's id."""
    emailed = submit_by_api(browser_system, REQUESTER, officer("jane.tan@tech.gov.sg", "Joining the platform team"))
    vendor = submit_by_api(browser_system, REQUESTER, VENDOR)
    rejected = submit_by_api(browser_system, REQUESTER, officer("ken.ong@tech.gov.sg", "Needs access to the build servers"))
    approve(browser_system, emailed, "Welcome aboard")
    approve(browser_system, vendor, "Approved for the payments project")
    reject(browser_system, rejected, "Already has a TechPass account")
    submit_by_api(browser_system, REQUESTER, officer("mei.ling.ng@tech.gov.sg", "Data analyst for the transport project", seed=True))
    for invite_id, state in ((emailed, "emailed"), (vendor, "emailed"), (rejected, "rejected")):
        browser_system.wait_for_state(invite_id, state)
    return vendor


def shoot_wide_and_narrow(page, name: str) -> None:
    """The page at 1280 px as <name>.png, and when refreshing them, at 390 px as <name>-390.png."""
    for width, shot in ((WIDE, name), (NARROW, f"{name}-390"))[:2 if UPDATING else 1]:
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, shot)
    page.set_viewport_size({"width": WIDE, "height": 900})


def test_screenshots_of_the_main_pages(page, browser_system):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    vendor = requests_in_several_states(browser_system)

    page.goto("/sign-in")
    shoot_wide_and_narrow(page, "sign-in")

    sign_in(page, REQUESTER)
    expect(page.get_by_role("table")).to_contain_text("mei.ling.ng@tech.gov.sg")
    shoot_wide_and_narrow(page, "overview")

    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Invite users").click()
    shoot_wide_and_narrow(page, "invite-users")

    page.get_by_role("link", name="Email invitation").click()
    page.get_by_label("Email address", exact=True).fill("jane.tan@example.com")
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("No", exact=True).check()
    page.get_by_label("Reason for the request").fill("Joining the platform team")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    shoot_wide_and_narrow(page, "email-invitation-error")

    page.goto("/invite/account")
    page.get_by_role("group", name="Is this person a public officer or a vendor?").get_by_label("Vendor").check()
    shoot_wide_and_narrow(page, "create-account")

    page.goto("/invite/batch")
    page.get_by_label("Choose a file").set_input_files(
        {"name": "platform-team.csv", "mimeType": "text/csv", "buffer": filled_in(BATCH_HEADINGS, BATCH_ROWS)}
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your batch")
    shoot_wide_and_narrow(page, "batch-review")

    page.goto("/status")
    shoot_wide_and_narrow(page, "invite-status")

    page.goto(f"/status/{vendor}")
    expect(page.get_by_role("list", name="History")).to_contain_text("Invitation emailed")
    shoot_wide_and_narrow(page, "request-detail")

    for name in NAMES:
        for shot in (f"{name}.png", f"{name}-390.png")[:2 if UPDATING else 1]:
            assert (SCREENSHOTS / shot).stat().st_size > 0, shot
