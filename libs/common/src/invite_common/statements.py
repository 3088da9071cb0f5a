"""Hot-path SQL for one table, written once per kind of database and reused with new values.

Building a statement with peewee's query builder costs 100-300 µs of CPU, against a few µs to
run it; the handful of statements each message or request runs are therefore spelled out once
here and only bound to fresh values afterwards. Values still pass through each field's
`db_value` / `python_value`, exactly as peewee's own queries do, so rows read the same either way.

On PostgreSQL each of these statements is also prepared on the server, once per connection
(`PREPARE`, then `EXECUTE` with the values): the server then skips parsing and planning it
again, about a fifth of what a short statement costs it.
"""
from __future__ import annotations

import hashlib
import re
import threading
import weakref
from typing import Callable, Iterable

import peewee


def _is_postgres(db: peewee.Database) -> bool:
    return isinstance(db, peewee.PostgresqlDatabase)


# connection -> names of the statements prepared on it; a connection's statements end with it
_prepared_on: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()
_prepared_lock = threading.Lock()


class Prepared:
    """One statement as PostgreSQL prepares it: `PREPARE name AS ...$1...`, run as `EXECUTE name(%s)`."""

    __slots__ = ("name", "prepare", "execute")

    def __init__(self, sql: str, param: str):
        self.name = "st_" + hashlib.sha1(sql.encode()).hexdigest()[:20]
        count = sql.count(param)
        numbers = iter(range(1, count + 1))
        self.prepare = f"PREPARE {self.name} AS " + re.sub(re.escape(param), lambda _: f"${next(numbers)}", sql)
        self.execute = f"EXECUTE {self.name}" + (f"({', '.join([param] * count)})" if count else "")

    def run(self, db: peewee.Database, params: tuple):
        connection = db.connection()
        with _prepared_lock:
            names = _prepared_on.setdefault(connection, set())
        if self.name not in names:
            # a prepared statement outlives the transaction it was prepared in, even a rolled back one
            db.execute_sql(self.prepare)
            names.add(self.name)
        return db.execute_sql(self.execute, params)


