"""The store in PostgreSQL (asyncpg, the optional `postgres` extra), for one or more instances.

A connection pool; every method is one transaction, committed before it returns. Several bot
instances may share the database: migrations run under an advisory lock, `claim_due` takes
rows with `FOR UPDATE SKIP LOCKED` (two senders never get the same row), and references come
from a per-day counter row incremented by an atomic upsert (its row lock serialises
concurrent confirmations until commit, so no number is handed out twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from store._common import (
    dumps,
    format_reference,
    loads,
    normalise_feedback,
    normalise_question,
    reference_day,
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
                user_id BIGINT PRIMARY KEY,
                chat_id BIGINT NOT NULL,
                language TEXT,
                frequency TEXT NOT NULL DEFAULT 'immediate',
                active BOOLEAN NOT NULL DEFAULT TRUE,
                created_at TIMESTAMPTZ NOT NULL
            )""",
            """CREATE TABLE unanswered (
                id BIGSERIAL PRIMARY KEY,
                text TEXT NOT NULL,
                norm TEXT NOT NULL,
                language TEXT NOT NULL,
                kind TEXT NOT NULL,
                score DOUBLE PRECISION NOT NULL,
                asked_at TIMESTAMPTZ NOT NULL
            )""",
            "CREATE INDEX unanswered_asked_at ON unanswered (asked_at)",
            """CREATE TABLE kv (
                namespace TEXT NOT NULL,
                key TEXT NOT NULL,
                value JSONB NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (namespace, key)
            )""",
            """CREATE TABLE feedback_counters (
                day DATE PRIMARY KEY,
                last INTEGER NOT NULL
            )""",
            """CREATE TABLE feedback (
                id BIGSERIAL PRIMARY KEY,
                reference TEXT NOT NULL UNIQUE,
                user_id BIGINT NOT NULL,
                chat_id BIGINT NOT NULL,
                kind TEXT NOT NULL,
                item INTEGER,
                text TEXT NOT NULL,
                norm_text TEXT NOT NULL,
                contact_name TEXT,
                contact_phone TEXT,
                attachments JSONB NOT NULL,
                language TEXT NOT NULL,
                state TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL
            )""",
            "CREATE INDEX feedback_user ON feedback (user_id, created_at)",
            """CREATE TABLE outbox (
                id BIGSERIAL PRIMARY KEY,
                kind TEXT NOT NULL,
                dedupe_key TEXT NOT NULL UNIQUE,
                payload JSONB NOT NULL,
                feedback_reference TEXT,
                state TEXT NOT NULL DEFAULT 'pending',
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TIMESTAMPTZ NOT NULL,
                last_error TEXT,
                created_at TIMESTAMPTZ NOT NULL,
                sent_at TIMESTAMPTZ
            )""",
            "CREATE INDEX outbox_due ON outbox (kind, next_attempt_at) WHERE state = 'pending'",
            "CREATE INDEX outbox_feedback ON outbox (feedback_reference)",
            """CREATE TABLE subscriptions (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL,
                chat_id BIGINT NOT NULL,
                scope TEXT NOT NULL,
                target INTEGER,
                created_at TIMESTAMPTZ NOT NULL
            )""",
            # NULL targets ("all") must collide too, hence the expression.
            """CREATE UNIQUE INDEX subscriptions_unique
                ON subscriptions (user_id, scope, COALESCE(target, -1))""",
            """CREATE TABLE notices (
                id BIGSERIAL PRIMARY KEY,
                text TEXT NOT NULL,
                source TEXT NOT NULL,
                notice_date TEXT NOT NULL,
                published_by BIGINT,
                published_at TIMESTAMPTZ NOT NULL,
                meta JSONB NOT NULL
            )""",
        ),
    ),
]

_EMAIL_STATE = {"sent": "forwarded", "retry": "retrying", "failed": "failed"}

