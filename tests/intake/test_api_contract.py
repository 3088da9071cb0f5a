"""The API against its own OpenAPI document (schemathesis), as each role: no 5xx, every answer as documented.

Each operation of /api/openapi.json gets a short, fixed round of generated requests in `make test`
(API_CONTRACT_EXAMPLES, 6 by default), each sent as a requester, an approver and an auditor.
"""
import base64
import csv
import io
import os
import re

import pytest
import schemathesis
from schemathesis import checks
from schemathesis.hooks import HookDispatcher, HookScope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake import settings as intake_settings
from invite_common.db import apply_migrations, connect
from invite_common.outbox import Outbox
from invite_common.topology import Topology
from intake.app import create_app
from intake.batches.columns import FIELDS
from intake.db import database
from intake.auth.roles import apply_role_grants
from intake.migrations import MIGRATIONS

EXAMPLES = int(os.environ.get("API_CONTRACT_EXAMPLES", "6"))
ROLES = {"requester": "amy@tech.gov.sg", "approver": "bob@tech.gov.sg", "auditor": "carol@tech.gov.sg"}
# Whether a request the document allows is accepted is the test of its own below, which tells a
# refusal for a rule the operation states from a fault; every other check runs here.
BUSINESS_RULES = [checks.positive_data_acceptance]
SETTINGS = intake_settings.load({"ROLE_GRANTS": "approver:bob@tech.gov.sg,auditor:carol@tech.gov.sg"})
# the app is bound to a database only through `database`, which each test points at its own
APP = create_app(SETTINGS, Outbox(database, Topology()))



def _load_schema():
    # every request opens the database first, even the document's
    database.initialize(connect("sqlite:///:memory:"))
    try:
        return schemathesis.openapi.from_wsgi("/api/openapi.json", APP)
    finally:
        database.initialize(None)


SCHEMA = _load_schema()
# answers known not to match the document yet; strict: the test fails once they do match
NOT_YET_AS_DOCUMENTED: dict[str, str] = {}
OPERATIONS = [
    pytest.param(op, marks=pytest.mark.xfail(reason=NOT_YET_AS_DOCUMENTED[op.label], strict=True))
    if op.label in NOT_YET_AS_DOCUMENTED else op
    for op in (result.ok() for result in SCHEMA.get_all_operations())
]


@pytest.fixture
def contract_db(db_url):
    db = connect(db_url)
    database.initialize(db)
    apply_migrations(db, MIGRATIONS)
    with database.atomic():
        apply_role_grants(SETTINGS.role_grants)
    yield db
    db.close()
    database.initialize(None)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: getattr(operation, "label", None))
def test_every_answer_is_documented_and_none_is_a_server_error(operation, contract_db):
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def answers_as_documented(case):
        for email in ROLES.values():
            case.call_and_validate(headers={"X-Dev-User": email}, excluded_checks=BUSINESS_RULES)

    answers_as_documented()


# Explicit cases at the edges the generated requests rarely reach: dates that UTC cannot hold once
# their offset is applied, and cursors that were never given out. Each runs on SQLite and on
# PostgreSQL, which refuse different things (a NUL in text, an integer past 64 bits).
EDGES = "SQLite and PostgreSQL refuse different values (a NUL in text, an integer past 64 bits)"

def ask(role, path, **query):
    """GET `path` as `role` with `query`; the whole body is read (an export streams it)."""
    response = APP.test_client().get(path, query_string=query, headers={"X-Dev-User": ROLES[role]})
    response.get_data()
    return response


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode()


DATE_ROUTES = [("auditor", "/api/v1/audit/events"), ("auditor", "/api/v1/audit/export.csv"),
               ("auditor", "/api/v1/audit/export.jsonl"), ("approver", "/api/v1/invites")]
# each is a valid date and time whose UTC moment falls before year 1 or after year 9999
BEYOND_THE_CALENDAR = ["0001-01-01T00:00:00+14:00", "0001-01-01T13:59:59.999999+14:00",
                       "9999-12-31T23:59:59-14:00", "9999-12-31T10:00:00-14:00"]
# and these are the first and last moments UTC holds, written with and without an offset
AT_THE_EDGES = ["0001-01-01T00:00:00Z", "0001-01-01T14:00:00+14:00",
                "9999-12-31T23:59:59.999999Z", "9999-12-31T09:59:59.999999-14:00"]


@pytest.mark.both_databases(EDGES)
@pytest.mark.parametrize("moment", BEYOND_THE_CALENDAR)
@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("role, path", DATE_ROUTES)
def test_a_date_utc_cannot_hold_is_refused_naming_the_field(contract_db, role, path, name, moment):
    response = ask(role, path, **{name: moment})
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert list(response.get_json()["errors"]) == [name]


