"""The message log (handled ids, published outbox rows) is trimmed to MESSAGE_LOG_DAYS; nothing unpublished goes."""
import datetime as dt

import pytest

from invite_common import housekeeping
from invite_common.config import ConfigError
from notifier import settings as notifier_settings
from invite_common.consumer import handled_message_model
from invite_common.db import connect, utcnow
from invite_common.outbox import outbox_model

pytestmark = pytest.mark.both_databases("trimming is date arithmetic and deletes in SQL")

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def tables(db_url):
    db = connect(db_url)
    outbox, handled = outbox_model(db), handled_message_model(db)
    db.create_tables([outbox, handled])
    yield db, outbox, handled
    db.close()


def add_outbox(outbox, n: int, published_days_ago: float | None, created_days_ago: float = 30) -> None:
    for _ in range(n):
        number = outbox.select().count()
        outbox.create(
            message_id=f"m-{number}", exchange="x", routing_key="k", message_type="k", correlation_id="c", body="{}",
            created_at=NOW - dt.timedelta(days=created_days_ago),
            published_at=None if published_days_ago is None else NOW - dt.timedelta(days=published_days_ago),
        )


def test_rows_published_and_ids_handled_before_the_cutoff_go_and_everything_else_stays(tables, monkeypatch):
    db, outbox, handled = tables
    monkeypatch.setattr(housekeeping, "BATCH", 3)  # several batches on SQLite
    add_outbox(outbox, 7, published_days_ago=8)
    add_outbox(outbox, 2, published_days_ago=6)
    add_outbox(outbox, 2, published_days_ago=None, created_days_ago=30)  # a month unpublished: the relay's, never trimmed
    for n in range(8):
        handled.create(consumer="q", message_id=f"old-{n}", handled_at=NOW - dt.timedelta(days=7, minutes=1))
    handled.create(consumer="q", message_id="recent", handled_at=NOW - dt.timedelta(days=6, hours=23))

    assert housekeeping.trim_message_log(db, outbox, handled, 7, now=NOW) == (7, 8)

    assert sorted(r.published_at is None for r in outbox.select()) == [False, False, True, True]
    assert [r.message_id for r in handled.select()] == ["recent"]
    assert housekeeping.trim_message_log(db, outbox, handled, 7, now=NOW) == (0, 0)


def test_message_log_days_defaults_to_a_week_and_zero_switches_the_trim_off():
    assert notifier_settings.load({}).message_log_days == 7
    assert notifier_settings.load({"MESSAGE_LOG_DAYS": "0"}).message_log_days == 0
    with pytest.raises(ConfigError, match="MESSAGE_LOG_DAYS"):
        notifier_settings.load({"MESSAGE_LOG_DAYS": "-1"})


def test_a_recent_handled_id_still_marks_a_redelivered_copy_after_a_trim(tables):
    db, outbox, handled = tables
    handled.create(consumer="q", message_id="just-now", handled_at=utcnow())
    housekeeping.trim_message_log(db, outbox, handled, 7)
    assert handled.get_or_none(handled.message_id == "just-now") is not None
