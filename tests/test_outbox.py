"""The outbox worker against a real SQLite store and a real SMTP server: nothing lost, nothing
sent twice, retries that back off and end in "failed" with staff told."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from auxil.feedback_bot import SmtpServer, free_port, wait_until

from services.mailer import MailSender, SmtpConfig
from services.outbox import OutboxWorker, PermanentError, backoff
from store import NewFeedback, NewOutbox, OutboxItem, Store, open_store

T0 = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


class Clock:
    """A settable clock for the worker and the store."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    await s.open()
    yield s
    await s.close()


async def add(store: Store, text: str = "希望把金园东路的路灯修好，晚上太黑了。") -> str:
    """A feedback with its email row queued; returns the reference."""
    new = NewFeedback(4242, 4242, "suggestion", None, text, None, None)
    row = NewOutbox("email", "email:{reference}", {"reference": "{reference}"})
    return (await store.add_feedback(new, [row], now=T0)).reference


def mail_worker(store: Store, port: int, clock: Clock, **kw: object) -> OutboxWorker:
    config = SmtpConfig("127.0.0.1", port, "bot@example.org", "631755679@qq.com")
    options: dict[str, object] = {"retry_base": 30.0, "max_attempts": 4, "clock": clock,
                                  "rng": random.Random(1)} | kw  # fmt: skip
    return OutboxWorker(store, {"email": MailSender(store, config)}, **options)  # type: ignore[arg-type]


class TestDelivery:
    async def test_drain_sends_once_and_marks_sent(self, store: Store) -> None:
        """A due row is mailed and marked sent; draining again sends nothing more."""
        smtp = SmtpServer().start()
        try:
            reference = await add(store)
            worker = mail_worker(store, smtp.port, Clock())
            assert await worker.drain() == 1
            assert await worker.drain() == 0
            assert len(smtp.inbox.with_id(f"<{reference}@rectification-bot>")) == 1
            assert (await store.get_feedback(reference)).state == "forwarded"  # type: ignore[union-attr]
            assert (await store.outbox_by_key(f"email:{reference}")).state == "sent"  # type: ignore[union-attr]
        finally:
            smtp.stop()

    async def test_smtp_down_then_up_delivers_exactly_once(self, store: Store) -> None:
        """SMTP down at first: the row waits (state retrying); once the server is up and the
        backoff has passed, the mail arrives exactly once."""
        smtp = SmtpServer()  # chosen port, not listening yet
        clock = Clock()
        reference = await add(store)
        worker = mail_worker(store, smtp.port, clock)
        assert await worker.drain() == 1  # attempt 1 fails: connection refused
        assert (await store.get_feedback(reference)).state == "retrying"  # type: ignore[union-attr]
        smtp.start()
        try:
            assert await worker.drain() == 0  # still backing off
            clock.now += timedelta(seconds=31)
            assert await worker.drain() == 1
            clock.now += timedelta(hours=2)
            assert await worker.drain() == 0
            assert len(smtp.inbox.messages) == 1
            assert smtp.inbox.messages[0]["Message-ID"] == f"<{reference}@rectification-bot>"
            assert (await store.get_feedback(reference)).state == "forwarded"  # type: ignore[union-attr]
        finally:
            smtp.stop()

    async def test_a_crashed_senders_row_comes_back_after_the_lease(self, store: Store) -> None:
        """A row claimed by a sender that died is delivered by the next one after the lease."""
        smtp = SmtpServer().start()
        try:
            await add(store)
            await store.claim_due(["email"], 10, timedelta(minutes=5), now=T0)  # the "crashed" one
            clock = Clock()
            worker = mail_worker(store, smtp.port, clock)
            assert await worker.drain() == 0
            clock.now += timedelta(minutes=6)
            assert await worker.drain() == 1
            assert len(smtp.inbox.messages) == 1
        finally:
            smtp.stop()


class TestRetries:
    async def test_backoff_grows_then_fails_and_staff_are_told(self, store: Store) -> None:
        """Each retry waits at least as long as the last; after max_attempts the row and the
        feedback are failed and on_failed is called once with the error."""
        clock = Clock()
        reported: list[tuple[OutboxItem, str]] = []

        async def on_failed(item: OutboxItem, error: str) -> None:
            reported.append((item, error))

        reference = await add(store)
        worker = mail_worker(store, free_port(), clock, on_failed=on_failed)
        waits = []
        for _ in range(4):
            assert await worker.drain() == 1
            row = await store.outbox_by_key(f"email:{reference}")
            assert row is not None
            if row.state == "failed":
                break
            waits.append((row.next_attempt_at - clock.now).total_seconds())
            clock.now = row.next_attempt_at
        assert len(waits) == 3 and waits == sorted(waits) and waits[0] >= 15
        assert row.state == "failed" and row.attempts == 4
        assert (await store.get_feedback(reference)).state == "failed"  # type: ignore[union-attr]
        assert len(reported) == 1 and "Connection" in reported[0][1]
        clock.now += timedelta(days=1)
        assert await worker.drain() == 0  # failed rows are never retried

    async def test_permanent_error_fails_at_once(self, store: Store) -> None:
        """A sender raising PermanentError fails the row on the first attempt."""

        async def refuse(_: OutboxItem) -> None:
            raise PermanentError("recipient refused")

        reference = await add(store)
        failed: list[str] = []

        async def on_failed(item: OutboxItem, error: str) -> None:
            failed.append(error)

        worker = OutboxWorker(store, {"email": refuse}, on_failed=on_failed, clock=Clock())
        await worker.drain()
        assert (await store.outbox_by_key(f"email:{reference}")).state == "failed"  # type: ignore[union-attr]
        assert failed == ["PermanentError: recipient refused"]

    def test_backoff_is_capped_and_jittered(self) -> None:
        """Delays double from the base, stay within [d/2, d] and never exceed the cap."""
        rng = random.Random(7)
        for attempts, full in ((1, 30), (2, 60), (3, 120), (10, 3600)):
            delay = backoff(attempts, 30, 3600, rng)
            assert full / 2 <= delay <= full


class TestRunning:
    async def test_poke_delivers_without_waiting_for_the_interval(self, store: Store) -> None:
        """A started worker with a long interval sends a new row at once when poked."""
        sent: list[str] = []

        async def send(item: OutboxItem) -> None:
            sent.append(item.dedupe_key)

        worker = OutboxWorker(store, {"email": send}, interval=3600)
        worker.start()
        try:
            await asyncio.sleep(0.05)  # the first drain found nothing
            reference = await add(store)
            worker.poke()
            await wait_until(lambda: sent == [f"email:{reference}"], within=2)
        finally:
            await worker.stop()

    async def test_stop_leaves_unsent_rows_queued(self, store: Store) -> None:
        """Stopping the worker ends its task; rows it did not reach stay pending."""

        async def send(_: OutboxItem) -> None:
            raise AssertionError("must not be called")

        worker = OutboxWorker(store, {"staff_copy": send}, interval=3600)
        worker.start()
        await worker.stop(grace=2)
        reference = await add(store)
        assert (await store.outbox_by_key(f"email:{reference}")).state == "pending"  # type: ignore[union-attr]
        assert worker._task is None