@pytest.mark.both_databases(EDGES)
@pytest.mark.parametrize("moment", AT_THE_EDGES)
@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("role, path", DATE_ROUTES)
def test_the_first_and_last_moments_utc_holds_are_answered(contract_db, role, path, name, moment):
    assert ask(role, path, **{name: moment}).status_code == 200


CURSOR_ROUTES = [("auditor", "/api/v1/audit/events", "5"),
                 ("auditor", "/api/v1/audit/role-changes", "5"),
                 ("approver", "/api/v1/invites", "3f2504e0-4f89-41d3-9a0c-0305e82c3301"),
                 ("approver", "/api/v1/approvals", "3f2504e0-4f89-41d3-9a0c-0305e82c3301")]
# a cursor is base64 of "<moment>|<id>": the id is a history entry's number or a request's UUID
TAMPERED_CURSORS = {
    "not-base64": lambda own_id, other_id: "%%not*base64%%",
    "base64-of-garbage": lambda own_id, other_id: base64.urlsafe_b64encode(b"\xff\xfe\x00\x9c garbage").decode(),
    "base64-of-json": lambda own_id, other_id: cursor_of('{"at": "2027-01-01T00:00:00+00:00", "id": 5}'),
    "year-1-at-plus-14": lambda own_id, other_id: cursor_of(f"0001-01-01T00:00:00+14:00|{own_id}"),
    "year-9999-at-minus-14": lambda own_id, other_id: cursor_of(f"9999-12-31T23:59:59-14:00|{own_id}"),
    "id-of-another-type": lambda own_id, other_id: cursor_of(f"2027-01-01T00:00:00+00:00|{other_id}"),
    "id-past-64-bits": lambda own_id, other_id: cursor_of("2027-01-01T00:00:00+00:00|" + "9" * 19),
    "id-of-other-digits": lambda own_id, other_id: cursor_of("2027-01-01T00:00:00+00:00|\u0661\u0662"),
    "id-with-a-nul": lambda own_id, other_id: cursor_of(f"2027-01-01T00:00:00+00:00|{own_id}\x00"),
    "huge": lambda own_id, other_id: "A" * 100_000,
}


@pytest.mark.both_databases(EDGES)
@pytest.mark.parametrize("tampering", TAMPERED_CURSORS)
@pytest.mark.parametrize("role, path, own_id", CURSOR_ROUTES)
def test_a_cursor_the_api_did_not_give_out_is_refused_naming_the_field(contract_db, role, path, own_id, tampering):
    other_id = next(i for _, _, i in CURSOR_ROUTES if i != own_id)
    response = ask(role, path, cursor=TAMPERED_CURSORS[tampering](own_id, other_id))
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert list(response.get_json()["errors"]) == ["cursor"]


@pytest.mark.both_databases(EDGES)
@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00"])
@pytest.mark.parametrize("role, path, own_id", CURSOR_ROUTES)
def test_a_cursor_at_the_first_or_last_moment_utc_holds_is_answered(contract_db, role, path, own_id, moment):
    assert ask(role, path, cursor=cursor_of(f"{moment}|{own_id}")).status_code == 200


# --- A request the document allows is accepted -------------------------------------------------
# Every request generated from the document (API_ACCEPTANCE_EXAMPLES, 25 by default, per operation),
# sent as each role, is answered 2xx, 401, 403, 404, 409 or 429 (schemathesis's
# positive_data_acceptance), or 422 for a rule the document cannot hold in a pattern: only one the
# operation's description names (the field, in backticks), refused in that rule's own words.

