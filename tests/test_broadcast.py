"""The alert sender against a recording Bot API transport and a real SQLite store: pacing,
RetryAfter, blocked users, retries, exactly one alert per subscriber, weekly digests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from auxil.request import RecordingRequest
from telegram import Bot

from knowledge import KnowledgeBase
from knowledge.publish import (
    DIGEST,
    DIGEST_ENTRY,
    NOTIFICATION,
    commit_publication,
    load_candidate,
    plan_publication,
)
from services.broadcast import Broadcaster, TokenBucket, fold_digests
from store import open_store
from store.base import NewOutbox, Store

FIXTURE = Path(__file__).resolve().parent / "data/followup_notice_TEST_FIXTURE.txt"
TOKEN = "123456:TEST"


class TimedRequest(RecordingRequest):
    """A RecordingRequest that also notes when each call arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    async def do_request(
        self, url: str, method: str, *args: Any, **kwargs: Any
    ) -> tuple[int, bytes]:
        self.times.append(time.monotonic())
        return await super().do_request(url, method, *args, **kwargs)

    def sends(self) -> list[Any]:
        return self.calls_of("sendMessage")

    def chats(self) -> list[int]:
        return [int(c.params["chat_id"]) for c in self.sends()]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    await s.open()
    yield s
    await s.close()


@pytest.fixture
async def request_() -> TimedRequest:
    return TimedRequest()


@pytest.fixture
async def bot(request_: TimedRequest) -> AsyncIterator[Bot]:
    b = Bot(TOKEN, request=request_)
    await b.initialize()
    request_.clear()
    request_.times.clear()
    yield b
    await b.shutdown()


@pytest.fixture(scope="module")
def candidate() -> KnowledgeBase:
    return load_candidate(FIXTURE.read_text(encoding="utf-8"), FIXTURE.name)


async def subscribe(store: Store, user_id: int, scope: str = "all", target: int | None = None,
                    weekly: bool = False) -> None:
    await store.upsert_user(user_id, user_id)
    await store.add_subscription(user_id, user_id, scope, target)  # type: ignore[arg-type]
    if weekly:
        await store.set_frequency(user_id, "weekly")


async def publish(store: Store, candidate: KnowledgeBase, digest_at: datetime | None = None) -> int:
    """Publish the fixture over the bundled notice; the number of rows queued."""
    plan = await plan_publication(store, KnowledgeBase.load_default().notice, candidate.notice)
    _, queued = await commit_publication(
        store, plan, candidate, None, digest_at or datetime.now(UTC) + timedelta(days=3)
    )
    return queued


async def queue_plain(store: Store, count: int, first_user: int = 1) -> None:
    rows = [
        NewOutbox(NOTIFICATION, f"test:{n}", {"user_id": n, "chat_id": n, "text": f"alert {n}"})
        for n in range(first_user, first_user + count)
    ]
    for n in range(first_user, first_user + count):
        await store.upsert_user(n, n)
    await store.enqueue(rows)


class TestTokenBucket:
    async def test_average_rate(self) -> None:
        """Twenty tokens at 100/s take about 0.19 s, not less."""
        bucket = TokenBucket(100)
        start = time.monotonic()
        for _ in range(20):
            await bucket.acquire()
        assert 0.18 <= time.monotonic() - start < 0.6

    async def test_pause_holds_everyone_back(self) -> None:
        """After pause(0.3) the next token comes no sooner than 0.3 s later."""
        bucket = TokenBucket(1000)
        await bucket.acquire()
        bucket.pause(0.3)
        start = time.monotonic()
        await bucket.acquire()
        assert time.monotonic() - start >= 0.29


class TestPacing:
    async def test_rate_is_honoured(self, store: Store, bot: Bot, request_: TimedRequest) -> None:
        """Forty alerts at 40/s take about a second; no 0.25 s window holds more than 10 + burst."""
        await queue_plain(store, 40)
        sender = Broadcaster(bot, store, rate=40)
        start = time.monotonic()
        assert await sender.drain() == 40
        elapsed = time.monotonic() - start
        assert 0.95 <= elapsed < 3
        times = request_.times
        assert max(sum(1 for t in times if s <= t < s + 0.25) for s in times) <= 14
        assert sorted(request_.chats()) == list(range(1, 41))

    async def test_answers_do_not_wait_for_a_broadcast(self, store: Store, bot: Bot) -> None:
        """While the sender runs in the background, other coroutines keep running promptly."""
        await queue_plain(store, 30)
        sender = Broadcaster(bot, store, rate=30, interval=0.05)
        sender.start()
        lags = []
        for _ in range(10):
            before = time.monotonic()
            await asyncio.sleep(0.05)
            lags.append(time.monotonic() - before - 0.05)
        await sender.stop()
        assert max(lags) < 0.05


