"""The lock on an email being sent: one holder across processes, on SQLite and PostgreSQL, and
never outliving the process that holds it."""
from __future__ import annotations

import multiprocessing as mp
import time

from invite_common.db import connect
from notifier.sending import SendLocks
import pytest

pytestmark = pytest.mark.both_databases("one sender per message holds by a row lock")

KEY = ("req-1", "invitation", "invitation-1")


def _hold(db_url: str, key: tuple, held, release) -> None:
    """In another process: take the lock, say so, keep it until told (or until killed)."""
    locks = SendLocks(connect(db_url))
    held.put(locks.acquire(key))
    release.wait(30)


def _other_process(db_url: str):
    ctx = mp.get_context("spawn")
    held, release = ctx.Queue(), ctx.Event()
    return ctx, held, release


def test_a_second_process_cannot_take_an_email_another_is_sending(db_url):
    ctx, held, release = _other_process(db_url)
    holder = ctx.Process(target=_hold, args=(db_url, KEY, held, release))
    holder.start()
    try:
        assert held.get(timeout=30) is True
        mine = SendLocks(connect(db_url))
        assert mine.acquire(KEY) is False
        assert mine.acquire(("req-2", "invitation", "invitation-1")) is True  # another email is free
        release.set()
        holder.join(30)
        assert mine.acquire(KEY) is True
        mine.release(KEY)
    finally:
        release.set()
        holder.join(5)


def test_the_lock_goes_with_a_process_that_dies_while_sending(db_url):
    ctx, held, release = _other_process(db_url)
    holder = ctx.Process(target=_hold, args=(db_url, KEY, held, release))
    holder.start()
    assert held.get(timeout=30) is True
    mine = SendLocks(connect(db_url))
    assert mine.acquire(KEY) is False
    holder.kill()
    holder.join(10)
    # PostgreSQL lets go once the server has seen the connection close, a moment after the client
    # died (longer on a busy machine); SQLite's lock goes with the process at once
    deadline = time.monotonic() + 15
    while not mine.acquire(KEY):
        assert time.monotonic() < deadline, "the dead process's lock was never released"
        time.sleep(0.05)
