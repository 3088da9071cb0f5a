"""The API against its own OpenAPI document (schemathesis), as each role: no 5xx, every answer as documented.

Each operation of /api/openapi.json gets a short, fixed round of generated requests in `make test`
(API_CONTRACT_EXAMPLES, 6 by default), each sent as a requester, an approver and an auditor.
"""
import base64
import os

import pytest
import schemathesis
from schemathesis import checks
from hypothesis import HealthCheck, given, settings

from invite_common import config
from invite_common.db import apply_migrations, connect
from invite_common.outbox import Outbox
from invite_common.topology import Topology
from intake.app import create_app
from intake.db import database
from intake.identity import apply_role_grants
from intake.migrations import MIGRATIONS

EXAMPLES = int(os.environ.get("API_CONTRACT_EXAMPLES", "6"))
ROLES = {"requester": "amy@tech.gov.sg", "approver": "bob@tech.gov.sg", "auditor": "carol@tech.gov.sg"}
# Requests the document allows may still break a rule it cannot express (an officer's address,
# a reason without hidden characters): their 4xx is an answer, not a fault; every other check runs.
BUSINESS_RULES = [checks.positive_data_acceptance]
SETTINGS = config.load({"ROLE_GRANTS": "approver:bob@tech.gov.sg,auditor:carol@tech.gov.sg"})
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
def contract_db(tmp_path):
    db = connect(f"sqlite:///{tmp_path / 'contract.db'}")
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

@pytest.fixture
def edge_db(db_url):
    db = connect(db_url)
    database.initialize(db)
    apply_migrations(db, MIGRATIONS)
    with database.atomic():
        apply_role_grants(SETTINGS.role_grants)
    yield db
    db.close()
    database.initialize(None)


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


@pytest.mark.parametrize("moment", BEYOND_THE_CALENDAR)
@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("role, path", DATE_ROUTES)
def test_a_date_utc_cannot_hold_is_refused_naming_the_field(edge_db, role, path, name, moment):
    response = ask(role, path, **{name: moment})
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert list(response.get_json()["errors"]) == [name]


@pytest.mark.parametrize("moment", AT_THE_EDGES)
@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("role, path", DATE_ROUTES)
def test_the_first_and_last_moments_utc_holds_are_answered(edge_db, role, path, name, moment):
    assert ask(role, path, **{name: moment}).status_code == 200


CURSOR_ROUTES = [("auditor", "/api/v1/audit/events", "5"),
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


@pytest.mark.parametrize("tampering", TAMPERED_CURSORS)
@pytest.mark.parametrize("role, path, own_id", CURSOR_ROUTES)
def test_a_cursor_the_api_did_not_give_out_is_refused_naming_the_field(edge_db, role, path, own_id, tampering):
    other_id = next(i for _, _, i in CURSOR_ROUTES if i != own_id)
    response = ask(role, path, cursor=TAMPERED_CURSORS[tampering](own_id, other_id))
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert list(response.get_json()["errors"]) == ["cursor"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00"])
@pytest.mark.parametrize("role, path, own_id", CURSOR_ROUTES)
def test_a_cursor_at_the_first_or_last_moment_utc_holds_is_answered(edge_db, role, path, own_id, moment):
    assert ask(role, path, cursor=cursor_of(f"{moment}|{own_id}")).status_code == 200
