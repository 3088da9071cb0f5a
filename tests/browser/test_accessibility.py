"""Every portal page passes axe-core's WCAG 2.0 and 2.1 level A and AA rules, as each role that may open
it sees it, at 1280 px and at 390 px.

The pages come from the route matrix (tests/intake/test_route_matrix.py): every GET route outside the
API that answers with a page, for every caller its line lets in, so a page added with its line is
checked here too. They are opened with something on them: requests sent, rejected and waiting, a batch
whose rows need attention, role grants and an audit timeline. Forms are checked again with the errors a
bad submission shows, and so are the pages that refuse or find nothing.

axe-core comes from npm, pinned in tests/browser/axe (installed by `make setup`), and is injected into
each page; the contexts bypass the portal's Content-Security-Policy only so that it can run.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.browser.pages import Page, approve, filled_in, reject, submit_by_api
from tests.browser.people import ADMIN, APPROVER, AUDITOR
from tests.browser.screens import NARROW, WIDE
from tests.intake.test_route_matrix import allowed, table
from tests.support.chromium import ACTION_TIMEOUT_MS, CONTEXT_OPTIONS

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

REQUESTER = "nurul.huda@tech.gov.sg"
# The route matrix's callers as people of the browser tests' system. Someone with no role cannot sign
# in to the portal (the sign-in page refuses them, checked below), so in a browser they are anonymous.
PEOPLE = {"anonymous": None, "requester": REQUESTER, "approver": APPROVER, "auditor": AUDITOR, "admin": ADMIN}

# GET routes outside the API that are not pages: probes, the hand-overs to the identity provider
# (without single sign-on they send the browser to the sign-in page, checked on its own), and JSON.
NOT_PAGES = {"/healthz", "/readyz", "/sign-in/start", "/sign-in/callback",
             "/admin/people"}  # the Roles page's people search answers JSON
# a route ending in a file's extension is a download (template.csv, export.<fmt>)
DOWNLOAD = re.compile(r"\.(\w+|<[^>]+>)$")


def is_page(method: str, rule: str) -> bool:
    return (method == "GET" and not rule.startswith(("/api/", "/static/"))
            and rule not in NOT_PAGES and not DOWNLOAD.search(rule))


PORTAL_PAGES = sorted((rule, who) for (method, rule), who in table().items() if is_page(method, rule))
CASES = [(rule, caller) for rule, who in PORTAL_PAGES for caller in PEOPLE if allowed(who, caller)]

VENDOR = {
    "method": "create_account", "email": "farah.lim@vendor.example.com", "user_type": "vendor",
    "username": "v-farah.lim", "first_name": "Farah", "last_name": "Lim", "contact_number": "+65 9123 4567",
    "organisation": "Example Pte Ltd", "department": "Payments", "seed_onboarding": True,
    "reason": "Builds the payments service",
}
BATCH_HEADINGS = ["email", "user_type", "username", "first_name", "last_name", "contact_number", "organisation",
                  "seed_onboarding", "offshore", "reason"]


def batch_rows(tag: str) -> list[dict]:
    """A good row, a vendor without a username, and a bad contact number."""
    return [
        {"email": f"hana.{tag}@tech.gov.sg", "user_type": "public_officer", "first_name": "Hana", "last_name": "Yeo",
         "contact_number": "9123 4567", "organisation": "GovTech", "seed_onboarding": "no", "offshore": "no",
         "reason": "Joining the platform team"},
        {"email": f"ravi.{tag}@vendor.example.com", "user_type": "vendor", "first_name": "Ravi", "last_name": "Nair",
         "contact_number": "+65 8123 4567", "organisation": "Example Pte Ltd", "seed_onboarding": "yes",
         "offshore": "no", "reason": "Builds the booking service"},
        {"email": f"wei.{tag}@vendor.example.com", "user_type": "vendor", "username": f"wei.{tag}",
         "first_name": "Wei", "last_name": "Chen", "contact_number": "12345", "organisation": "Example Pte Ltd",
         "seed_onboarding": "no", "offshore": "yes", "reason": "Offshore support engineer"},
    ]


def officer(email: str, reason: str) -> dict:
    return {"method": "email_invitation", "email": email, "seed_onboarding": False, "reason": reason}


@dataclass
class Sample:
    """What the pages show: each requester's own waiting request and batch draft, and requests for the
    approver and auditor to open."""

    own: dict[str, dict[str, str]] = field(default_factory=dict)
    to_approve: str = ""
    audited: str = ""
    rejected: str = ""
    to_cancel: str = ""
    to_decide_in_bulk: str = ""
    role_change: str = ""  # a role grant's history entry, for the auditors' page of one role change
    waiting: list[tuple[str, str]] = field(default_factory=list)  # (requester, id), cancelled afterwards

    def values_for(self, rule: str, caller: str) -> dict[str, str]:
        if rule.startswith(("/approvals/", "/admin/requests/")):
            return {"invite_id": self.to_approve}
        if rule.startswith("/audit/roles/"):
            return {"entry_id": self.role_change}
        if rule.startswith("/audit/"):
            return {"invite_id": self.audited}
        return self.own.get(caller, {})

    def query_for(self, rule: str, caller: str) -> str:
        """The query a page needs to show something: the cancellations' confirmation names the requests,
        the auditors' person page a person (the approver: decisions, their own requests and a role)."""
        if rule == "/status/cancellations":
            return f"?ids={self.own[caller]['invite_id']}"
        if rule == "/audit/people":
            return f"?person={APPROVER}"
        return ""


