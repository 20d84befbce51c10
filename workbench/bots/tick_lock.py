"""The per-bot tick lock, held by the database itself from the first read to the last write.

Every process that ticks a bot on one database shares this lock, whatever its home, cache
backend or spelling of the database URL (``127.0.0.1`` or ``localhost``, a relative path
or a symlink), and a process that dies (SIGKILL included) gives it back at once:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a dedicated
  connection, keyed by the bot id. The server drops it when that connection ends.
- SQLite: an exclusive ``flock`` on ``<database file>.locks/bot-<id>.lock``, beside the
  database's real path; the kernel drops it when the process dies. A write transaction
  held through the send (``BEGIN IMMEDIATE``) would also serialise ticks, but it would stop
  every other writer of the file (other bots, the scheduler, job records) for as long as an
  exchange takes to answer, so each bot gets its own file lock instead.

``check()`` proves the lock is still held; the tick calls it right before it sends an order,
so a lost lock (the database connection was closed, the lock file was removed) stops the
tick before the order, never after.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy import Engine

from workbench.cache.base import LockBusyError, LockLostError

# First key of the two-int advisory lock: "wb" ticks, so other users of advisory locks on
# the same database do not collide with bot ids.
ADVISORY_CLASS = 0x7762_0001


class HeldTickLock(Protocol):
    def check(self) -> None:
        """Raise LockLostError unless this process still holds the lock."""
        ...


def busy_message(bot_id: int) -> str:
    return f"bot {bot_id} is already running a tick (in another process); try again later"


@contextmanager
def tick_lock(engine: Engine, bot_id: int) -> Iterator[HeldTickLock]:
    """Hold bot ``bot_id``'s tick lock; LockBusyError (temporary) when another holds it."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, bot_id) as held:
            yield held
    elif engine.dialect.name == "sqlite":
        with _file_lock(engine, bot_id) as held:
            yield held
    else:
        raise NotImplementedError(f"no tick lock for {engine.dialect.name} databases")


class _AdvisoryLock:
    def __init__(self, conn: sa.Connection, bot_id: int) -> None:
        self.conn, self.bot_id = conn, bot_id

    def check(self) -> None:
        try:
            held = self.conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = :c AND objid = :o"
                    " AND objsubid = 2"
                ),
                {"c": ADVISORY_CLASS, "o": self.bot_id},
            )
        except sa.exc.DBAPIError as e:
            raise LockLostError(
                f"bot {self.bot_id}'s tick lock was lost: the database connection holding it "
                f"was closed ({str(e.orig).strip().splitlines()[0]}); no order was sent"
            ) from None
        if not held:
            raise LockLostError(
                f"bot {self.bot_id}'s tick lock was lost: the database no longer records it "
                "for this connection; no order was sent"
            )


@contextmanager
def _advisory_lock(engine: Engine, bot_id: int) -> Iterator[_AdvisoryLock]:
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = conn.scalar(
            sa.text("SELECT pg_try_advisory_lock(:c, :o)"), {"c": ADVISORY_CLASS, "o": bot_id}
        )
        if not got:
            raise LockBusyError(busy_message(bot_id))
        held = _AdvisoryLock(conn, bot_id)
        try:
            yield held
        finally:
            try:
                conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:c, :o)"),
                    {"c": ADVISORY_CLASS, "o": bot_id},
                )
            except sa.exc.DBAPIError:
                conn.invalidate()  # the connection is gone, and the lock with it
    finally:
        conn.close()


class _FileLock:
    def __init__(self, path: Path, fd: int, bot_id: int) -> None:
        self.path, self.fd, self.bot_id = path, fd, bot_id

    def check(self) -> None:
        try:
            same = os.path.samestat(os.stat(self.path), os.fstat(self.fd))
        except FileNotFoundError:
            same = False
        if not same:
            raise LockLostError(
                f"bot {self.bot_id}'s tick lock was lost: its lock file {self.path} was "
                "removed or replaced; no order was sent"
            )


_memory_locks: dict[int, threading.Lock] = {}


@contextmanager
def _file_lock(engine: Engine, bot_id: int) -> Iterator[HeldTickLock]:
    database = engine.url.database
    if not database or database == ":memory:":
        # Only this process can see an in-memory database: a thread lock is enough.
        lock = _memory_locks.setdefault(bot_id, threading.Lock())
        if not lock.acquire(blocking=False):
            raise LockBusyError(busy_message(bot_id))
        try:
            yield _NoCheck()
        finally:
            lock.release()
        return
    folder = Path(os.path.realpath(database) + ".locks")
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / f"bot-{bot_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusyError(busy_message(bot_id)) from None
        yield _FileLock(path, fd, bot_id)
    finally:
        os.close(fd)  # closing the descriptor releases the flock


class _NoCheck:
    def check(self) -> None:
        return None
