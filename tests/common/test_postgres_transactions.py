"""On PostgreSQL a transaction's BEGIN travels with its first statement; it is still one transaction."""
import peewee
import psycopg2.extensions
import pytest

from invite_common.db import PostgresDatabase, connect

pytestmark = pytest.mark.postgresql_only("what is tested here is how PostgreSQL runs transactions")


@pytest.fixture
def db(db_url):
    database = connect(db_url)
    assert isinstance(database, PostgresDatabase)
    database.execute_sql("CREATE TABLE item (id integer PRIMARY KEY)")
    yield database
    database.close()


def test_every_statement_of_a_transaction_runs_in_that_one_transaction(db):
    with db.atomic():
        first = db.execute_sql("SELECT txid_current(), now() = statement_timestamp()").fetchone()
        db.execute_sql("INSERT INTO item VALUES (1)")
        later = db.execute_sql("SELECT txid_current(), now() = statement_timestamp()").fetchone()
    # one transaction id throughout, and the transaction began with the first statement
    assert first == (first[0], True) and later == (first[0], False)
    assert db.execute_sql("SELECT count(*) FROM item").fetchone() == (1,)


def test_a_failure_rolls_back_what_the_first_statement_did(db):
    with pytest.raises(peewee.IntegrityError):
        with db.atomic():
            db.execute_sql("INSERT INTO item VALUES (1)")
            db.execute_sql("INSERT INTO item VALUES (1)")
    with pytest.raises(RuntimeError):
        with db.atomic():
            db.execute_sql("INSERT INTO item VALUES (2)")
            raise RuntimeError("the caller gave up")
    assert db.execute_sql("SELECT count(*) FROM item").fetchone() == (0,)


def test_a_cursor_taken_directly_inside_a_transaction_is_inside_it(db):
    with db.atomic():
        cursor = db.cursor()
        cursor.execute("SELECT txid_current()")
        direct = cursor.fetchone()
        assert db.execute_sql("SELECT txid_current()").fetchone() == direct
        cursor.execute("INSERT INTO item VALUES (3)")
        raise_inside = db.execute_sql("SELECT count(*) FROM item").fetchone()
    assert raise_inside == (1,)


def recording(db) -> list[str]:
    """Every statement text the connection sends from now on, in order."""
    seen: list[str] = []

    class Recording(psycopg2.extensions.cursor):
        def execute(self, sql, args=None):
            seen.append(sql)
            return super().execute(sql, args)

    db.connection().cursor_factory = Recording
    return seen


def test_begin_goes_with_the_first_statement_and_an_empty_transaction_sends_nothing(db):
    seen = recording(db)
    with db.atomic():
        pass
    with db.atomic() as txn:
        txn.rollback()
    assert seen == []
    with db.atomic():
        db.execute_sql("INSERT INTO item VALUES (4)")
        db.execute_sql("SELECT 1")
    assert seen == ["BEGIN; INSERT INTO item VALUES (4)", "SELECT 1", "COMMIT"]