def upload_batch(system, requester: str, tag: str) -> dict[str, str]:
    """A batch draft of the requester's with rows that need attention; its id and a row to fix."""
    body = filled_in(BATCH_HEADINGS, batch_rows(tag))
    response = requests.post(f"{system.base}/api/v1/batches", headers={"X-Dev-User": requester}, timeout=10,
                             files={"file": (f"team-{tag}.csv", body, "text/csv")})
    assert response.status_code == 201, response.text
    draft = response.json()
    to_fix = next(row["row"] for row in draft["rows"] if row["errors"])
    return {"batch_id": draft["id"], "row": str(to_fix)}


@pytest.fixture(scope="module")
def portal_sample(browser_system):
    found = Sample()
    for caller in ("requester", "approver", "admin"):
        person = PEOPLE[caller]
        tag = person.split("@")[0].replace(".", "-")
        waiting = submit_by_api(browser_system, person, officer(f"sam.{tag}@tech.gov.sg", "Joining the data team"))
        found.waiting.append((person, waiting))
        found.own[caller] = {"invite_id": waiting, **upload_batch(browser_system, person, tag)}
    found.to_approve = found.own["requester"]["invite_id"]
    # one for each state that decides or cancels, so no other page loses what it shows
    found.to_cancel = submit_by_api(browser_system, REQUESTER, officer("lee.to-cancel@tech.gov.sg", "Joining the data team"))
    found.to_decide_in_bulk = submit_by_api(browser_system, REQUESTER, officer("ong.in-bulk@tech.gov.sg", "Joining the data team"))
    found.waiting += [(REQUESTER, found.to_cancel), (REQUESTER, found.to_decide_in_bulk)]
    found.audited = submit_by_api(browser_system, REQUESTER, VENDOR)
    found.rejected = submit_by_api(browser_system, REQUESTER, officer("tan.kl@tech.gov.sg", "Needs the build servers"))
    approve(browser_system, found.audited, "Approved for the payments project")
    reject(browser_system, found.rejected, "Already has a TechPass account")
    browser_system.wait_for_state(found.audited, "emailed")  # a timeline from submission to the email
    browser_system.wait_for_state(found.rejected, "rejected")
    changes = browser_system.call("GET", "/api/v1/audit/role-changes?limit=1", PEOPLE["auditor"])
    assert changes.status_code == 200, changes.text
    found.role_change = str(changes.json()["items"][0]["id"])
    # a stand-in to come, for the stand-in page's table and the auditors' stand-ins (it starts after the tests)
    named = browser_system.call("POST", "/api/v1/delegations", APPROVER, json={
        "stand_in": "sam.stand-in@tech.gov.sg", "starts_at": "2099-01-05T01:00:00Z", "ends_at": "2099-01-09T10:00:00Z"})
    assert named.status_code == 201, named.text
    yield found
    browser_system.call("POST", f"/api/v1/delegations/{named.json()['id']}/end", APPROVER)
    # the approvers' queue is left as it was found, for the tests that read it
    for person, invite_id in found.waiting:
        browser_system.call("POST", f"/api/v1/invites/{invite_id}/cancel", person)