class TestTelegramErrors:
    async def test_retry_after_pauses_the_sender(
        self, store: Store, bot: Bot, request_: TimedRequest
    ) -> None:
        """A 429 with retry_after=1 stops all sending for a second; the alert then goes out."""
        await queue_plain(store, 3)
        request_.fail("sendMessage", 429, "Too Many Requests: retry after 1",
                      parameters={"retry_after": 1})
        sender = Broadcaster(bot, store, rate=100)
        await sender.drain()
        first = request_.times[0]
        assert all(t - first >= 0.99 for t in request_.times[1:])
        assert sorted(set(request_.chats())) == [1, 2, 3]
        assert (await store.outbox_counts(NOTIFICATION))["sent"] == 3

    async def test_forbidden_deactivates_without_retry(
        self, store: Store, bot: Bot, request_: TimedRequest
    ) -> None:
        """403 (blocked): the user becomes inactive, the row fails, no second attempt."""
        await queue_plain(store, 1, first_user=7)
        request_.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
        await Broadcaster(bot, store, rate=100).drain()
        user = await store.get_user(7)
        assert user is not None and not user.active
        row = await store.outbox_by_key("test:7")
        assert row is not None and row.state == "failed"
        assert len(request_.sends()) == 1

    async def test_other_errors_are_retried_later(
        self, store: Store, bot: Bot, request_: TimedRequest
    ) -> None:
        """A 500 leaves the row pending for later; once due again it is sent."""
        await queue_plain(store, 1, first_user=8)
        request_.fail("sendMessage", 500, "Internal Server Error")
        await Broadcaster(bot, store, rate=100, retry_base=1).drain()
        row = await store.outbox_by_key("test:8")
        assert row is not None and row.state == "pending" and row.last_error
        later = datetime.now(UTC) + timedelta(hours=2)
        await Broadcaster(bot, store, rate=100, clock=lambda: later).drain()
        row = await store.outbox_by_key("test:8")
        assert row is not None and row.state == "sent"
        assert len(request_.sends()) == 2

    async def test_bad_request_fails_at_once(
        self, store: Store, bot: Bot, request_: TimedRequest
    ) -> None:
        """A 400 (e.g. chat not found) cannot get better: the row fails, the user stays."""
        await queue_plain(store, 1, first_user=9)
        request_.fail("sendMessage", 400, "Bad Request: chat not found")
        await Broadcaster(bot, store, rate=100).drain()
        row = await store.outbox_by_key("test:9")
        assert row is not None and row.state == "failed"
        user = await store.get_user(9)
        assert user is not None and user.active


