"""The store contract: ONE test class run against every backend (SQLite file, PostgreSQL).

SQLite runs on a real file in tmp_path; PostgreSQL on the real server (TEST_DATABASE_URL,
default postgresql://postgres@127.0.0.1:5432/test), each test in a fresh schema dropped
afterwards. When PostgreSQL is unreachable its tests skip, or fail if the CI variable is set.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store import NewFeedback, NewOutbox, Store, open_store
from store.sqlite import SQLiteStore

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")

# A fixed clock far from "now", so date arithmetic in tests never depends on the real time.
T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai, 28 Nov 2026
LEASE = timedelta(minutes=5)
LONG_TEXT = ("眉山高新区污水处理厂整改进展如何？🚧🌊" * 200)[:1998] + "👍🏽"


@dataclass
class Backend:
    """Makes unopened stores over the same storage (for reopen and multi-instance tests)."""

    name: str
    make: Callable[[], Store]


async def _pg_backend() -> AsyncIterator[Backend]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    asyncpg = pytest.importorskip("asyncpg")
    from store.postgres import PostgresStore

    try:
        admin = await asyncpg.connect(PG_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL is not reachable at {PG_URL.split('@')[-1]}: {exc!r}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set, so this is a failure; start it with .ci/run)")
        pytest.skip(message)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    try:
        yield Backend("postgres", lambda: PostgresStore(PG_URL, schema=schema))
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Every backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "nested" / "dir" / "bot.sqlite3"
        yield Backend("sqlite", lambda: SQLiteStore(path))
    else:
        async for backend in _pg_backend():
            yield backend


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    """An opened store of the backend, closed afterwards."""
    opened = backend.make()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def feedback(
    user_id: int = 1, text: str = "污水处理厂附近晚上有异味，希望尽快整改。"
) -> NewFeedback:
    """A citizen's opinion as the feedback flow builds it."""
    return NewFeedback(
        user_id=user_id,
        chat_id=user_id + 1000,
        kind="complaint",
        item=12,
        text=text,
        contact_name="张三",
        contact_phone="13800000000",
        attachments=({"file_id": "AgAD", "kind": "photo", "name": "照片.jpg"},),
        language="zh",
    )


def email(key: str = "email:{reference}") -> NewOutbox:
    """The email delivery of a feedback, with placeholders."""
    return NewOutbox(
        kind="email",
        dedupe_key=key,
        payload={"subject": "意见 {reference}", "nested": {"r": "{reference}"}, "n": 3},
    )


def note(key: str, kind: str = "notification", not_before: datetime | None = None) -> NewOutbox:
    """A plain outbox message."""
    return NewOutbox(kind=kind, dedupe_key=key, payload={"text": key}, not_before=not_before)


def is_utc(moment: datetime) -> bool:
    """Whether `moment` is timezone-aware UTC."""
    return moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