@pytest.fixture(scope="module", autouse=True)
def axe_script() -> Path:
    """axe-core's script, or a skip saying how to install it (before the system is started for nothing)."""
    if not AXE.is_file():
        why = "axe-core is not installed in tests/browser/axe: run `make setup` (it runs npm ci there)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the accessibility tests: {why}")
        pytest.skip(why)
    return AXE


@pytest.fixture(scope="module")
def page_as(browser, browser_system, axe_script) -> Callable[[str], Page]:
    """One signed-in page per caller, opened when first asked for and kept for the module."""
    opened: dict[str, Page] = {}
    contexts = []

    def page_for(caller: str) -> Page:
        if caller not in opened:
            context = browser.new_context(base_url=browser_system.base, bypass_csp=True, **CONTEXT_OPTIONS)
            context.set_default_timeout(ACTION_TIMEOUT_MS)
            contexts.append(context)
            found = context.new_page()
            if PEOPLE[caller]:
                found.goto("/sign-in")
                found.locator("input#email").fill(PEOPLE[caller])  # by id: a broken label is reported, not tripped on
                found.get_by_role("button", name="Sign in", exact=True).click()
                found.wait_for_url(lambda url: urlsplit(url).path != "/sign-in")
            opened[caller] = found
        return opened[caller]

    yield page_for
    for context in contexts:
        context.close()


def violations(page: Page, where: str) -> list[str]:
    """axe-core's WCAG A and AA violations on the page as it is, at each width, one line each."""
    found = []
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            WCAG_TAGS,
        )
        for rule in result["violations"]:
            targets = "; ".join(" ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
                                for node in rule["nodes"])
            found.append(f"{where} at {width} px: {rule['id']} ({rule['impact']}) {rule['help']}\n"
                         f"    on: {targets}\n    see: {rule['helpUrl']}")
    page.set_viewport_size({"width": WIDE, "height": 900})
    return found


