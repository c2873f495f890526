"""The outbox worker: delivers queued rows of some kinds, retrying until they go or give up.

Rows are claimed from the store with a lease (`Store.claim_due`), handed to the sender for
their kind, then marked sent, retried later with exponential backoff and jitter, or failed
after the last attempt (and then reported through `on_failed`). The worker polls every
`interval` seconds and at once when poked, e.g. right after a citizen confirms an opinion.
Because the row is committed before anyone is told and is only marked sent after the sender
returned, a crash at any point leaves the row to be claimed again after its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.base import OutboxItem, Store

logger = logging.getLogger(__name__)

Sender = Callable[["OutboxItem"], Awaitable[None]]
FailureHook = Callable[["OutboxItem", str], Awaitable[None]]


class PermanentError(Exception):
    """Raised by a sender when retrying cannot help; the row is failed at once."""


def backoff(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: base·2^(n-1) capped, with
    "equal jitter" (half fixed, half random) so that retries spread out yet never shrink."""
    delay = min(cap, base * 2.0 ** max(attempts - 1, 0))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def _short(error: BaseException) -> str:
    """A one-line description of an exception for the store and for staff."""
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


class OutboxWorker:
    """Polls the outbox for `senders`' kinds and delivers what is due."""

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Sender],
        *,
        interval: float = 5.0,
        max_attempts: int = 8,
        retry_base: float = 30.0,
        retry_cap: float = 3600.0,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 20,
        on_failed: FailureHook | None = None,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        name: str = "outbox",
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.interval = interval
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.lease = lease
        self.batch = batch
        self.on_failed = on_failed
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self.name = name
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def kinds(self) -> Sequence[str]:
        return tuple(self.senders)

    def poke(self) -> None:
        """Drain now instead of at the next poll (e.g. a new row was just committed)."""
        self._wake.set()

    async def drain(self) -> int:
        """Deliver every row that is due now; returns how many rows were attempted."""
        attempted = 0
        while True:
            items = await self.store.claim_due(self.kinds, self.batch, self.lease, now=self.clock())
            for item in items:
                await self._deliver(item)
            attempted += len(items)
            if len(items) < self.batch or self._stopping:
                return attempted

    async def _deliver(self, item: OutboxItem) -> None:
        """Send one claimed row and record the outcome."""
        try:
            await self.senders[item.kind](item)
        except Exception as exc:  # any failure of one row must not stop the others
            error = _short(exc)
            if isinstance(exc, PermanentError) or item.attempts >= self.max_attempts:
                logger.error(
                    "%s row %s (%s) failed for good: %s", self.name, item.id, item.dedupe_key, error
                )
                await self.store.mark_failed(item.id, error)
                await self._report(item, error)
            else:
                delay = backoff(item.attempts, self.retry_base, self.retry_cap, self.rng)
                logger.warning(
                    "%s row %s (%s) attempt %s failed, retry in %.0fs: %s",
                    self.name,
                    item.id,
                    item.dedupe_key,
                    item.attempts,
                    delay,
                    error,
                )
                await self.store.mark_retry(item.id, self.clock() + timedelta(seconds=delay), error)
            return
        await self.store.mark_sent(item.id, now=self.clock())

    async def _report(self, item: OutboxItem, error: str) -> None:
        """Tell staff about a row that will not be retried; a failing report is only logged."""
        if self.on_failed is None:
            return
        try:
            await self.on_failed(item, error)
        except Exception:
            logger.exception("could not report the failed %s row %s", self.name, item.id)

    async def run(self) -> None:
        """Drain, then wait for a poke or the interval, until stopped."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.drain()
            except Exception:  # e.g. the database is briefly unavailable: try again later
                logger.exception("%s drain failed", self.name)
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)

    def start(self) -> None:
        """Run in the background on the current event loop."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self, grace: float = 10.0) -> None:
        """Finish the row in hand (up to `grace` seconds) and stop; unsent rows stay queued."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=grace)
        except TimeoutError:
            # The lease brings the interrupted row back after a restart.
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
