"""Hot-path statements read and write rows exactly as peewee's own queries do, on both databases."""
import datetime as dt

import peewee
import pytest

from invite_common.db import UTCDateTimeField, connect
from invite_common.statements import Statements

pytestmark = pytest.mark.both_databases("the statements are SQL written for both dialects")


@pytest.fixture
def Invite(db_url):
    db = connect(db_url)

    class Invite(peewee.Model):
        id = peewee.CharField(primary_key=True)
        email = peewee.CharField(unique=True)
        state = peewee.CharField(default="submitted")
        seq = peewee.IntegerField(default=0)
        seed = peewee.BooleanField(default=False)
        at = UTCDateTimeField(null=True)

        class Meta:
            database = db
            table_name = "invite"

    db.create_tables([Invite])
    yield Invite
    db.close()


def test_a_row_written_by_statements_reads_back_the_same_through_peewee_and_back(Invite):
    rows = Statements(Invite)
    at = dt.datetime(2026, 11, 30, 10, 0, 1, 123456, tzinfo=dt.timezone.utc)
    assert rows.insert({"id": "r1", "email": "a@tech.gov.sg", "seed": True, "at": at}) == 1
    by_peewee = Invite.get_by_id("r1")
    assert (by_peewee.email, by_peewee.state, by_peewee.seq, by_peewee.seed, by_peewee.at) == ("a@tech.gov.sg", "submitted", 0, True, at)
    mine = rows.get(id="r1")
    assert mine.__data__ == by_peewee.__data__ and not mine.dirty_fields
    assert rows.get(("id", "seq"), email="nobody@tech.gov.sg") is None


def test_insert_or_ignore_skips_a_row_that_breaks_a_unique_key(Invite):
    rows = Statements(Invite)
    assert rows.insert({"id": "r1", "email": "a@tech.gov.sg"}, ignore=True) == 1
    assert rows.insert({"id": "r2", "email": "a@tech.gov.sg"}, ignore=True) == 0
    assert rows.insert({"id": "r1", "email": "b@tech.gov.sg"}, ignore=True) == 0
    with pytest.raises(peewee.IntegrityError):
        rows.insert({"id": "r3", "email": "a@tech.gov.sg"})
    assert [i.id for i in Invite.select()] == ["r1"]


def test_save_changes_writes_only_the_fields_changed_since_the_read(Invite):
    rows = Statements(Invite)
    rows.insert({"id": "r1", "email": "a@tech.gov.sg"})
    mine = rows.get(lock=True, id="r1")
    Invite.update(state="elsewhere").where(Invite.id == "r1").execute()  # a column this writer did not touch
    mine.seq += 1
    assert rows.save_changes(mine) == 1
    assert rows.save_changes(mine) == 0  # nothing left to write
    again = Invite.get_by_id("r1")
    assert (again.seq, again.state) == (1, "elsewhere")
    assert [i.id for i in rows.all(("id",), order_by="id", state="elsewhere")] == ["r1"]


@pytest.mark.postgresql_only("prepared statements are PostgreSQL's")
def test_on_postgresql_each_statement_is_prepared_once_per_connection_and_outlives_a_rollback(Invite):
    rows = Statements(Invite)
    db = Invite._meta.database

    def prepared() -> list[str]:
        return [r[0] for r in db.execute_sql("SELECT statement FROM pg_prepared_statements ORDER BY statement")]

    with db.atomic() as txn:
        rows.insert({"id": "r1", "email": "a@tech.gov.sg"})
        txn.rollback()
    assert [s.split(" AS ")[1][:19] for s in prepared()] == ['INSERT INTO "invite']
    for n in range(3):
        rows.insert({"id": f"r{n}", "email": f"{n}@tech.gov.sg"})
        assert rows.get(("email",), id=f"r{n}").email == f"{n}@tech.gov.sg"
    assert len(prepared()) == 2  # the insert and the read, each prepared once
    # a new connection prepares again what it runs
    db.close()
    assert rows.get(("email",), id="r2").email == "2@tech.gov.sg"
    assert len(prepared()) == 1
