"""At most one notifier process sends a given email at a time.

The delivery log says whether an email went out, but only once its outcome is committed: two
copies of one send command handled at the same moment by two processes (a command published
twice, say by a relay that crashed before marking it) would both find "not sent" and both send.
So a sender holds a lock named after the email (request, template, send key) from before it
looks until its outcome is committed, and the other waits and then finds the email sent.

The lock belongs to the process holding it, so it never outlives its sender: on PostgreSQL a
session advisory lock on the sending thread's connection, on SQLite a byte-range lock in a file
beside the database. A process that dies lets go of both.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import threading

import peewee

from invite_common.errors import Outage

# byte offsets of the SQLite lock file: each email's lock is one byte somewhere in this range
_FILE_RANGE = 2**40


class BeingSent(Outage):
    """Another notifier process is sending this email now: wait, then find it sent."""


def lock_number(key: tuple[str, ...]) -> int:
    """A signed 64-bit number naming the email (PostgreSQL's advisory locks take one)."""
    digest = hashlib.sha256("\x1f".join(key).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SendLocks:
    """Locks on emails being sent, one holder across the notifier's processes."""

    def __init__(self, database: peewee.Database | peewee.DatabaseProxy):
        self.database = database
        self._held: set[tuple[str, ...]] = set()
        self._file: int | None = None
        self._guard = threading.Lock()

    def _db(self) -> peewee.Database:
        return getattr(self.database, "obj", self.database)

    def acquire(self, key: tuple[str, ...]) -> bool:
        """Take the email's lock if no other process holds it; True when this process now holds it."""
        db = self._db()
        number = lock_number(key)
        if isinstance(db, peewee.PostgresqlDatabase):
            got = bool(db.execute_sql("SELECT pg_try_advisory_lock(%s)", (number,)).fetchone()[0])
        else:
            handle = self._lock_file(db)
            if handle is None:
                got = True  # an in-memory database has one process by definition
            else:
                try:
                    fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, number % _FILE_RANGE, os.SEEK_SET)
                    got = True
                except OSError:
                    got = False
        if got:
            with self._guard:
                self._held.add(key)
        return got

    def release(self, key: tuple[str, ...]) -> None:
        """Let go of the email's lock, if this process holds it."""
        with self._guard:
            if key not in self._held:
                return
            self._held.discard(key)
        db = self._db()
        number = lock_number(key)
        if isinstance(db, peewee.PostgresqlDatabase):
            try:
                db.execute_sql("SELECT pg_advisory_unlock(%s)", (number,))
            except peewee.DatabaseError:
                pass  # the connection went away, and the lock with it
        else:
            handle = self._lock_file(db)
            if handle is not None:
                fcntl.lockf(handle, fcntl.LOCK_UN, 1, number % _FILE_RANGE, os.SEEK_SET)

    def _lock_file(self, db: peewee.Database) -> int | None:
        path = db.database
        if not path or path == ":memory:" or str(path).startswith("file::memory:"):
            return None
        with self._guard:
            if self._file is None:
                self._file = os.open(f"{path}-send.lock", os.O_RDWR | os.O_CREAT, 0o600)
            return self._file