_OUTBOX_INSERT = """
    INSERT INTO outbox (kind, dedupe_key, payload, feedback_reference, next_attempt_at,
                        created_at)
    SELECT t.kind, t.dedupe_key, t.payload::jsonb, t.feedback_reference,
           COALESCE(t.not_before, $6), $6
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
         WITH ORDINALITY AS t(kind, dedupe_key, payload, feedback_reference, not_before, n)
    ORDER BY t.n
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id
"""


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _user(row: asyncpg.Record) -> User:
    return User(
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        language=row["language"],
        frequency=row["frequency"],
        active=row["active"],
        created_at=row["created_at"],
    )


def _feedback(row: asyncpg.Record) -> Feedback:
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
        created_at=row["created_at"],
    )


def _outbox(row: asyncpg.Record) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        kind=row["kind"],
        dedupe_key=row["dedupe_key"],
        payload=loads(row["payload"]),
        feedback_reference=row["feedback_reference"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
    )


def _subscription(row: asyncpg.Record) -> Subscription:
    return Subscription(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        scope=row["scope"],
        target=row["target"],
        created_at=row["created_at"],
    )


def _notice(row: asyncpg.Record) -> StoredNotice:
    return StoredNotice(
        id=row["id"],
        text=row["text"],
        source=row["source"],
        notice_date=row["notice_date"],
        published_by=row["published_by"],
        published_at=row["published_at"],
        meta=loads(row["meta"]),
    )