def fill_rule(rule: str, values: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        assert name in values, f"no sample {name} for {rule}: give one in Sample.values_for"
        return values[name]

    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", value, rule)


@pytest.mark.parametrize(("rule", "caller"), CASES, ids=[f"{rule} as {caller}" for rule, caller in CASES])
def test_portal_page_has_no_wcag_a_or_aa_violations(rule, caller, page_as, portal_sample):
    page = page_as(caller)
    path = fill_rule(rule, portal_sample.values_for(rule, caller))
    response = page.goto(path + portal_sample.query_for(rule, caller))
    assert response is not None and response.ok, f"GET {path} as {caller}: {response and response.status}"
    assert response.headers.get("content-type", "").startswith("text/html"), (
        f"GET {path} is not a page ({response.headers.get('content-type')}): list it in NOT_PAGES")
    assert urlsplit(page.url).path == path, f"GET {path} as {caller} ended at {page.url}"
    found = violations(page, f"{path} as {caller}")
    if found:
        pytest.fail("\n".join(found), pytrace=False)


# --- the pages as they are after something went wrong ----------------------------------------------

def refused_sign_in(page: Page, sample: Sample) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address", exact=True).fill("walk.in@example.com")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def email_invitation_with_errors(page: Page, sample: Sample) -> None:
    page.goto("/invite/email")
    page.get_by_label("Email address", exact=True).fill("not an address")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def account_request_with_errors(page: Page, sample: Sample) -> None:
    page.goto("/invite/account")
    page.get_by_role("group", name="Is this person a public officer or a vendor?").get_by_label("Vendor").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def email_invitation_to_check(page: Page, sample: Sample) -> None:
    page.goto("/invite/email")
    page.get_by_label("Email address", exact=True).fill("check.answers@tech.gov.sg")
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("No", exact=True).check()
    page.get_by_label("Reason for the request").fill("Joining the platform team")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Submit request").wait_for()


def account_request_to_check(page: Page, sample: Sample) -> None:
    page.goto("/invite/account")
    page.get_by_label("Email address", exact=True).fill("check.answers@vendor.example.com")
    page.get_by_role("group", name="Is this person a public officer or a vendor?").get_by_label("Vendor").check()
    page.get_by_label("TechPass username").fill("v-check.answers")
    page.get_by_label("First name").fill("Farah")
    page.get_by_label("Last name").fill("Lim")
    page.get_by_label("Contact number").fill("9123 4567")
    page.get_by_label("Organisation", exact=True).fill("Example Pte Ltd")
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("Yes", exact=True).check()
    page.get_by_label("Reason for the request").fill("Builds the payments service")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Submit request").wait_for()


def upload_without_a_file(page: Page, sample: Sample) -> None:
    page.goto("/invite/batch")
    page.get_by_role("button", name="Upload and check").click()
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def rows_that_need_attention(page: Page, sample: Sample) -> None:
    page.goto(f"/invite/batch/{sample.own['requester']['batch_id']}?attention=1")


def rejected_request(page: Page, sample: Sample) -> None:
    page.goto(f"/status/{sample.rejected}")


def vendor_request(page: Page, sample: Sample) -> None:
    page.goto(f"/status/{sample.audited}")


def request_not_found(page: Page, sample: Sample) -> None:
    assert page.goto("/status/no-such-request").status == 404


def page_refused(page: Page, sample: Sample) -> None:
    assert page.goto("/approvals").status == 403


def rejecting_without_a_reason(page: Page, sample: Sample) -> None:
    page.goto(f"/approvals/{sample.to_approve}")
    page.get_by_role("button", name="Reject").click()
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def nothing_selected_to_decide(page: Page, sample: Sample) -> None:
    page.goto("/approvals?clear=yes")  # the whole queue, not the filters an earlier state left remembered
    page.get_by_role("button", name="Reject selected").click()
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def approvals_filter_with_a_bad_number(page: Page, sample: Sample) -> None:
    page.goto("/approvals?older_than=soon")
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def bulk_decision_sent(page: Page, sample: Sample) -> None:
    page.goto("/approvals?email=ong.in-bulk@tech.gov.sg")
    page.get_by_label("Select the request for ong.in-bulk@tech.gov.sg").check()
    page.get_by_role("button", name="Approve selected").click()
    page.get_by_role("heading", level=1, name="Approve 1 selected request?").wait_for()
    page.get_by_role("button", name="Yes, approve this request").click()
    page.get_by_role("heading", level=1, name="Approvals sent").wait_for()


def bulk_decision_to_confirm(page: Page, sample: Sample) -> None:
    page.goto("/approvals?clear=yes")
    page.get_by_role("checkbox").first.check()
    page.get_by_role("button", name="Approve selected").click()
    page.get_by_role("heading", level=1, name=re.compile(r"^Approve \d+ selected requests?\?$")).wait_for()  # not confirmed


def cancellation_sent(page: Page, sample: Sample) -> None:
    page.goto(f"/status/{sample.to_cancel}/cancel")
    page.get_by_role("button", name="Yes, cancel this request").click()
    page.get_by_role("alert").filter(has_text="Done").wait_for()


def menu_opened_on_a_narrow_screen(page: Page, sample: Sample) -> None:
    page.set_viewport_size({"width": NARROW, "height": 900})
    page.goto("/")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Invite users").wait_for()
    page.get_by_role("button", name="Menu").hover()  # where the pointer is after a click


def header_under_the_pointer(page: Page, sample: Sample) -> None:
    page.goto("/")
    page.locator(".header__product").hover()


def audit_search_with_a_bad_date(page: Page, sample: Sample) -> None:
    page.goto("/audit?from=2026-02-31")
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def request_search_with_no_match(page: Page, sample: Sample) -> None:
    page.goto("/status?email=nobody-at-all")


def submitted_batch(page: Page) -> tuple[str, str, list[str]]:
    """A batch upload of two, submitted by a requester of its own: the requester, the batch's id and its requests'."""
    import uuid

    tag = uuid.uuid4().hex[:6]
    requester = f"batcher.{tag}@tech.gov.sg"
    rows = [{"email": f"{name}.{tag}@tech.gov.sg", "user_type": "public_officer", "first_name": name.title(),
             "last_name": "Tan", "contact_number": "9123 4567", "organisation": "GovTech", "seed_onboarding": "no",
             "offshore": "no", "reason": "Joining the data team"} for name in ("gus", "ida")]
    draft = page.request.post("/api/v1/batches", headers={"X-Dev-User": requester}, multipart={
        "file": {"name": "team.csv", "mimeType": "text/csv", "buffer": filled_in(BATCH_HEADINGS, rows)}}).json()
    assert page.request.post(f"/api/v1/batches/{draft['id']}/submit", headers={"X-Dev-User": requester}).ok
    found = page.request.get(f"/api/v1/approvals?batch={draft['id']}", headers={"X-Dev-User": APPROVER}).json()
    return requester, draft["id"], [i["id"] for i in found["items"]]


def cancelled(page: Page, requester: str, ids: list[str]) -> None:
    """Leave the approvers' queue as it was found, for the tests that read it (the page shown stays as it is)."""
    for invite_id in ids:
        page.request.post(f"/api/v1/invites/{invite_id}/cancel", headers={"X-Dev-User": requester})


def stand_in_with_errors(page: Page, sample: Sample) -> None:
    page.goto("/approvals/stand-in")
    page.get_by_role("button", name="Name stand-in").click()
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def reassignment_with_errors(page: Page, sample: Sample) -> None:
    page.goto(f"/admin/requests/{sample.to_approve}")
    page.get_by_role("button", name="Reassign").click()
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def queue_sorted_with_a_batch_row(page: Page, sample: Sample) -> None:
    requester, _, ids = submitted_batch(page)
    page.goto(f"/approvals?requester={requester}&sort=requester")
    page.get_by_role("link", name=f"Batch of 2 from {requester}").wait_for()
    cancelled(page, requester, ids)


def approvals_sorted_by_an_unknown_order(page: Page, sample: Sample) -> None:
    page.goto("/approvals?sort=salary")
    page.get_by_role("alert").filter(has_text="There is a problem").wait_for()


def batch_opened_from_the_queue(page: Page, sample: Sample) -> None:
    requester, batch, ids = submitted_batch(page)
    page.goto(f"/approvals?requester={requester}")
    page.get_by_role("link", name=f"Batch of 2 from {requester}").click()
    page.locator("#batch-summary").wait_for()
    cancelled(page, requester, ids)


STATES = {
    "sign-in refused to someone with no role": ("anonymous", refused_sign_in),
    "email invitation with errors": ("requester", email_invitation_with_errors),
    "account request with errors": ("requester", account_request_with_errors),
    "email invitation's answers to check": ("requester", email_invitation_to_check),
    "account request's answers to check": ("requester", account_request_to_check),
    "batch upload without a file": ("requester", upload_without_a_file),
    "batch rows that need attention": ("requester", rows_that_need_attention),
    "rejected request": ("requester", rejected_request),
    "vendor's request sent": ("requester", vendor_request),
    "request not found": ("requester", request_not_found),
    "page refused": ("requester", page_refused),
    "rejecting without a reason": ("approver", rejecting_without_a_reason),
    "bulk decision with nothing selected": ("approver", nothing_selected_to_decide),
    "approvals filter with a bad number": ("approver", approvals_filter_with_a_bad_number),
    "bulk decision sent": ("approver", bulk_decision_sent),
    "bulk decision to confirm": ("approver", bulk_decision_to_confirm),
    "cancellation sent": ("requester", cancellation_sent),
    "menu opened on a narrow screen": ("requester", menu_opened_on_a_narrow_screen),
    "header under the pointer": ("requester", header_under_the_pointer),
    "audit search with a bad date": ("auditor", audit_search_with_a_bad_date),
    "request search with no match": ("requester", request_search_with_no_match),
    "approvals queue sorted, with a batch as one row": ("approver", queue_sorted_with_a_batch_row),
    "batch opened from the approvals queue": ("approver", batch_opened_from_the_queue),
    "approvals sorted by an unknown order": ("approver", approvals_sorted_by_an_unknown_order),
    "stand-in form with errors": ("approver", stand_in_with_errors),
    "reassignment form with errors": ("admin", reassignment_with_errors),
}


@pytest.mark.parametrize("state", sorted(STATES))
def test_page_after_a_problem_has_no_wcag_a_or_aa_violations(state, page_as, portal_sample):
    caller, bring_about = STATES[state]
    page = page_as(caller)
    bring_about(page, portal_sample)
    found = violations(page, f"{state} ({page.url}) as {caller}")
    if found:
        pytest.fail("\n".join(found), pytrace=False)
