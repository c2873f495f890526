"""The batching log of unanswered questions, against a real SQLite store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.question_log import QuestionLog
from store.sqlite import SQLiteStore


class CountingStore(SQLiteStore):
    """A real SQLite store that counts its batch writes."""

    batches: list[int]

    async def record_questions(self, questions):  # type: ignore[no-untyped-def]
        self.batches.append(len(questions))
        await super().record_questions(questions)


async def _store(tmp_path: Path) -> CountingStore:
    store = CountingStore(tmp_path / "bot.sqlite3")
    store.batches = []
    await store.open()
    return store


async def test_a_burst_is_one_transaction(tmp_path: Path) -> None:
    """Questions added while a write is pending join it: one write for the whole burst."""
    store = await _store(tmp_path)
    log = QuestionLog(store, delay=0.05)
    starts = [log.add(f"q{i}", "zh", "none", 0.0) for i in range(30)]
    assert starts == [True] + [False] * 29
    await log.flush_soon()
    assert store.batches == [30]
    since = datetime.now(UTC) - timedelta(hours=1)
    assert len(await store.top_unanswered(since, 100)) == 30
    assert log.add("next", "zh", "none", 0.0) is True  # a new burst schedules a new write
    await store.close()


async def test_flush_writes_at_once_and_a_late_timer_writes_nothing(tmp_path: Path) -> None:
    """flush (used by /unanswered and at shutdown) writes what is queued; the pending timer
    then finds nothing left."""
    store = await _store(tmp_path)
    log = QuestionLog(store, delay=0.05)
    log.add("a", "zh", "none", 0.0)
    timer = asyncio.create_task(log.flush_soon())
    await log.flush()
    assert store.batches == [1] and len(log) == 0
    await timer
    assert store.batches == [1]
    await store.close()


async def test_a_failed_write_keeps_the_questions(tmp_path: Path) -> None:
    """If the store refuses the write, the questions stay queued for the next flush."""
    store = await _store(tmp_path)
    log = QuestionLog(store)
    log.add("a", "zh", "none", 0.0)
    await store.close()
    try:
        await log.flush()
    except Exception:
        pass
    else:
        raise AssertionError("a closed store accepted the write")
    assert len(log) == 1
    await store.open()
    await log.flush()
    assert store.batches[-1] == 1 and len(log) == 0
    await store.close()