class TestStoreContract:
    """What every backend must do, tested against each."""

    # -- lifecycle -------------------------------------------------------------------------
    async def test_data_survives_close_and_reopen(self, backend: Backend) -> None:
        """Everything written is there again after close() and a new store's open()."""
        first = backend.make()
        await first.open()
        await first.upsert_user(7, 70)
        await first.kv_set("user_data", "7", {"draft": "草稿"})
        fb = await first.add_feedback(feedback(7), [email()], now=T0)
        await first.add_subscription(7, 70, "item", 12)
        await first.add_notice("通报", "bundled", "2025-05-28", None)
        await first.close()

        second = backend.make()
        await second.open()
        try:
            user = await second.get_user(7)
            assert user is not None and user.chat_id == 70
            assert await second.kv_get("user_data", "7") == {"draft": "草稿"}
            assert await second.get_feedback(fb.reference) == fb
            assert (await second.outbox_by_key(f"email:{fb.reference}")) is not None
            assert [s.target for s in await second.list_subscriptions(7)] == [12]
            latest = await second.latest_notice()
            assert latest is not None and latest.text == "通报"
            again = await second.add_feedback(feedback(7), [], now=T0)
            assert again.reference == "MS-20261128-0002"
        finally:
            await second.close()

    async def test_open_on_existing_schema_keeps_migration_version(self, backend: Backend) -> None:
        """Opening an already migrated store applies nothing twice."""
        first = backend.make()
        await first.open()
        version = await first.schema_version()  # type: ignore[attr-defined]
        await first.close()
        second = backend.make()
        await second.open()
        try:
            assert version >= 1
            assert await second.schema_version() == version  # type: ignore[attr-defined]
        finally:
            await second.close()

    # -- users -------------------------------------------------------------------------------
    async def test_unknown_user_is_none(self, store: Store) -> None:
        """get_user of someone never seen is None."""
        assert await store.get_user(404) is None

    async def test_upsert_creates_user_with_defaults(self, store: Store) -> None:
        """A new user has no language, immediate frequency, is active, created in UTC."""
        user = await store.upsert_user(1, 100)
        assert (user.user_id, user.chat_id, user.language) == (1, 100, None)
        assert (user.frequency, user.active) == ("immediate", True)
        assert is_utc(user.created_at)
        assert abs(user.created_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert await store.get_user(1) == user

    async def test_upsert_updates_chat_and_reactivates(self, store: Store) -> None:
        """upsert_user of a known user updates chat_id, reactivates, keeps the rest."""
        created = await store.upsert_user(1, 100)
        await store.set_language(1, "en")
        await store.set_frequency(1, "weekly")
        await store.set_active(1, False)
        user = await store.upsert_user(1, 200)
        assert (user.chat_id, user.active, user.language, user.frequency) == (
            200,
            True,
            "en",
            "weekly",
        )
        assert user.created_at == created.created_at

    async def test_setters_round_trip(self, store: Store) -> None:
        """Language (also back to None), frequency and active flag are stored."""
        await store.upsert_user(1, 100)
        await store.set_language(1, "zh")
        await store.set_frequency(1, "weekly")
        await store.set_active(1, False)
        user = await store.get_user(1)
        assert user is not None
        assert (user.language, user.frequency, user.active) == ("zh", "weekly", False)
        await store.set_language(1, None)
        await store.set_frequency(1, "immediate")
        user = await store.get_user(1)
        assert user is not None and (user.language, user.frequency) == (None, "immediate")

    # -- unanswered questions ----------------------------------------------------------------
    async def test_top_unanswered_groups_normalised_text(self, store: Store) -> None:
        """Questions differing in case and whitespace are one entry with their count."""
        for text in ["Bus  Route?", " bus route? ", "BUS\nROUTE?", "公交 线路"]:
            await store.record_question(text, "en", "none", 0.1)
        top = await store.top_unanswered(T0 - timedelta(days=3650), 10)
        assert [(q.text, q.count) for q in top] == [("bus route?", 3), ("公交 线路", 1)]
        assert all(is_utc(q.last_asked) for q in top)

    async def test_top_unanswered_ties_by_recency_and_reports_latest(self, store: Store) -> None:
        """Equal counts: most recent first; kind and language are the latest ask's."""
        await store.record_question("older", "zh", "none", 0.1)
        await store.record_question("newer", "zh", "none", 0.1)
        await store.record_question("newer", "en", "ambiguous", 0.5)
        await store.record_question("older", "zh", "none", 0.1)
        await asyncio.sleep(0.002)
        await store.record_question("newer", "en", "ambiguous", 0.5)
        await store.record_question("older", "en", "ambiguous", 0.6)
        top = await store.top_unanswered(datetime.now(UTC) - timedelta(hours=1), 10)
        assert [(q.text, q.count) for q in top] == [("older", 3), ("newer", 3)]
        assert (top[0].kind, top[0].language) == ("ambiguous", "en")

    async def test_top_unanswered_respects_since_and_limit(self, store: Store) -> None:
        """Nothing before `since` counts; at most `limit` entries."""
        for text in ["a", "b", "b", "c", "c", "c"]:
            await store.record_question(text, "zh", "none", 0.0)
        since = datetime.now(UTC) - timedelta(hours=1)
        assert [q.text for q in await store.top_unanswered(since, 2)] == ["c", "b"]
        assert await store.top_unanswered(datetime.now(UTC) + timedelta(hours=1), 10) == []

    async def test_record_questions_writes_a_batch(self, store: Store) -> None:
        """A batch of questions is recorded like the same questions one by one; an empty batch
        writes nothing."""
        await store.record_questions([])
        await store.record_questions(
            [("a", "zh", "none", 0.0), ("b", "en", "ambiguous", 0.4), ("A", "zh", "none", 0.1)]
        )
        since = datetime.now(UTC) - timedelta(hours=1)
        top = await store.top_unanswered(since, 10)
        assert [(q.text, q.count) for q in top] == [("a", 2), ("b", 1)]
        assert (top[1].kind, top[1].language) == ("ambiguous", "en")

    # -- key/value -------------------------------------------------------------------------
    async def test_kv_round_trip_overwrite_delete(self, store: Store) -> None:
        """kv_set stores JSON, overwrites, kv_delete removes; missing keys read as None."""
        assert await store.kv_get("ns", "k") is None
        value = {"list": [1, 2.5, None, True], "text": LONG_TEXT, "nested": {"a": "🙂"}}
        await store.kv_set("ns", "k", value)
        assert await store.kv_get("ns", "k") == value
        await store.kv_set("ns", "k", "plain string")
        assert await store.kv_get("ns", "k") == "plain string"
        await store.kv_delete("ns", "k")
        await store.kv_delete("ns", "k")
        assert await store.kv_get("ns", "k") is None

    async def test_kv_items_are_per_namespace(self, store: Store) -> None:
        """kv_items returns one namespace's keys only."""
        await store.kv_set("a", "1", 1)
        await store.kv_set("a", "[2, 3]", [2, 3])
        await store.kv_set("b", "1", "other")
        assert await store.kv_items("a") == {"1": 1, "[2, 3]": [2, 3]}
        assert await store.kv_items("empty") == {}

    # -- feedback --------------------------------------------------------------------------------
    async def test_add_feedback_stores_every_field(self, store: Store) -> None:
        """The stored feedback carries the input, state received, the given time in UTC."""
        fb = await store.add_feedback(feedback(), [], now=T0)
        new = feedback()
        assert (fb.user_id, fb.chat_id, fb.kind, fb.item, fb.text) == (
            new.user_id,
            new.chat_id,
            new.kind,
            new.item,
            new.text,
        )
        assert (fb.contact_name, fb.contact_phone, fb.language) == ("张三", "13800000000", "zh")
        assert fb.attachments == new.attachments
        assert (fb.state, fb.created_at) == ("received", T0)
        assert is_utc(fb.created_at)
        assert await store.get_feedback(fb.reference) == fb
        assert await store.get_feedback("MS-19990101-0001") is None

    async def test_anonymous_feedback_without_item(self, store: Store) -> None:
        """No item, no contact details and no attachments round-trip as None and ()."""
        new = NewFeedback(1, 2, "other", None, "一般性意见，没有具体事项。", None, None)
        fb = await store.add_feedback(new, [], now=T0)
        assert (fb.item, fb.contact_name, fb.contact_phone, fb.attachments) == (
            None,
            None,
            None,
            (),
        )

    async def test_references_count_per_shanghai_day(self, store: Store) -> None:
        """MS-YYYYMMDD-NNNN: the Asia/Shanghai date, counting from 0001 each day."""
        late_utc = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # 01:30 on the 28th in Shanghai
        refs = [
            (await store.add_feedback(feedback(), [], now=moment)).reference
            for moment in (late_utc, T0, T0 + timedelta(hours=13), T0 + timedelta(hours=14))
        ]
        assert refs == [
            "MS-20261128-0001",
            "MS-20261128-0002",
            "MS-20261128-0003",  # 23:00 Shanghai, still the 28th
            "MS-20261129-0001",  # 00:00 Shanghai on the 29th
        ]

    async def test_concurrent_feedback_gets_distinct_consecutive_references(
        self, store: Store
    ) -> None:
        """Twenty opinions confirmed at once get 0001..0020, none twice."""
        results = await asyncio.gather(
            *(store.add_feedback(feedback(i), [email()], now=T0) for i in range(20))
        )
        refs = sorted(fb.reference for fb in results)
        assert refs == [f"MS-20261128-{n:04d}" for n in range(1, 21)]
        assert (await store.outbox_counts("email"))["pending"] == 20

    async def test_concurrent_feedback_across_two_instances(self, backend: Backend) -> None:
        """Two store instances on the same storage never allocate the same reference."""
        first, second = backend.make(), backend.make()
        await first.open()
        await second.open()
        try:
            results = await asyncio.gather(
                *(
                    (first if i % 2 else second).add_feedback(feedback(i), [], now=T0)
                    for i in range(20)
                )
            )
        finally:
            await first.close()
            await second.close()
        assert sorted(fb.reference for fb in results) == [
            f"MS-20261128-{n:04d}" for n in range(1, 21)
        ]

    async def test_deliveries_get_the_reference(self, store: Store) -> None:
        """The "{reference}" placeholder is replaced in dedupe_key and top-level payload strings."""
        fb = await store.add_feedback(feedback(), [email()], now=T0)
        item = await store.outbox_by_key(f"email:{fb.reference}")
        assert item is not None
        assert item.payload == {
            "subject": f"意见 {fb.reference}",
            "nested": {"r": "{reference}"},
            "n": 3,
        }
        assert (item.kind, item.feedback_reference, item.state) == (
            "email",
            fb.reference,
            "pending",
        )
        assert (item.attempts, item.next_attempt_at, item.created_at) == (0, T0, T0)

    async def test_long_chinese_and_emoji_text_round_trips(self, store: Store) -> None:
        """A 2000-character Chinese text with emoji comes back unchanged everywhere."""
        assert len(LONG_TEXT) == 2000
        fb = await store.add_feedback(feedback(text=LONG_TEXT), [email()], now=T0)
        assert (await store.list_feedback(1))[0].text == LONG_TEXT
        assert await store.has_feedback_text_since(1, LONG_TEXT, T0)
        await store.record_question(LONG_TEXT, "zh", "none", 0.0)
        top = await store.top_unanswered(T0, 1)
        assert top[0].text == LONG_TEXT.lower()
        await store.enqueue([NewOutbox("notification", LONG_TEXT, {"text": LONG_TEXT})])
        item = await store.outbox_by_key(LONG_TEXT)
        assert item is not None and item.payload["text"] == LONG_TEXT
        notice = await store.add_notice(LONG_TEXT, "test", "2025-05-28", 1, {"t": LONG_TEXT})
        assert await store.latest_notice() == notice
        assert fb.text == LONG_TEXT

    async def test_list_feedback_newest_first_and_per_user(self, store: Store) -> None:
        """list_feedback is newest first, optionally one user's only."""
        a = await store.add_feedback(feedback(1), [], now=T0)
        b = await store.add_feedback(feedback(2), [], now=T0 + timedelta(minutes=1))
        c = await store.add_feedback(feedback(1), [], now=T0 + timedelta(minutes=2))
        assert [f.reference for f in await store.list_feedback()] == [
            c.reference,
            b.reference,
            a.reference,
        ]
        assert [f.reference for f in await store.list_feedback(1)] == [c.reference, a.reference]
        assert await store.list_feedback(99) == []

    async def test_count_feedback_since(self, store: Store) -> None:
        """Counts one user's feedback at or after `since`."""
        for minutes in (0, 10, 20):
            await store.add_feedback(feedback(1), [], now=T0 + timedelta(minutes=minutes))
        await store.add_feedback(feedback(2), [], now=T0)
        assert await store.count_feedback_since(1, T0) == 3
        assert await store.count_feedback_since(1, T0 + timedelta(minutes=10)) == 2
        assert await store.count_feedback_since(1, T0 + timedelta(hours=1)) == 0
        assert await store.count_feedback_since(3, T0) == 0

    async def test_has_feedback_text_since_normalises_whitespace(self, store: Store) -> None:
        """Same words with other spacing match; other user, other text or older do not."""
        await store.add_feedback(feedback(1, text="路灯  坏了，\n请修理"), [], now=T0)
        assert await store.has_feedback_text_since(1, " 路灯 坏了， 请修理 ", T0)
        assert not await store.has_feedback_text_since(1, "路灯坏了，请修理", T0)
        assert not await store.has_feedback_text_since(2, "路灯 坏了， 请修理", T0)
        assert not await store.has_feedback_text_since(
            1, "路灯 坏了， 请修理", T0 + timedelta(seconds=1)
        )

    async def test_set_feedback_state(self, store: Store) -> None:
        """set_feedback_state changes the state that get_feedback reports."""
        fb = await store.add_feedback(feedback(), [], now=T0)
        await store.set_feedback_state(fb.reference, "stored")
        stored = await store.get_feedback(fb.reference)
        assert stored is not None and stored.state == "stored"

    # -- outbox ------------------------------------------------------------------------------
    async def test_enqueue_skips_existing_keys(self, store: Store) -> None:
        """enqueue counts only new rows; known keys (also repeated in a batch) are skipped."""
        assert await store.enqueue([]) == 0
        assert await store.enqueue([note("a"), note("b")]) == 2
        assert await store.enqueue([note("b"), note("c"), note("c")]) == 1
        first = await store.outbox_by_key("a")
        assert first is not None and first.payload == {"text": "a"}
        assert (await store.outbox_counts())["pending"] == 3
        assert await store.outbox_by_key("zzz") is None

    async def test_new_row_fields(self, store: Store) -> None:
        """A new row is pending, unclaimed, due now (or at not_before), with UTC times."""
        later = T0 + timedelta(hours=1)
        await store.enqueue([note("now"), note("later", not_before=later)])
        now_row, later_row = await store.outbox_by_key("now"), await store.outbox_by_key("later")
        assert now_row is not None and later_row is not None
        assert (now_row.state, now_row.attempts, now_row.last_error, now_row.sent_at) == (
            "pending",
            0,
            None,
            None,
        )
        assert now_row.feedback_reference is None
        assert is_utc(now_row.created_at) and now_row.next_attempt_at == now_row.created_at
        assert later_row.next_attempt_at == later

    async def test_claim_respects_kinds_due_time_limit_and_age(self, store: Store) -> None:
        """Only due rows of the asked kinds, oldest first, at most `limit`."""
        later = T0 + LEASE / 5  # the earlier claims' leases still run
        await store.enqueue([note("n1", not_before=T0), note("e1", "email", T0)])
        await store.enqueue([note("n2", not_before=T0), note("n3", not_before=later)])
        await store.enqueue([note("n4", not_before=T0)])
        claimed = await store.claim_due(["notification"], 2, LEASE, now=T0)
        assert [c.dedupe_key for c in claimed] == ["n1", "n2"]
        rest = await store.claim_due(["notification"], 10, LEASE, now=T0)
        assert [c.dedupe_key for c in rest] == ["n4"]
        rest = await store.claim_due(["notification"], 10, LEASE, now=later)
        assert [c.dedupe_key for c in rest] == ["n3"]
        assert await store.claim_due([], 10, LEASE, now=later) == []
        emails = await store.claim_due(["email", "digest"], 10, LEASE, now=later)
        assert [c.dedupe_key for c in emails] == ["e1"]

    async def test_claim_respects_not_before(self, store: Store) -> None:
        """A row is not claimed before its not_before time, and is at it."""
        await store.enqueue([note("x", not_before=T0)])
        assert (
            await store.claim_due(["notification"], 10, LEASE, now=T0 - timedelta(seconds=1)) == []
        )
        claimed = await store.claim_due(["notification"], 10, LEASE, now=T0)
        assert [c.dedupe_key for c in claimed] == ["x"]

    async def test_claim_takes_a_lease_and_counts_attempts(self, store: Store) -> None:
        """A claimed row moves to now+lease, counts an attempt, and is not claimed again."""
        await store.enqueue([note("x", not_before=T0)])
        (claimed,) = await store.claim_due(["notification"], 10, LEASE, now=T0)
        assert (claimed.attempts, claimed.next_attempt_at, claimed.state) == (
            1,
            T0 + LEASE,
            "pending",
        )
        assert is_utc(claimed.next_attempt_at)
        assert await store.claim_due(["notification"], 10, LEASE, now=T0 + LEASE / 2) == []

    async def test_unmarked_claim_comes_back_after_lease(self, store: Store) -> None:
        """A sender that crashed after claiming: the row is claimable again after the lease."""
        await store.enqueue([note("x", not_before=T0)])
        await store.claim_due(["notification"], 10, LEASE, now=T0)
        (again,) = await store.claim_due(["notification"], 10, LEASE, now=T0 + LEASE)
        assert (again.dedupe_key, again.attempts, again.next_attempt_at) == (
            "x",
            2,
            T0 + 2 * LEASE,
        )

    async def test_mark_sent(self, store: Store) -> None:
        """A sent row records sent_at, is never claimed again, and is counted as sent."""
        await store.enqueue([note("x", not_before=T0)])
        (claimed,) = await store.claim_due(["notification"], 10, LEASE, now=T0)
        await store.mark_sent(claimed.id, now=T0 + timedelta(seconds=3))
        row = await store.outbox_by_key("x")
        assert row is not None and (row.state, row.sent_at) == ("sent", T0 + timedelta(seconds=3))
        assert await store.claim_due(["notification"], 10, LEASE, now=T0 + timedelta(days=9)) == []
        assert await store.outbox_counts() == {"pending": 0, "sent": 1, "failed": 0}

    async def test_mark_sent_many(self, store: Store) -> None:
        """Many rows marked sent at once, in one call; rows no longer pending are left alone,
        and an email row's feedback becomes forwarded as with mark_sent."""
        await store.enqueue([note(k, not_before=T0) for k in ("a", "b", "c", "d")])
        a, b, c, d = await store.claim_due(["notification"], 10, LEASE, now=T0)
        await store.mark_failed(d.id, "gone")
        await store.mark_sent_many([a.id, b.id, b.id, d.id], now=T0 + timedelta(seconds=3))
        await store.mark_sent_many([], now=T0)
        for key, state in (("a", "sent"), ("b", "sent"), ("c", "pending"), ("d", "failed")):
            row = await store.outbox_by_key(key)
            assert row is not None and row.state == state, key
        row = await store.outbox_by_key("a")
        assert row is not None and row.sent_at == T0 + timedelta(seconds=3)
        assert await store.outbox_counts() == {"pending": 1, "sent": 2, "failed": 1}
        fb = await store.add_feedback(feedback(), [email()], now=T0)
        (mail,) = await store.claim_due(["email"], 10, LEASE, now=T0)
        await store.mark_sent_many([mail.id, c.id], now=T0)
        after = await store.get_feedback(fb.reference)
        assert after is not None and after.state == "forwarded"
        assert await store.outbox_counts() == {"pending": 0, "sent": 4, "failed": 1}

    async def test_mark_retry(self, store: Store) -> None:
        """A retried row stays pending with the error, claimable from its new time."""
        await store.enqueue([note("x", not_before=T0)])
        (claimed,) = await store.claim_due(["notification"], 10, LEASE, now=T0)
        retry_at = T0 + timedelta(minutes=1)
        await store.mark_retry(claimed.id, retry_at, "SMTP 421 try later")
        row = await store.outbox_by_key("x")
        assert row is not None
        assert (row.state, row.next_attempt_at, row.last_error) == (
            "pending",
            retry_at,
            "SMTP 421 try later",
        )
        assert await store.claim_due(["notification"], 10, LEASE, now=retry_at - timedelta(1)) == []
        assert len(await store.claim_due(["notification"], 10, LEASE, now=retry_at)) == 1

    async def test_mark_failed(self, store: Store) -> None:
        """A failed row keeps its error, is never claimed again, and is counted as failed."""
        await store.enqueue([note("x", not_before=T0)])
        (claimed,) = await store.claim_due(["notification"], 10, LEASE, now=T0)
        await store.mark_failed(claimed.id, "550 mailbox unavailable")
        row = await store.outbox_by_key("x")
        assert row is not None and (row.state, row.last_error) == (
            "failed",
            "550 mailbox unavailable",
        )
        assert await store.claim_due(["notification"], 10, LEASE, now=T0 + timedelta(days=9)) == []
        assert await store.outbox_counts("notification") == {"pending": 0, "sent": 0, "failed": 1}

    async def test_outbox_counts_by_kind(self, store: Store) -> None:
        """outbox_counts reports every state, for one kind or all."""
        await store.enqueue([note("a"), note("b"), note("c", kind="email")])
        assert await store.outbox_counts() == {"pending": 3, "sent": 0, "failed": 0}
        assert await store.outbox_counts("email") == {"pending": 1, "sent": 0, "failed": 0}
        assert await store.outbox_counts("digest") == {"pending": 0, "sent": 0, "failed": 0}

    @pytest.mark.parametrize(
        ("finish", "expected"),
        [("sent", "forwarded"), ("retry", "retrying"), ("failed", "failed")],
    )
    async def test_feedback_state_follows_its_email(
        self, store: Store, finish: str, expected: str
    ) -> None:
        """Marking a feedback's email sent/retry/failed sets it forwarded/retrying/failed."""
        staff = NewOutbox("staff_copy", "staff:{reference}", {"r": "{reference}"})
        fb = await store.add_feedback(feedback(), [email(), staff], now=T0)
        (copy,) = await store.claim_due(["staff_copy"], 10, LEASE, now=T0)
        await store.mark_sent(copy.id, now=T0)
        unchanged = await store.get_feedback(fb.reference)
        assert unchanged is not None and unchanged.state == "received"
        (mail,) = await store.claim_due(["email"], 10, LEASE, now=T0)
        if finish == "sent":
            await store.mark_sent(mail.id, now=T0)
        elif finish == "retry":
            await store.mark_retry(mail.id, T0 + timedelta(minutes=1), "timeout")
        else:
            await store.mark_failed(mail.id, "rejected")
        after = await store.get_feedback(fb.reference)
        assert after is not None and after.state == expected

    async def test_concurrent_claims_never_share_a_row(self, store: Store) -> None:
        """Ten claimers at once on one store: every row claimed exactly once."""
        await store.enqueue([note(f"k{i}", not_before=T0) for i in range(40)])
        batches = await asyncio.gather(
            *(store.claim_due(["notification"], 3, LEASE, now=T0) for _ in range(10))
        )
        ids = [item.id for batch in batches for item in batch]
        assert len(ids) == len(set(ids)) == 30

    async def test_two_instances_never_claim_the_same_row(self, backend: Backend) -> None:
        """Two store instances on the same storage claiming at once never share a row."""
        first, second = backend.make(), backend.make()
        await first.open()
        await second.open()
        try:
            await first.enqueue([note(f"k{i}", not_before=T0) for i in range(60)])
            batches = await asyncio.gather(
                *(
                    (first if i % 2 else second).claim_due(["notification"], 4, LEASE, now=T0)
                    for i in range(20)
                )
            )
        finally:
            await first.close()
            await second.close()
        ids = [item.id for batch in batches for item in batch]
        assert len(ids) == len(set(ids)) == 60

    # -- subscriptions -------------------------------------------------------------------------
    async def test_add_subscription_is_idempotent(self, store: Store) -> None:
        """The same (user, scope, target) returns the existing subscription, "all" included."""
        item = await store.add_subscription(1, 100, "item", 12)
        everything = await store.add_subscription(1, 100, "all", None)
        assert await store.add_subscription(1, 100, "item", 12) == item
        assert await store.add_subscription(1, 100, "all", None) == everything
        assert (item.scope, item.target, everything.target) == ("item", 12, None)
        assert is_utc(item.created_at)
        assert len(await store.list_subscriptions(1)) == 2

    async def test_distinct_subscriptions(self, store: Store) -> None:
        """Other scope, target or user make new subscriptions, listed per user in order."""
        a = await store.add_subscription(1, 100, "item", 12)
        b = await store.add_subscription(1, 100, "area", 12)
        c = await store.add_subscription(1, 100, "item", 13)
        d = await store.add_subscription(2, 200, "item", 12)
        assert len({a.id, b.id, c.id, d.id}) == 4
        assert await store.list_subscriptions(1) == [a, b, c]
        assert await store.list_subscriptions(2) == [d]
        assert await store.list_subscriptions(3) == []

    async def test_remove_subscription_only_own(self, store: Store) -> None:
        """A user removes their own subscription once; someone else's is refused."""
        sub = await store.add_subscription(1, 100, "item", 12)
        assert not await store.remove_subscription(2, sub.id)
        assert await store.remove_subscription(1, sub.id)
        assert not await store.remove_subscription(1, sub.id)
        assert await store.list_subscriptions(1) == []

    async def test_remove_all_subscriptions(self, store: Store) -> None:
        """remove_all_subscriptions removes one user's and says how many."""
        await store.add_subscription(1, 100, "all", None)
        await store.add_subscription(1, 100, "item", 3)
        kept = await store.add_subscription(2, 200, "all", None)
        assert await store.remove_all_subscriptions(1) == 2
        assert await store.remove_all_subscriptions(1) == 0
        assert await store.all_subscriptions() == [kept]

    async def test_all_subscriptions_follows_active_flag(self, store: Store) -> None:
        """Inactive users' subscriptions are left out unless asked; upsert brings them back."""
        await store.upsert_user(1, 100)
        await store.upsert_user(2, 200)
        a = await store.add_subscription(1, 100, "all", None)
        b = await store.add_subscription(2, 200, "item", 12)
        await store.set_active(2, False)
        assert await store.all_subscriptions() == [a]
        assert await store.all_subscriptions(active_only=False) == [a, b]
        await store.upsert_user(2, 200)
        assert await store.all_subscriptions() == [a, b]

    # -- notices -------------------------------------------------------------------------------
    async def test_notices(self, store: Store) -> None:
        """Notices are kept in order; the latest is the newest by id; meta round-trips."""
        assert await store.latest_notice() is None
        assert await store.list_notices() == []
        first = await store.add_notice("第一份", "bundled", "2025-05-28", None)
        second = await store.add_notice(
            "第二份", "upload.txt", "2025-11-30", 42, {"items": [12, 13], "note": "测试"}
        )
        assert (first.meta, second.meta, second.published_by) == (
            {},
            {"items": [12, 13], "note": "测试"},
            42,
        )
        assert is_utc(second.published_at)
        assert await store.list_notices() == [first, second]
        assert await store.latest_notice() == second


class TestOpenStore:
    """open_store picks the backend from the URL."""

    def test_sqlite_urls(self, tmp_path: Path) -> None:
        """sqlite:/// takes the rest as the path, relative or absolute."""
        relative = open_store("sqlite:///data/bot.sqlite3")
        absolute = open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
        assert isinstance(relative, SQLiteStore) and relative.path == Path("data/bot.sqlite3")
        assert isinstance(absolute, SQLiteStore) and absolute.path == tmp_path / "bot.sqlite3"

    def test_postgres_urls(self) -> None:
        """postgresql:// and postgres:// give the PostgreSQL backend, not yet connected."""
        pytest.importorskip("asyncpg")
        from store.postgres import PostgresStore

        for url in ("postgresql://u@127.0.0.1:5432/db", "postgres://u:secret@h/db"):
            assert isinstance(open_store(url), PostgresStore)

    @pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite:///", "bot.sqlite3", ""])
    def test_unsupported_urls_raise(self, url: str) -> None:
        """Anything else is a ValueError that says what is accepted."""
        with pytest.raises(ValueError, match="sqlite:///"):
            open_store(url)

    def test_error_never_shows_a_password(self) -> None:
        """The message names the scheme, not the whole URL."""
        with pytest.raises(ValueError) as info:
            open_store("mysql://user:hunter2@db/x")
        assert "hunter2" not in str(info.value)


class TestSQLiteStore:
    """What only the SQLite backend has: the file, its directory and pragmas."""

    async def test_open_creates_directory_and_wal_file(self, tmp_path: Path) -> None:
        """open() creates missing parent directories and puts the file in WAL mode."""
        path = tmp_path / "a" / "b" / "bot.sqlite3"
        store = SQLiteStore(path)
        await store.open()
        try:
            assert path.exists()
            async with store._read() as db, db.execute("PRAGMA journal_mode") as cursor:
                row = await cursor.fetchone()
            assert row is not None and row[0] == "wal"
        finally:
            await store.close()

    async def test_use_before_open_says_so(self, tmp_path: Path) -> None:
        """Calling a method before open() raises a clear RuntimeError."""
        with pytest.raises(RuntimeError, match="open"):
            await SQLiteStore(tmp_path / "x.sqlite3").get_user(1)