class PostgresStore(Store):
    """The store in a PostgreSQL database (optionally in its own `schema`, created on open)."""

    def __init__(
        self, url: str, *, schema: str | None = None, min_size: int = 1, max_size: int = 10
    ) -> None:
        self._url = url
        self._schema = schema
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None

    def __repr__(self) -> str:
        where = self._url.rsplit("@", 1)[-1]  # never the password
        return f"PostgresStore({where!r}, schema={self._schema!r})"

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("PostgresStore is not open: await store.open() first")
        return self._pool

    async def _rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return list(await self.pool.fetch(sql, *args))

    async def _row(self, sql: str, *args: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.pool.fetchrow(sql, *args)
        return row

    async def _count(self, sql: str, *args: Any) -> int:
        """Run one write statement; the number of rows it changed."""
        status: str = await self.pool.execute(sql, *args)
        return int(status.rsplit(" ", 1)[-1])

    # -- lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:
        """Create the pool (and the schema, if one was named) and apply pending migrations."""
        if self._pool is not None:
            return
        settings = {}
        if self._schema is not None:
            conn = await asyncpg.connect(self._url)
            try:
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(self._schema)}")
            except asyncpg.UniqueViolationError:
                pass  # created at the same moment by another instance
            finally:
                await conn.close()
            settings["search_path"] = _quote(self._schema)
        pool = await asyncpg.create_pool(
            self._url,
            min_size=self._min_size,
            max_size=self._max_size,
            server_settings=settings,
        )
        try:
            await self._migrate(pool)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    @staticmethod
    async def _migrate(pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn, conn.transaction():
            # Instances starting together migrate one after the other.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('rectification-bot:' || current_schema()))"
            )
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            current = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)

    async def schema_version(self) -> int:
        """The highest migration applied to this database (schema)."""
        version = await self.pool.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int(version)

    async def close(self) -> None:
        """Close the pool (every write is already committed)."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        await pool.close()

    # -- users -----------------------------------------------------------------------------------
    async def get_user(self, user_id: int) -> User | None:
        row = await self._row("SELECT * FROM users WHERE user_id = $1", user_id)
        return _user(row) if row is not None else None

    async def upsert_user(self, user_id: int, chat_id: int) -> User:
        row = await self._row(
            "INSERT INTO users (user_id, chat_id, created_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id) DO UPDATE SET chat_id = excluded.chat_id, active = TRUE "
            "RETURNING *",
            user_id,
            chat_id,
            utc(),
        )
        assert row is not None
        return _user(row)

    async def set_language(self, user_id: int, language: str | None) -> None:
        await self._count("UPDATE users SET language = $1 WHERE user_id = $2", language, user_id)

    async def set_frequency(self, user_id: int, frequency: Frequency) -> None:
        await self._count("UPDATE users SET frequency = $1 WHERE user_id = $2", frequency, user_id)

    async def set_active(self, user_id: int, active: bool) -> None:
        await self._count("UPDATE users SET active = $1 WHERE user_id = $2", active, user_id)

    # -- unanswered questions --------------------------------------------------------------
    async def record_questions(self, questions: Sequence[tuple[str, str, str, float]]) -> None:
        if not questions:
            return
        now = utc()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO unanswered (text, norm, language, kind, score, asked_at) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                [(text, normalise_question(text), language, kind, score, now)
                 for text, language, kind, score in questions],
            )

    async def top_unanswered(self, since: datetime, limit: int) -> list[UnansweredQuestion]:
        rows = await self._rows(
            """WITH recent AS (
                SELECT id, norm, kind, language, asked_at,
                       COUNT(*) OVER (PARTITION BY norm) AS n,
                       ROW_NUMBER() OVER (PARTITION BY norm ORDER BY asked_at DESC, id DESC) AS rn
                FROM unanswered WHERE asked_at >= $1
            )
            SELECT norm, n, asked_at, kind, language FROM recent WHERE rn = 1
            ORDER BY n DESC, asked_at DESC, id DESC LIMIT $2""",
            utc(since),
            limit,
        )
        return [
            UnansweredQuestion(
                text=row["norm"],
                count=row["n"],
                last_asked=row["asked_at"],
                kind=row["kind"],
                language=row["language"],
            )
            for row in rows
        ]

    # -- key/value ---------------------------------------------------------------------------
    async def kv_get(self, namespace: str, key: str) -> Any | None:
        value = await self.pool.fetchval(
            "SELECT value FROM kv WHERE namespace = $1 AND key = $2", namespace, key
        )
        return loads(value) if value is not None else None

    async def kv_set(self, namespace: str, key: str, value: Any) -> None:
        await self._count(
            "INSERT INTO kv (namespace, key, value, updated_at) VALUES ($1, $2, $3::jsonb, $4) "
            "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            namespace,
            key,
            dumps(value),
            utc(),
        )

    async def kv_delete(self, namespace: str, key: str) -> None:
        await self._count("DELETE FROM kv WHERE namespace = $1 AND key = $2", namespace, key)

    async def kv_items(self, namespace: str) -> dict[str, Any]:
        rows = await self._rows(
            "SELECT key, value FROM kv WHERE namespace = $1 ORDER BY key", namespace
        )
        return {row["key"]: loads(row["value"]) for row in rows}

    # -- feedback ------------------------------------------------------------------------------
    async def add_feedback(
        self, new: NewFeedback, deliveries: Sequence[NewOutbox], now: datetime | None = None
    ) -> Feedback:
        moment = utc(now)
        day = reference_day(moment)
        async with self.pool.acquire() as conn, conn.transaction():
            number = await conn.fetchval(
                "INSERT INTO feedback_counters (day, last) VALUES ($1, 1) "
                "ON CONFLICT (day) DO UPDATE SET last = feedback_counters.last + 1 "
                "RETURNING last",
                day,
            )
            reference = format_reference(day, int(number))
            row = await conn.fetchrow(
                "INSERT INTO feedback (reference, user_id, chat_id, kind, item, text, norm_text, "
                "contact_name, contact_phone, attachments, language, state, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, 'received', $12) "
                "RETURNING *",
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
                moment,
            )
            await self._insert_outbox(conn, with_reference(deliveries, reference), moment)
        return _feedback(row)

    async def get_feedback(self, reference: str) -> Feedback | None:
        row = await self._row("SELECT * FROM feedback WHERE reference = $1", reference)
        return _feedback(row) if row is not None else None

    async def list_feedback(self, user_id: int | None = None) -> list[Feedback]:
        rows = await self._rows(
            "SELECT * FROM feedback WHERE $1::bigint IS NULL OR user_id = $1 "
            "ORDER BY created_at DESC, id DESC",
            user_id,
        )
        return [_feedback(row) for row in rows]

    async def count_feedback_since(self, user_id: int, since: datetime) -> int:
        count = await self.pool.fetchval(
            "SELECT COUNT(*) FROM feedback WHERE user_id = $1 AND created_at >= $2",
            user_id,
            utc(since),
        )
        return int(count)

    async def has_feedback_text_since(self, user_id: int, text: str, since: datetime) -> bool:
        found = await self.pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM feedback "
            "WHERE user_id = $1 AND norm_text = $2 AND created_at >= $3)",
            user_id,
            normalise_feedback(text),
            utc(since),
        )
        return bool(found)

    async def set_feedback_state(self, reference: str, state: FeedbackState) -> None:
        await self._count("UPDATE feedback SET state = $1 WHERE reference = $2", state, reference)

    # -- outbox ----------------------------------------------------------------------------------
    @staticmethod
    async def _insert_outbox(
        conn: asyncpg.Connection, items: Sequence[NewOutbox], moment: datetime
    ) -> int:
        if not items:
            return 0
        rows = await conn.fetch(
            _OUTBOX_INSERT,
            [item.kind for item in items],
            [item.dedupe_key for item in items],
            [dumps(item.payload) for item in items],
            [item.feedback_reference for item in items],
            [utc(item.not_before) if item.not_before is not None else None for item in items],
            moment,
        )
        return len(rows)

    async def enqueue(self, items: Sequence[NewOutbox]) -> int:
        if not items:
            return 0
        async with self.pool.acquire() as conn, conn.transaction():
            return await self._insert_outbox(conn, items, utc())

    async def claim_due(
        self, kinds: Sequence[str], limit: int, lease: timedelta, now: datetime | None = None
    ) -> list[OutboxItem]:
        if not kinds or limit <= 0:
            return []
        moment = utc(now)
        # SKIP LOCKED: rows another sender is claiming right now are passed over, not waited
        # for; once it commits they are no longer due (their lease has started).
        rows = await self._rows(
            """WITH due AS (
                SELECT id FROM outbox
                WHERE state = 'pending' AND kind = ANY($1::text[]) AND next_attempt_at <= $2
                ORDER BY id LIMIT $3
                FOR UPDATE SKIP LOCKED
            )
            UPDATE outbox o SET next_attempt_at = $4, attempts = o.attempts + 1
            FROM due WHERE o.id = due.id
            RETURNING o.*""",
            list(kinds),
            moment,
            limit,
            moment + lease,
        )
        return sorted((_outbox(row) for row in rows), key=lambda item: item.id)

    async def _finish(self, outbox_id: int, outcome: str, sql: str, *args: Any) -> None:
        """Update one pending row and, for an email of a feedback, that feedback's state."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"{sql} WHERE id = ${len(args) + 1} AND state = 'pending' "
                "RETURNING kind, feedback_reference",
                *args,
                outbox_id,
            )
            if row is not None and row["kind"] == "email" and row["feedback_reference"]:
                await conn.execute(
                    "UPDATE feedback SET state = $1 WHERE reference = $2",
                    _EMAIL_STATE[outcome],
                    row["feedback_reference"],
                )

    async def mark_sent(self, outbox_id: int, now: datetime | None = None) -> None:
        await self._finish(
            outbox_id,
            "sent",
            "UPDATE outbox SET state = 'sent', sent_at = $1, last_error = NULL",
            utc(now),
        )

    async def mark_sent_many(self, outbox_ids: Sequence[int], now: datetime | None = None) -> None:
        ids = list(dict.fromkeys(outbox_ids))
        if not ids:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "UPDATE outbox SET state = 'sent', sent_at = $1, last_error = NULL "
                "WHERE id = ANY($2::bigint[]) AND state = 'pending' "
                "RETURNING kind, feedback_reference",
                utc(now),
                ids,
            )
            for row in rows:
                if row["kind"] == "email" and row["feedback_reference"]:
                    await conn.execute(
                        "UPDATE feedback SET state = $1 WHERE reference = $2",
                        _EMAIL_STATE["sent"],
                        row["feedback_reference"],
                    )

    async def mark_retry(self, outbox_id: int, next_attempt_at: datetime, error: str) -> None:
        await self._finish(
            outbox_id,
            "retry",
            "UPDATE outbox SET next_attempt_at = $1, last_error = $2",
            utc(next_attempt_at),
            error,
        )

    async def mark_failed(self, outbox_id: int, error: str) -> None:
        await self._finish(
            outbox_id, "failed", "UPDATE outbox SET state = 'failed', last_error = $1", error
        )

    async def outbox_by_key(self, dedupe_key: str) -> OutboxItem | None:
        row = await self._row("SELECT * FROM outbox WHERE dedupe_key = $1", dedupe_key)
        return _outbox(row) if row is not None else None

    async def outbox_counts(self, kind: str | None = None) -> dict[str, int]:
        rows = await self._rows(
            "SELECT state, COUNT(*) AS n FROM outbox WHERE $1::text IS NULL OR kind = $1 "
            "GROUP BY state",
            kind,
        )
        counts = {"pending": 0, "sent": 0, "failed": 0}
        counts.update({row["state"]: int(row["n"]) for row in rows})
        return counts

    # -- subscriptions -----------------------------------------------------------------------
    async def add_subscription(
        self, user_id: int, chat_id: int, scope: Scope, target: int | None
    ) -> Subscription:
        async with self.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO subscriptions (user_id, chat_id, scope, target, created_at) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                user_id,
                chat_id,
                scope,
                target,
                utc(),
            )
            # A separate statement: it sees a row a concurrent insert has just committed.
            row = await conn.fetchrow(
                "SELECT * FROM subscriptions "
                "WHERE user_id = $1 AND scope = $2 AND target IS NOT DISTINCT FROM $3",
                user_id,
                scope,
                target,
            )
        assert row is not None
        return _subscription(row)

    async def remove_subscription(self, user_id: int, subscription_id: int) -> bool:
        removed = await self._count(
            "DELETE FROM subscriptions WHERE id = $1 AND user_id = $2", subscription_id, user_id
        )
        return removed > 0

    async def remove_all_subscriptions(self, user_id: int) -> int:
        return await self._count("DELETE FROM subscriptions WHERE user_id = $1", user_id)

    async def list_subscriptions(self, user_id: int) -> list[Subscription]:
        rows = await self._rows(
            "SELECT * FROM subscriptions WHERE user_id = $1 ORDER BY id", user_id
        )
        return [_subscription(row) for row in rows]

    async def all_subscriptions(self, active_only: bool = True) -> list[Subscription]:
        # A subscriber without a users row has never been seen to block the bot: active.
        rows = await self._rows(
            "SELECT s.* FROM subscriptions s LEFT JOIN users u ON u.user_id = s.user_id "
            "WHERE NOT $1::boolean OR COALESCE(u.active, TRUE) ORDER BY s.id",
            active_only,
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
        row = await self._row(
            "INSERT INTO notices (text, source, notice_date, published_by, published_at, meta) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING *",
            text,
            source,
            notice_date,
            published_by,
            utc(),
            dumps(meta or {}),
        )
        assert row is not None
        return _notice(row)

    async def list_notices(self) -> list[StoredNotice]:
        return [_notice(row) for row in await self._rows("SELECT * FROM notices ORDER BY id")]

    async def latest_notice(self) -> StoredNotice | None:
        row = await self._row("SELECT * FROM notices ORDER BY id DESC LIMIT 1")
        return _notice(row) if row is not None else None
