"""Batch drafts expire after DRAFT_EXPIRY_DAYS (7 by default): hidden at once, then deleted with their rows."""
import datetime as dt


from intake import settings as intake_settings
from invite_common.db import utcnow
from intake.app import create_app
from intake import bootstrap
from intake.batches.expiry import delete_expired_drafts
from intake.models import BatchDraft, BatchRow, DraftStatus
from tests.support.spreadsheets import OFFICER_ROW, csv_bytes, upload
from tests.support.callers import as_user, signed_in
import pytest

pytestmark = pytest.mark.both_databases("drafts expire by date arithmetic in SQL")


def age(draft_id: str, days: float) -> None:
    BatchDraft.update(created_at=utcnow() - dt.timedelta(days=days)).where(BatchDraft.id == draft_id).execute()


def new_draft(user) -> str:
    response = upload(user, csv_bytes([OFFICER_ROW]))
    assert response.status_code == 201
    return response.get_json()["id"]


def test_a_draft_older_than_seven_days_is_not_shown_and_is_deleted_with_its_rows(amy):
    old, recent = new_draft(amy), new_draft(amy)
    age(old, 7.01)
    age(recent, 6.9)
    assert amy("GET", f"/api/v1/batches/{old}").status_code == 404
    assert amy("GET", f"/api/v1/batches/{recent}").status_code == 200
    assert delete_expired_drafts(7) == 1
    assert BatchDraft.get_or_none(BatchDraft.id == old) is None
    assert BatchRow.select().where(BatchRow.draft == old).count() == 0
    assert BatchRow.select().where(BatchRow.draft == recent).count() == 1


def test_a_submitted_batch_is_kept_however_old(amy):
    draft = new_draft(amy)
    BatchDraft.update(status=DraftStatus.SUBMITTED).where(BatchDraft.id == draft).execute()
    age(draft, 400)
    assert delete_expired_drafts(7) == 0
    assert BatchDraft.get_or_none(BatchDraft.id == draft) is not None


def test_the_expiry_is_configurable(intake_db, outbox):
    app = create_app(intake_settings.load({"DRAFT_EXPIRY_DAYS": "1"}), outbox)
    app.config["WTF_CSRF_ENABLED"] = False
    amy = as_user(app.test_client(), "amy@tech.gov.sg")
    draft = new_draft(amy)
    age(draft, 1.5)
    assert amy("GET", f"/api/v1/batches/{draft}").status_code == 404
    page = signed_in(app.test_client(), "amy@tech.gov.sg")
    assert page.get(f"/invite/batch/{draft}").status_code == 404


def test_the_intake_service_deletes_expired_drafts_as_a_background_task(amy):
    draft = new_draft(amy)
    age(draft, 8)
    task = next(t for t in bootstrap.declare(intake_settings.load({})).tasks if t.name == "draft-expiry")
    assert task.every <= 3600
    task.run()
    assert BatchDraft.get_or_none(BatchDraft.id == draft) is None
