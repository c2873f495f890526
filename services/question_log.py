"""Questions the bot could not answer, written to the store in batches.

Each unanswered question is a statistic for staff (`/unanswered`). Writing each one in its own
transaction costs a round trip to the database thread per question; under a burst of questions
the log instead collects them for `delay` seconds and writes them in one transaction.

They are statistics, not promises to a citizen (feedback goes through the outbox): a clean
shutdown and every `/unanswered` flush the log first, and a crash (SIGKILL) can lose at most
the last `delay` seconds of them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.base import Store

DELAY = 0.25  # seconds a question may wait for the others of its burst


class QuestionLog:
    """Collects unanswered questions and writes them in batches."""

    def __init__(self, store: Store, delay: float = DELAY) -> None:
        self.store = store
        self.delay = delay
        self._rows: list[tuple[str, str, str, float]] = []
        self._scheduled = False

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, text: str, language: str, kind: str, score: float) -> bool:
        """Queue one question. True when no write is pending yet: the caller then starts
        `flush_soon()` in the background."""
        self._rows.append((text, language, kind, score))
        if self._scheduled:
            return False
        self._scheduled = True
        return True

    async def flush_soon(self) -> None:
        """Wait for the rest of the burst, then write it."""
        await asyncio.sleep(self.delay)
        await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far, in one transaction."""
        self._scheduled = False
        rows, self._rows = self._rows, []
        if rows:
            try:
                await self.store.record_questions(rows)
            except BaseException:
                self._rows[:0] = rows  # kept for the next flush
                raise