class TestExactlyOnce:
    async def test_one_message_per_subscriber(
        self, store: Store, bot: Bot, request_: TimedRequest, candidate: KnowledgeBase
    ) -> None:
        """Three subscribers with overlapping subscriptions get one alert each, with their items."""
        await subscribe(store, 1, "item", 12)
        await subscribe(store, 2, "all")
        await subscribe(store, 2, "item", 12)
        await subscribe(store, 3, "area", 2)
        await subscribe(store, 4, "area", 3)  # nothing changed in area 3
        assert await publish(store, candidate) == 3
        await Broadcaster(bot, store, rate=100).drain()
        assert sorted(request_.chats()) == [1, 2, 3]
        texts = {int(c.params["chat_id"]): c.text for c in request_.sends()}
        assert "第12项" in texts[1] and "第13项" not in texts[1]
        assert all(f"第{n}项" in texts[2] for n in (12, 13, 20, 29))
        assert "第29项" in texts[3] and "第12项" not in texts[3]
        assert all("2025年9月30日" in t for t in texts.values())

    async def test_alert_has_unsubscribe_and_manage_buttons(
        self, store: Store, bot: Bot, request_: TimedRequest, candidate: KnowledgeBase
    ) -> None:
        """Each alert carries unsub:ID of the matching subscription and sub:list."""
        await subscribe(store, 1, "item", 12)
        (sub,) = await store.list_subscriptions(1)
        await publish(store, candidate)
        await Broadcaster(bot, store, rate=100).drain()
        assert request_.last("sendMessage").callback_data == [f"unsub:{sub.id}", "sub:list"]

    async def test_queued_twice_sent_once(
        self, store: Store, bot: Bot, request_: TimedRequest, candidate: KnowledgeBase
    ) -> None:
        """Queuing the same publication again (a repeat after a crash) adds nothing."""
        await subscribe(store, 1)
        await subscribe(store, 2)
        await publish(store, candidate)
        stored = await store.latest_notice()
        assert stored is not None
        plan = await plan_publication(store, KnowledgeBase.load_default().notice, candidate.notice)
        from knowledge.publish import queue_notifications

        assert await queue_notifications(store, plan, stored.id, None, datetime.now(UTC)) == 0
        await Broadcaster(bot, store, rate=100).drain()
        await Broadcaster(bot, store, rate=100).drain()
        assert sorted(request_.chats()) == [1, 2]

    async def test_crashed_sender_rows_sent_once_after_lease(
        self, store: Store, bot: Bot, request_: TimedRequest
    ) -> None:
        """Rows a crashed sender claimed come back after the lease and go out once; sent rows
        never come back."""
        await queue_plain(store, 4)
        claimed = await store.claim_due([NOTIFICATION], 2, timedelta(seconds=60))
        await store.mark_sent(claimed[0].id)  # the "crashed" sender got one out
        await Broadcaster(bot, store, rate=100).drain()
        assert sorted(request_.chats()) == [3, 4]  # 2 is still leased to the dead sender
        later = datetime.now(UTC) + timedelta(seconds=61)
        await Broadcaster(bot, store, rate=100, clock=lambda: later).drain()
        assert sorted(request_.chats()) == [2, 3, 4]

    async def test_expired_lease_is_not_sent(
        self, store: Store, bot: Bot, request_: TimedRequest
    ) -> None:
        """A row whose lease ran out while waiting (e.g. a long RetryAfter) is left unsent."""
        await queue_plain(store, 1)
        sender = Broadcaster(bot, store, rate=100, lease=timedelta(seconds=3))
        await sender.drain()
        assert request_.sends() == []
        row = await store.outbox_by_key("test:1")
        assert row is not None and row.state == "pending"

    async def test_blocked_subscriber_is_not_queued(
        self, store: Store, candidate: KnowledgeBase
    ) -> None:
        """A subscriber marked inactive gets no row at the next publication."""
        await subscribe(store, 1)
        await subscribe(store, 2)
        await store.set_active(2, False)
        assert await publish(store, candidate) == 1


class TestDigest:
    async def test_weekly_subscriber_waits_for_the_digest(
        self, store: Store, bot: Bot, request_: TimedRequest, candidate: KnowledgeBase
    ) -> None:
        """A weekly subscriber's entry is not sent at once; at digest time it becomes ONE
        digest message; folding again queues nothing."""
        await subscribe(store, 5, "item", 20, weekly=True)
        digest_at = datetime.now(UTC) + timedelta(days=2)
        await publish(store, candidate, digest_at)
        await Broadcaster(bot, store, rate=100).drain()
        assert request_.sends() == []
        assert await fold_digests(store) == 0  # not due yet
        later = digest_at + timedelta(seconds=1)
        assert await fold_digests(store, now=later) == 1
        assert await fold_digests(store, now=later) == 0
        await Broadcaster(bot, store, rate=100, clock=lambda: later).drain()
        (sent,) = request_.sends()
        assert "每周汇总" in sent.text and "第20项" in sent.text and "第12项" not in sent.text
        assert (await store.outbox_counts(DIGEST))["sent"] == 1
        assert (await store.outbox_counts(DIGEST_ENTRY))["pending"] == 0

    async def test_two_publications_one_digest(self, store: Store, bot: Bot,
                                               request_: TimedRequest) -> None:
        """Entries of two publications for one subscriber fold into one message with both."""
        due = datetime.now(UTC) - timedelta(seconds=1)
        change = {"number": 12, "area": 1, "title": "污水", "en_title": None, "kind": "changed",
                  "old_status": "in_progress", "new_status": "completed", "text": "已建成",
                  "text_changed": True}
        await store.upsert_user(6, 6)
        await store.enqueue([
            NewOutbox(DIGEST_ENTRY, f"pub:{n}:user:6",
                      {"user_id": 6, "chat_id": 6, "language": "en", "notice_date": day,
                       "changes": [change], "buttons": []}, not_before=due)
            for n, day in ((1, "2025-09-30"), (2, "2025-12-31"))
        ])
        assert await fold_digests(store) == 1
        await Broadcaster(bot, store, rate=100).drain()
        (sent,) = request_.sends()
        assert "30 September 2025" in sent.text and "31 December 2025" in sent.text