class Statements:
    """Cached SQL for one model's table: get, insert (or insert-or-ignore), update changed columns."""

    def __init__(self, model: type[peewee.Model]):
        self.model = model
        self.table = model._meta.table_name
        self._fields = model._meta.fields
        self._cache: dict[tuple, str] = {}
        self._prepared: dict[str, Prepared] = {}  # PostgreSQL's form of each cached statement
        # fields whose default peewee fills in on the Python side: a hand-written INSERT must too
        self._defaults = [(name, f.default) for name, f in self._fields.items() if f.default is not None]

    # building ------------------------------------------------------------------------------
    def database(self) -> peewee.Database:
        db = self.model._meta.database
        return getattr(db, "obj", db)  # a DatabaseProxy stands for the database it was bound to

    def column(self, name: str) -> str:
        """The quoted column of field `name`."""
        return f'"{self._fields[name].column_name}"'

    def sql(self, key: tuple, build: Callable[[str, bool], str]) -> str:
        """The statement named `key`, built by `build(param, is_postgres)` on first use."""
        db = self.database()
        postgres = _is_postgres(db)
        full = (postgres, *key)
        sql = self._cache.get(full)
        if sql is None:
            sql = self._cache[full] = build(db.param, postgres)
            if postgres:
                self._prepared[sql] = Prepared(sql, db.param)
        return sql

    def execute(self, sql: str, params: Iterable = ()):
        """Run `sql` on the model's database (inside the caller's transaction, if any); return the cursor.

        A statement built by `sql` runs prepared on PostgreSQL; any other runs as it is."""
        db = self.database()
        prepared = self._prepared.get(sql)
        if prepared is not None and _is_postgres(db):
            return prepared.run(db, tuple(params))
        return db.execute_sql(sql, tuple(params))

    def db_values(self, values: dict) -> list:
        """The database forms of `values` (field name -> value), in order."""
        fields = self._fields
        return [fields[name].db_value(value) for name, value in values.items()]

    # reading -------------------------------------------------------------------------------
    def _select(self, where: tuple[str, ...], columns: tuple[str, ...], lock: bool) -> str:
        def build(param: str, postgres: bool) -> str:
            cols = ", ".join(self.column(c) for c in columns)
            cond = " AND ".join(f"{self.column(w)} = {param}" for w in where)
            # SQLite needs no row lock: its transactions already hold the write lock from their start
            return f'SELECT {cols} FROM "{self.table}" WHERE {cond} LIMIT 1' + (" FOR UPDATE" if lock and postgres else "")

        return self.sql(("select", where, columns, lock), build)

    def get(self, columns: tuple[str, ...] | None = None, *, lock: bool = False, **where) -> peewee.Model | None:
        """The row matching `where` (field = value, ANDed) as a model instance, or None.

        `columns` limits what is read (the rest stay unset); `lock` takes a row lock on PostgreSQL.
        """
        columns = columns or tuple(self._fields)
        sql = self._select(tuple(where), columns, lock)
        row = self.execute(sql, self.db_values(where)).fetchone()
        return None if row is None else self.instance(columns, row)

    def all(self, columns: tuple[str, ...] | None = None, *, order_by: str, **where) -> list[peewee.Model]:
        """Every row matching `where`, in `order_by` order, as model instances."""
        columns = columns or tuple(self._fields)

        def build(param: str, postgres: bool) -> str:
            cols = ", ".join(self.column(c) for c in columns)
            cond = " AND ".join(f"{self.column(w)} = {param}" for w in where)
            return f'SELECT {cols} FROM "{self.table}" WHERE {cond} ORDER BY {self.column(order_by)}'

        sql = self.sql(("all", tuple(where), columns, order_by), build)
        return [self.instance(columns, row) for row in self.execute(sql, self.db_values(where)).fetchall()]

    def instance(self, columns: tuple[str, ...], row) -> peewee.Model:
        """A model instance from a row of `columns` read by hand-written SQL, its values as peewee reads them."""
        instance = self.model(__no_default__=1)
        fields = self._fields
        instance.__data__ = {name: fields[name].python_value(value) for name, value in zip(columns, row)}
        instance._dirty.clear()
        return instance

    def exists(self, **where) -> bool:
        """Whether a row matches `where`."""
        first = next(iter(where))
        return self.execute(self._select(tuple(where), (first,), False), self.db_values(where)).fetchone() is not None

    # writing -------------------------------------------------------------------------------
    def insert(self, values: dict, *, ignore: bool = False) -> int:
        """Insert one row (fields with Python-side defaults filled in); return the rows inserted.

        With `ignore`, a row that would break a unique constraint is skipped and 0 returned:
        one statement instead of a lookup followed by an insert.
        """
        row = dict(values)
        for name, default in self._defaults:
            if name not in row:
                row[name] = default() if callable(default) else default

        def build(param: str, postgres: bool) -> str:
            cols = ", ".join(self.column(c) for c in row)
            marks = ", ".join(param for _ in row)
            return f'INSERT INTO "{self.table}" ({cols}) VALUES ({marks})' + (" ON CONFLICT DO NOTHING" if ignore else "")

        sql = self.sql(("insert", tuple(row), ignore), build)
        return self.execute(sql, self.db_values(row)).rowcount

    def update(self, changes: dict, **where) -> int:
        """Set only the columns in `changes` on the rows matching `where`; return how many changed."""

        def build(param: str, postgres: bool) -> str:
            sets = ", ".join(f"{self.column(c)} = {param}" for c in changes)
            cond = " AND ".join(f"{self.column(w)} = {param}" for w in where)
            return f'UPDATE "{self.table}" SET {sets} WHERE {cond}'

        sql = self.sql(("update", tuple(changes), tuple(where)), build)
        return self.execute(sql, self.db_values(changes) + self.db_values(where)).rowcount

    def save_changes(self, instance: peewee.Model) -> int:
        """Write the fields of `instance` changed since it was read (peewee's dirty set) by primary key."""
        dirty = instance.dirty_fields
        if not dirty:
            return 0
        pk = self.model._meta.primary_key
        changes = {f.name: instance.__data__.get(f.name) for f in sorted(dirty, key=lambda f: f.name)}
        count = self.update(changes, **{pk.name: instance.__data__[pk.name]})
        instance._dirty.clear()
        return count