ACCEPTANCE_EXAMPLES = int(os.environ.get("API_ACCEPTANCE_EXAMPLES", "25"))
CURSOR_GIVEN_OUT = r"This cursor is not one the API gave out\."
DATE_UTC_HOLDS = r"Give a date and time between the years 1 and 9999 in UTC\."
# the layout of an uploaded file and the rows of a draft being submitted: the parser and the
# rows name what is wrong, in many words
ANY_MESSAGE = r".+"
STATED_RULES: dict[str, dict[str, str]] = {
    "POST /api/v1/invites": {
        "email": r".+ needs a public officer address ending in .+\.|You cannot invite yourself\..*",
        "contact_number": r"A Singapore number .+|.+ is not a Singapore number in use: check the digits\.|"
                          r"The digits after the \+ do not begin with a country code: .+|A \+\d+ number .+|"
                          r"This is not a \+\d+ number in use: check the digits\.",
        "username": r"This TechPass username is already taken; choose another\.",
        "Idempotency-Key": r"This key was already used for a different request\.",
        "repeats": r"None of your requests has this id\.|Only a request that ended without its invitation .+",
    },
    "GET /api/v1/invites": {"cursor": CURSOR_GIVEN_OUT, "from": DATE_UTC_HOLDS, "to": DATE_UTC_HOLDS},
    "GET /api/v1/approvals": {"cursor": CURSOR_GIVEN_OUT},
    "POST /api/v1/approvals/decisions": {"decisions": r"This request already has a decision in this list\."},
    "POST /api/v1/invites/cancellations": {"ids": r"This request is already in this list\."},
    "POST /api/v1/batches": {"file": ANY_MESSAGE},
    "POST /api/v1/batches/{batch_id}/submit": {"batch": ANY_MESSAGE},
    "GET /api/v1/audit/events": {"cursor": CURSOR_GIVEN_OUT, "from": DATE_UTC_HOLDS, "to": DATE_UTC_HOLDS},
    "GET /api/v1/audit/role-changes": {"cursor": CURSOR_GIVEN_OUT, "from": DATE_UTC_HOLDS, "to": DATE_UTC_HOLDS},
    "GET /api/v1/audit/delegations": {"cursor": CURSOR_GIVEN_OUT},
    "POST /api/v1/delegations": {
        "stand_in": r"Name someone other than yourself\.|A stand-in must be a public officer: .+",
        "starts_at": DATE_UTC_HOLDS,
        "ends_at": r"The end must come after the start\.|The end is in the past\.|"
                   r"A stand-in is named for at most \d+ days at a time\.|" + DATE_UTC_HOLDS,
    },
    "POST /api/v1/invites/{invite_id}/reassignment": {"to": r"Only a public officer can decide a request: .+|"
                                                            r"This person (made the request|decided an earlier level "
                                                            r"of this request)\.|This request invites this person\."},
    "GET /api/v1/audit/export.csv": {"from": DATE_UTC_HOLDS, "to": DATE_UTC_HOLDS},
    "GET /api/v1/audit/export.jsonl": {"from": DATE_UTC_HOLDS, "to": DATE_UTC_HOLDS},
}


def _refusals(errors, field=None):
    """Each (top-level field, message) of an error body, however deep its messages are nested."""
    if isinstance(errors, str):
        yield field, errors
    elif isinstance(errors, list):
        for item in errors:
            yield from _refusals(item, field)
    elif isinstance(errors, dict):
        for name, item in errors.items():
            yield from _refusals(item, field if field is not None else name)


def _refused_by_a_stated_rule(operation, response) -> bool:
    """Whether a 422 names only rules the operation's description states, each in its own words."""
    if response.status_code != 422:
        return False
    rules = STATED_RULES.get(operation.label, {})
    description = operation.definition.raw.get("description", "")
    refusals = list(_refusals((response.json() or {}).get("errors", {})))
    return bool(refusals) and all(
        field in rules and f"`{field}`" in description and re.fullmatch(rules[field], message, re.S)
        for field, message in refusals
    )


def _rows(draw):
    # a few requests under the template's headings; each row's own problems are the draft's business
    cell = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)
    count = draw(st.integers(1, 3))
    return [{**{name: draw(cell) for name in FIELDS}, "email": f"row{n}@tech.gov.sg"} for n in range(count)]


@st.composite
def _csv_files(draw) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS)
    writer.writeheader()
    writer.writerows(_rows(draw))
    return out.getvalue().encode()


@st.composite
def _workbooks(draw) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(list(FIELDS))
    for row in _rows(draw):
        sheet.append([row[name] for name in FIELDS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# the upload's file part is drawn as a file of one of the media types the document names for it
schemathesis.openapi.media_type("text/csv", _csv_files())
schemathesis.openapi.media_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _workbooks())


def _submissions_likelier_accepted(context, body):
    # still bodies the document allows, but with a number in use and at times an officer's address,
    # so that submissions get past those rules to the ones after them
    if context.operation.label != "POST /api/v1/invites" or not isinstance(body, dict):
        return st.just(body)
    changes = {}
    if "contact_number" in body:
        changes["contact_number"] = st.integers(9000_0000, 9899_9999).map(lambda n: f"{n // 10_000} {n % 10_000:04d}")
    if "email" in body:
        changes["email"] = st.sampled_from([body["email"], body["email"].partition("@")[0] + "@tech.gov.sg"])
    return st.fixed_dictionaries({name: changes.get(name, st.just(value)) for name, value in body.items()})


LIKELIER_ACCEPTED = HookDispatcher(scope=HookScope.TEST)
LIKELIER_ACCEPTED.register_hook_with_name(_submissions_likelier_accepted, "flatmap_body")


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: getattr(operation, "label", None))
def test_a_request_the_document_allows_is_accepted_or_refused_only_by_a_rule_its_operation_states(operation, contract_db):
    @settings(max_examples=ACCEPTANCE_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(hooks=LIKELIER_ACCEPTED))
    def accepted(case):
        for email in ROLES.values():
            response = case.call(headers={"X-Dev-User": email})
            if not _refused_by_a_stated_rule(case.operation, response):
                case.validate_response(response, checks=[checks.positive_data_acceptance])

    accepted()
