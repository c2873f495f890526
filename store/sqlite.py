"""The store in one SQLite file (aiosqlite), for a single bot instance and the CLI beside it.

One connection in autocommit mode; every write is an explicit `BEGIN IMMEDIATE … COMMIT` taken
under an asyncio lock, so coroutines sharing the connection never interleave inside a
transaction and another process on the same file waits (busy_timeout) instead of failing.
WAL lets readers run beside the writer; synchronous=FULL makes a commit survive power loss too.
Datetimes are stored as fixed-width UTC ISO strings, so text order is time order.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from store._common import (
    dumps,
    format_reference,
    from_text,
    loads,
    normalise_feedback,
    normalise_question,
    reference_day,
    to_text,
    utc,
    with_reference,
)
from store.base import (
    Feedback,
    FeedbackState,
    Frequency,
    NewFeedback,
    NewOutbox,
    OutboxItem,
    Scope,
    Store,
    StoredNotice,
    Subscription,
    UnansweredQuestion,
    User,
)

# Numbered migrations, applied in order on open(); each runs in one transaction together with
# its schema_version row. Never edit a released migration: append a new one.
MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (
        1,
        (
            """CREATE TABLE users (
                user_id INTEGER PRIMARY KEY,
                chat_id INTEGER NOT NULL,
                language TEXT,
                frequency TEXT NOT NULL DEFAULT 'immediate',
                active INTEGER NOT NULL DEFAULT 1,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE unanswered (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                text TEXT NOT NULL,
                norm TEXT NOT NULL,
                language TEXT NOT NULL,
                kind TEXT NOT NULL,
                score REAL NOT NULL,
                asked_at TEXT NOT NULL
            )""",
            "CREATE INDEX unanswered_asked_at ON unanswered (asked_at)",
            """CREATE TABLE kv (
                namespace TEXT NOT NULL,
                key TEXT NOT NULL,
                value TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (namespace, key)
            )""",
            """CREATE TABLE feedback_counters (
                day TEXT PRIMARY KEY,
                last INTEGER NOT NULL
            )""",
            """CREATE TABLE feedback (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                reference TEXT NOT NULL UNIQUE,
                user_id INTEGER NOT NULL,
                chat_id INTEGER NOT NULL,
                kind TEXT NOT NULL,
                item INTEGER,
                text TEXT NOT NULL,
                norm_text TEXT NOT NULL,
                contact_name TEXT,
                contact_phone TEXT,
                attachments TEXT NOT NULL,
                language TEXT NOT NULL,
                state TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX feedback_user ON feedback (user_id, created_at)",
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL,
                dedupe_key TEXT NOT NULL UNIQUE,
                payload TEXT NOT NULL,
                feedback_reference TEXT,
                state TEXT NOT NULL DEFAULT 'pending',
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TEXT NOT NULL,
                last_error TEXT,
                created_at TEXT NOT NULL,
                sent_at TEXT
            )""",
            "CREATE INDEX outbox_due ON outbox (state, next_attempt_at)",
            "CREATE INDEX outbox_feedback ON outbox (feedback_reference)",
            """CREATE TABLE subscriptions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL,
                chat_id INTEGER NOT NULL,
                scope TEXT NOT NULL,
                target INTEGER,
                created_at TEXT NOT NULL
            )""",
            # NULL targets ("all") must collide too, hence the expression.
            """CREATE UNIQUE INDEX subscriptions_unique
                ON subscriptions (user_id, scope, COALESCE(target, -1))""",
            """CREATE TABLE notices (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                text TEXT NOT NULL,
                source TEXT NOT NULL,
                notice_date TEXT NOT NULL,
                published_by INTEGER,
                published_at TEXT NOT NULL,
                meta TEXT NOT NULL
            )""",
        ),
    ),
]

_EMAIL_STATE = {"sent": "forwarded", "retry": "retrying", "failed": "failed"}


def _user(row: sqlite3.Row) -> User:
    return User(
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        language=row["language"],
        frequency=row["frequency"],
        active=bool(row["active"]),
        created_at=from_text(row["created_at"]),
    )


def _feedback(row: sqlite3.Row) -> Feedback:
    return Feedback(
        id=row["id"],
        reference=row["reference"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        item=row["item"],
        text=row["text"],
        contact_name=row["contact_name"],
        contact_phone=row["contact_phone"],
        attachments=tuple(loads(row["attachments"])),
        language=row["language"],
        state=row["state"],
        created_at=from_text(row["created_at"]),
    )


def _outbox(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        kind=row["kind"],
        dedupe_key=row["dedupe_key"],
        payload=loads(row["payload"]),
        feedback_reference=row["feedback_reference"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=from_text(row["next_attempt_at"]),
        last_error=row["last_error"],
        created_at=from_text(row["created_at"]),
        sent_at=from_text(row["sent_at"]) if row["sent_at"] is not None else None,
    )


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        scope=row["scope"],
        target=row["target"],
        created_at=from_text(row["created_at"]),
    )


def _notice(row: sqlite3.Row) -> StoredNotice:
    return StoredNotice(
        id=row["id"],
        text=row["text"],
        source=row["source"],
        notice_date=row["notice_date"],
        published_by=row["published_by"],
        published_at=from_text(row["published_at"]),
        meta=loads(row["meta"]),
    )


class SQLiteStore(Store):
    """The store in one SQLite file; the parent directory is created on open()."""

    def __init__(self, path: str | Path, busy_timeout_ms: int = 10_000) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("SQLiteStore is not open: await store.open() first")
        return self._db

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, committed before the block's caller continues."""
        async with self._lock:
            db = self._conn
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, outside any other coroutine's transaction."""
        async with self._lock:
            yield self._conn

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._read() as db, db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _row(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self._rows(sql, params)
        return rows[0] if rows else None

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement in its own transaction; the number of rows it changed."""
        async with self._write() as db, db.execute(sql, params) as cursor:
            return cursor.rowcount

    # -- lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:
        """Open the file (creating its directory), set the pragmas, apply pending migrations."""
        if self._db is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = FULL")
            await db.execute("PRAGMA foreign_keys = ON")
            self._db = db
            await self._migrate()
        except BaseException:
            self._db = None
            await db.close()
            raise

    async def _migrate(self) -> None:
        async with self._write() as db:
            await db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            async with db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cur:
                row = await cur.fetchone()
            current = int(row[0]) if row is not None else 0
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (version, to_text(utc())),
                )

    async def schema_version(self) -> int:
        """The highest migration applied to this file."""
        row = await self._row("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int(row[0]) if row is not None else 0

    async def close(self) -> None:
        """Close the connection (every write is already committed)."""
        if self._db is None:
            return
        async with self._lock:
            db, self._db = self._db, None
            await db.close()

    # -- users -----------------------------------------------------------------------------------
    async def get_user(self, user_id: int) -> User | None:
        row = await self._row("SELECT * FROM users WHERE user_id = ?", (user_id,))
        return _user(row) if row is not None else None

    async def upsert_user(self, user_id: int, chat_id: int) -> User:
        async with (
            self._write() as db,
            db.execute(
                "INSERT INTO users (user_id, chat_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET chat_id = excluded.chat_id, active = 1 "
                "RETURNING *",
                (user_id, chat_id, to_text(utc())),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        assert row is not None
        return _user(row)

    async def set_language(self, user_id: int, language: str | None) -> None:
        await self._execute("UPDATE users SET language = ? WHERE user_id = ?", (language, user_id))

    async def set_frequency(self, user_id: int, frequency: Frequency) -> None:
        await self._execute(
            "UPDATE users SET frequency = ? WHERE user_id = ?", (frequency, user_id)
        )

    async def set_active(self, user_id: int, active: bool) -> None:
        await self._execute("UPDATE users SET active = ? WHERE user_id = ?", (int(active), user_id))

    # -- unanswered questions --------------------------------------------------------------
    async def record_questions(self, questions: Sequence[tuple[str, str, str, float]]) -> None:
        if not questions:
            return
        now = to_text(utc())
        rows = [(text, normalise_question(text), language, kind, score, now)
                for text, language, kind, score in questions]
        async with self._write() as db:
            await db.executemany(
                "INSERT INTO unanswered (text, norm, language, kind, score, asked_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    async def top_unanswered(self, since: datetime, limit: int) -> list[UnansweredQuestion]:
        rows = await self._rows(
            """WITH recent AS (
                SELECT id, norm, kind, language, asked_at,
                       COUNT(*) OVER (PARTITION BY norm) AS n,
                       ROW_NUMBER() OVER (PARTITION BY norm ORDER BY asked_at DESC, id DESC) AS rn
                FROM unanswered WHERE asked_at >= ?
            )
            SELECT norm, n, asked_at, kind, language FROM recent WHERE rn = 1
            ORDER BY n DESC, asked_at DESC, id DESC LIMIT ?""",
            (to_text(since), limit),
        )
        return [
            UnansweredQuestion(
                text=row["norm"],
                count=row["n"],
                last_asked=from_text(row["asked_at"]),
                kind=row["kind"],
                language=row["language"],
            )
            for row in rows
        ]

    # -- key/value ---------------------------------------------------------------------------
    async def kv_get(self, namespace: str, key: str) -> Any | None:
        row = await self._row(
            "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
        )
        return loads(row["value"]) if row is not None else None

    async def kv_set(self, namespace: str, key: str, value: Any) -> None:
        await self._execute(
            "INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (namespace, key, dumps(value), to_text(utc())),
        )

    async def kv_delete(self, namespace: str, key: str) -> None:
        await self._execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))

    async def kv_items(self, namespace: str) -> dict[str, Any]:
        rows = await self._rows(
            "SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", (namespace,)
        )
        return {row["key"]: loads(row["value"]) for row in rows}

    # -- feedback ------------------------------------------------------------------------------
    async def add_feedback(
        self, new: NewFeedback, deliveries: Sequence[NewOutbox], now: datetime | None = None
    ) -> Feedback:
        moment = utc(now)
        day = reference_day(moment)
        async with self._write() as db:
            async with db.execute(
                "INSERT INTO feedback_counters (day, last) VALUES (?, 1) "
                "ON CONFLICT (day) DO UPDATE SET last = last + 1 RETURNING last",
                (day.isoformat(),),
            ) as cursor:
                counter = await cursor.fetchone()
            assert counter is not None
            reference = format_reference(day, int(counter[0]))
            async with db.execute(
                "INSERT INTO feedback (reference, user_id, chat_id, kind, item, text, norm_text, "
                "contact_name, contact_phone, attachments, language, state, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?) RETURNING *",
                (
                    reference,
                    new.user_id,
                    new.chat_id,
                    new.kind,
                    new.item,
                    new.text,
                    normalise_feedback(new.text),
                    new.contact_name,
                    new.contact_phone,
                    dumps(list(new.attachments)),
                    new.language,
                    to_text(moment),
                ),
            ) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            await self._insert_outbox(db, with_reference(deliveries, reference), moment)
        return _feedback(row)

    async def get_feedback(self, reference: str) -> Feedback | None:
        row = await self._row("SELECT * FROM feedback WHERE reference = ?", (reference,))
        return _feedback(row) if row is not None else None

    async def list_feedback(self, user_id: int | None = None) -> list[Feedback]:
        if user_id is None:
            rows = await self._rows("SELECT * FROM feedback ORDER BY created_at DESC, id DESC")
        else:
            rows = await self._rows(
                "SELECT * FROM feedback WHERE user_id = ? ORDER BY created_at DESC, id DESC",
                (user_id,),
            )
        return [_feedback(row) for row in rows]

    async def count_feedback_since(self, user_id: int, since: datetime) -> int:
        row = await self._row(
            "SELECT COUNT(*) FROM feedback WHERE user_id = ? AND created_at >= ?",
            (user_id, to_text(since)),
        )
        return int(row[0]) if row is not None else 0

    async def has_feedback_text_since(self, user_id: int, text: str, since: datetime) -> bool:
        row = await self._row(
            "SELECT 1 FROM feedback WHERE user_id = ? AND norm_text = ? AND created_at >= ? "
            "LIMIT 1",
            (user_id, normalise_feedback(text), to_text(since)),
        )
        return row is not None

    async def set_feedback_state(self, reference: str, state: FeedbackState) -> None:
        await self._execute("UPDATE feedback SET state = ? WHERE reference = ?", (state, reference))

    # -- outbox ----------------------------------------------------------------------------------
    @staticmethod
    async def _insert_outbox(
        db: aiosqlite.Connection, items: Sequence[NewOutbox], moment: datetime
    ) -> int:
        created = to_text(moment)
        rows = [
            (
                item.kind,
                item.dedupe_key,
                dumps(item.payload),
                item.feedback_reference,
                to_text(item.not_before) if item.not_before is not None else created,
                created,
            )
            for item in items
        ]
        # executemany's rowcount is the sum over the rows: skipped duplicates count 0.
        cursor = await db.executemany(
            "INSERT INTO outbox (kind, dedupe_key, payload, feedback_reference, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (dedupe_key) DO NOTHING",
            rows,
        )
        new = cursor.rowcount
        await cursor.close()
        return new

    async def enqueue(self, items: Sequence[NewOutbox]) -> int:
        if not items:
            return 0
        async with self._write() as db:
            return await self._insert_outbox(db, items, utc())

    async def claim_due(
        self, kinds: Sequence[str], limit: int, lease: timedelta, now: datetime | None = None
    ) -> list[OutboxItem]:
        if not kinds or limit <= 0:
            return []
        moment = utc(now)
        marks = ", ".join("?" for _ in kinds)
        async with self._write() as db:
            async with db.execute(
                f"SELECT id FROM outbox WHERE state = 'pending' AND kind IN ({marks}) "
                "AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                (*kinds, to_text(moment), limit),
            ) as cursor:
                ids = [row[0] for row in await cursor.fetchall()]
            if not ids:
                return []
            id_marks = ", ".join("?" for _ in ids)
            async with db.execute(
                f"UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1 "
                f"WHERE id IN ({id_marks}) RETURNING *",
                (to_text(moment + lease), *ids),
            ) as cursor:
                rows = list(await cursor.fetchall())
        return sorted((_outbox(row) for row in rows), key=lambda item: item.id)

    async def _finish(self, outbox_id: int, outcome: str, sql: str, params: Sequence[Any]) -> None:
        """Update one pending row and, for an email of a feedback, that feedback's state."""
        async with self._write() as db:
            async with db.execute(
                f"{sql} WHERE id = ? AND state = 'pending' RETURNING kind, feedback_reference",
                (*params, outbox_id),
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None and row["kind"] == "email" and row["feedback_reference"]:
                await db.execute(
                    "UPDATE feedback SET state = ? WHERE reference = ?",
                    (_EMAIL_STATE[outcome], row["feedback_reference"]),
                )

    async def mark_sent(self, outbox_id: int, now: datetime | None = None) -> None:
        await self._finish(
            outbox_id,
            "sent",
            "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL",
            (to_text(utc(now)),),
        )

    async def mark_sent_many(self, outbox_ids: Sequence[int], now: datetime | None = None) -> None:
        ids = list(dict.fromkeys(outbox_ids))
        if not ids:
            return
        moment = to_text(utc(now))
        async with self._write() as db:
            for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
                chunk = ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                async with db.execute(
                    "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL "
                    f"WHERE id IN ({marks}) AND state = 'pending' "
                    "RETURNING kind, feedback_reference",
                    (moment, *chunk),
                ) as cursor:
                    rows = list(await cursor.fetchall())
                for row in rows:
                    if row["kind"] == "email" and row["feedback_reference"]:
                        await db.execute(
                            "UPDATE feedback SET state = ? WHERE reference = ?",
                            (_EMAIL_STATE["sent"], row["feedback_reference"]),
                        )

    async def mark_retry(self, outbox_id: int, next_attempt_at: datetime, error: str) -> None:
        await self._finish(
            outbox_id,
            "retry",
            "UPDATE outbox SET next_attempt_at = ?, last_error = ?",
            (to_text(next_attempt_at), error),
        )

    async def mark_failed(self, outbox_id: int, error: str) -> None:
        await self._finish(
            outbox_id, "failed", "UPDATE outbox SET state = 'failed', last_error = ?", (error,)
        )

    async def outbox_by_key(self, dedupe_key: str) -> OutboxItem | None:
        row = await self._row("SELECT * FROM outbox WHERE dedupe_key = ?", (dedupe_key,))
        return _outbox(row) if row is not None else None

    async def outbox_counts(self, kind: str | None = None) -> dict[str, int]:
        if kind is None:
            rows = await self._rows("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        else:
            rows = await self._rows(
                "SELECT state, COUNT(*) FROM outbox WHERE kind = ? GROUP BY state", (kind,)
            )
        counts = {"pending": 0, "sent": 0, "failed": 0}
        counts.update({row[0]: int(row[1]) for row in rows})
        return counts

    # -- subscriptions -----------------------------------------------------------------------
    async def add_subscription(
        self, user_id: int, chat_id: int, scope: Scope, target: int | None
    ) -> Subscription:
        async with self._write() as db:
            await db.execute(
                "INSERT INTO subscriptions (user_id, chat_id, scope, target, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (user_id, chat_id, scope, target, to_text(utc())),
            )
            async with db.execute(
                "SELECT * FROM subscriptions WHERE user_id = ? AND scope = ? AND target IS ?",
                (user_id, scope, target),
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return _subscription(row)

    async def remove_subscription(self, user_id: int, subscription_id: int) -> bool:
        removed = await self._execute(
            "DELETE FROM subscriptions WHERE id = ? AND user_id = ?", (subscription_id, user_id)
        )
        return removed > 0

    async def remove_all_subscriptions(self, user_id: int) -> int:
        return await self._execute("DELETE FROM subscriptions WHERE user_id = ?", (user_id,))

    async def list_subscriptions(self, user_id: int) -> list[Subscription]:
        rows = await self._rows(
            "SELECT * FROM subscriptions WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [_subscription(row) for row in rows]

    async def all_subscriptions(self, active_only: bool = True) -> list[Subscription]:
        # A subscriber without a users row has never been seen to block the bot: active.
        rows = await self._rows(
            "SELECT s.* FROM subscriptions s LEFT JOIN users u ON u.user_id = s.user_id "
            "WHERE ? = 0 OR COALESCE(u.active, 1) = 1 ORDER BY s.id",
            (int(active_only),),
        )
        return [_subscription(row) for row in rows]

    # -- notices -------------------------------------------------------------------------------
    async def add_notice(
        self,
        text: str,
        source: str,
        notice_date: str,
        published_by: int | None,
        meta: dict[str, Any] | None = None,
    ) -> StoredNotice:
        async with (
            self._write() as db,
            db.execute(
                "INSERT INTO notices (text, source, notice_date, published_by, published_at, meta) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                (text, source, notice_date, published_by, to_text(utc()), dumps(meta or {})),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        assert row is not None
        return _notice(row)

    async def list_notices(self) -> list[StoredNotice]:
        return [_notice(row) for row in await self._rows("SELECT * FROM notices ORDER BY id")]

    async def latest_notice(self) -> StoredNotice | None:
        row = await self._row("SELECT * FROM notices ORDER BY id DESC LIMIT 1")
        return _notice(row) if row is not None else None
