"""The progress-alert sender: drains queued alerts to Telegram at a steady, configurable rate.

It runs as its own asyncio task, so answering other users never waits for a broadcast. A
token bucket spaces the messages (BROADCAST_RATE per second, below Telegram's ~30/s); a few
sends are in flight at once so that the rate does not depend on the round-trip time.
Telegram's RetryAfter pauses the whole sender for as long as Telegram asks; Forbidden (the
user blocked the bot) marks the user inactive and the row failed; other errors are retried
with backoff. Each row is marked sent right after Telegram accepted it (rows finishing
together share one commit), and a claimed row
whose lease ran out is left for the next claim instead of being sent, so a restart (or a
second instance) does not send again what was sent.

The weekly digest: `digest_entry` rows (one per publication for a weekly subscriber, due at
the digest time) are folded into ONE `digest` message per subscriber by `fold_digests`, which
a JobQueue job runs at DIGEST_TIME (and the periodic sync runs as a catch-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from knowledge.alerts import AlertChange, render_digest
from knowledge.publish import DIGEST, DIGEST_ENTRY, NOTIFICATION
from services.outbox import backoff

if TYPE_CHECKING:
    from telegram import Bot

    from store.base import NewOutbox, OutboxItem, Store

logger = logging.getLogger(__name__)

KINDS = (NOTIFICATION, DIGEST)


class TokenBucket:
    """At most `rate` acquisitions per second on average, bursts of at most `burst`;
    `pause(s)` holds every acquisition back for `s` seconds (Telegram's RetryAfter)."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self.clock = clock
        self._next = clock()  # the earliest moment the next token may be taken
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold all sending back until `seconds` from now."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    async def acquire(self) -> None:
        """Wait for a token (reserving slots in order, so waiters are served first come)."""
        while True:
            now = self.clock()
            # Scheduled slots (not "now + interval") keep the average rate exact even when
            # the event loop wakes us a little late.
            slot = max(self._next, self._paused_until, now - (self.burst - 1) / self.rate)
            self._next = slot + 1 / self.rate
            if slot > now:
                await asyncio.sleep(slot - now)
            if self._paused_until <= self.clock():
                return


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


def _markup(rows: Sequence[Sequence[dict[str, str]]]) -> InlineKeyboardMarkup | None:
    keyboard = [
        [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
        for row in rows
    ]
    return InlineKeyboardMarkup(keyboard) if keyboard else None


class Broadcaster:
    """Sends due `notification` and `digest` rows of the outbox through `bot`."""

    def __init__(
        self,
        bot: Bot,
        store: Store,
        rate: float = 25.0,
        *,
        lease: timedelta = timedelta(seconds=60),
        interval: float = 2.0,
        max_attempts: int = 6,
        retry_base: float = 10.0,
        retry_cap: float = 3600.0,
        concurrency: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.bot = bot
        self.store = store
        # A small burst lets the sender catch up when the event loop wakes it late.
        self.bucket = TokenBucket(rate, burst=max(2.0, rate / 10))
        self.lease = lease
        self.interval = interval
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        # Enough sends in flight to keep the rate at a round-trip of ~0.5 s.
        self.concurrency = concurrency or max(4, min(128, math.ceil(rate / 2)))
        # About two seconds of work per claim, so a lease is never close to running out.
        self.batch = max(self.concurrency, math.ceil(rate * 2))
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sent = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(self.concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self._busy: set[int] = set()  # rows claimed by this sender and not finished
        # Rows sent and waiting for the next group commit, and the future their senders await.
        self._marks: tuple[list[int], asyncio.Future[None]] | None = None
        self._flusher: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Run the sender as a background task."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="broadcast")

    async def stop(self) -> None:
        """Stop claiming, let sends in flight finish (briefly), then end the task."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None

    def wake(self) -> None:
        """Look at the queue now (e.g. right after a publication)."""
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                claimed = await self.run_once()
            except Exception:
                logger.exception("broadcast: claiming failed; trying again shortly")
                claimed = 0
            if claimed:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
        await self.wait_idle()

    # -- one round -----------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim due rows and start sending each (at the bucket's pace); how many were taken."""
        rows = await self.store.claim_due(KINDS, self.batch, self.lease, now=self.clock())
        fresh = [row for row in rows if row.id not in self._busy]
        for row in fresh:
            await self._slots.acquire()
            if self._stopping:
                self._slots.release()
                break
            self._busy.add(row.id)
            task = asyncio.create_task(self._deliver(row))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(fresh)

    async def wait_idle(self) -> None:
        """Wait until every send started has finished."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def drain(self) -> int:
        """Send everything due now, then return how many rows were taken (for tests and CLI)."""
        total = 0
        # Like the background loop: claim the next batch while the last sends of the previous
        # one are still in flight (their leases keep them out of the claim), so the pace has
        # no gap at each batch boundary.
        while taken := await self.run_once():
            total += taken
        await self.wait_idle()
        return total

    # -- one row -------------------------------------------------------------------------------
    async def _deliver(self, row: OutboxItem) -> None:
        try:
            await self._send_row(row)
        except Exception:
            logger.exception("broadcast: row %s could not be settled", row.id)
        finally:
            self._busy.discard(row.id)
            self._slots.release()

    def _lease_left(self, row: OutboxItem) -> float:
        return (row.next_attempt_at - self.clock()).total_seconds()

    async def _send_row(self, row: OutboxItem) -> None:
        payload = row.payload
        while True:
            await self.bucket.acquire()
            # Past its lease the row may already be claimed again elsewhere: leave it.
            if self._lease_left(row) < 5:
                logger.info("broadcast: lease of row %s ran out before sending; left", row.id)
                return
            try:
                await self.bot.send_message(
                    chat_id=payload["chat_id"],
                    text=payload["text"],
                    parse_mode=ParseMode.HTML,
                    reply_markup=_markup(payload.get("buttons", [])),
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except RetryAfter as exc:
                # `_retry_after` is always a timedelta; the public int form is deprecated
                # (PTB's own AIORateLimiter reads it the same way).
                wait = exc._retry_after.total_seconds()
                logger.warning("broadcast: Telegram asks to wait %.1f s; pausing", wait)
                self.bucket.pause(float(wait))
                continue
            except Forbidden as exc:
                await self.store.set_active(int(payload["user_id"]), False)
                await self.store.mark_failed(row.id, _short(exc))
                logger.info("broadcast: user %s blocked the bot; inactive", payload["user_id"])
                return
            except BadRequest as exc:
                # A malformed message or a chat that is gone: retrying cannot help.
                await self.store.mark_failed(row.id, _short(exc))
                logger.error("broadcast: row %s refused: %s", row.id, exc)
                return
            except TelegramError as exc:
                await self._retry_later(row, exc)
                return
            await self._mark_sent(row.id)
            self.sent += 1
            return

    async def _mark_sent(self, row_id: int) -> None:
        """Mark the row sent, committed together with every other row that finished while
        the previous commit ran (a group commit): one transaction (one fsync) per batch
        instead of per message, which capped the sender near 75 messages/s on SQLite.
        Returns when this row's commit is done, so the row stays busy (never sent twice by
        this sender) until it is durably marked; there is no timer, so no added delay."""
        if self._marks is None:
            self._marks = ([], asyncio.get_running_loop().create_future())
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.create_task(self._flush_marks(), name="broadcast-marks")
        ids, done = self._marks
        ids.append(row_id)
        await asyncio.shield(done)

    async def _flush_marks(self) -> None:
        while self._marks is not None:
            ids, done = self._marks
            self._marks = None
            try:
                await self.store.mark_sent_many(ids, now=self.clock())
            except Exception as exc:
                done.set_exception(exc)
                done.exception()  # retrieved here too: every waiter also sees it
            else:
                done.set_result(None)

    async def _retry_later(self, row: OutboxItem, exc: BaseException) -> None:
        if row.attempts >= self.max_attempts:
            await self.store.mark_failed(row.id, _short(exc))
            logger.error("broadcast: row %s failed after %s tries: %s", row.id, row.attempts, exc)
            return
        delay = backoff(row.attempts, self.retry_base, self.retry_cap)
        await self.store.mark_retry(row.id, self.clock() + timedelta(seconds=delay), _short(exc))
        logger.warning("broadcast: row %s retried in %.0f s: %s", row.id, delay, exc)


# -- weekly digests ---------------------------------------------------------------------------


def digest_key(user_id: int, entry_ids: Sequence[int]) -> str:
    """The same set of entries always folds into the same digest (so a re-run queues nothing)."""
    digest = hashlib.sha1(",".join(map(str, sorted(entry_ids))).encode()).hexdigest()[:16]
    return f"digest:user:{user_id}:{digest}"


def fold_rows(entries: Sequence[OutboxItem]) -> list[NewOutbox]:
    """One `digest` row per subscriber from their due `digest_entry` rows."""
    from store.base import NewOutbox

    by_user: dict[int, list[OutboxItem]] = {}
    for entry in entries:
        by_user.setdefault(int(entry.payload["user_id"]), []).append(entry)
    rows = []
    for user_id, mine in by_user.items():
        latest = max(mine, key=lambda e: e.id).payload
        language = str(latest.get("language", "zh"))
        sections = [
            (
                date.fromisoformat(e.payload["notice_date"]),
                [AlertChange.from_dict(c) for c in e.payload.get("changes", [])],
            )
            for e in sorted(mine, key=lambda e: e.id)
        ]
        buttons: list[Any] = []
        seen: set[str] = set()
        for e in mine:
            for row in e.payload.get("buttons", []):
                data = row[0]["callback_data"]
                if data not in seen:
                    seen.add(data)
                    buttons.append(row)
        # The "manage" row (sub:list) goes last.
        buttons.sort(key=lambda r: r[0]["callback_data"] == "sub:list")
        payload = {
            "user_id": user_id,
            "chat_id": latest["chat_id"],
            "language": language,
            "text": render_digest(sections, language),
            "buttons": buttons[:9],
            "entries": sorted(e.id for e in mine),
        }
        rows.append(NewOutbox(DIGEST, digest_key(user_id, [e.id for e in mine]), payload))
    return rows


async def fold_digests(
    store: Store, now: datetime | None = None, lease: timedelta = timedelta(minutes=5)
) -> int:
    """Fold every due digest entry into one digest per subscriber; how many digests were new.
    The digest is queued before the entries are marked done, so a crash in between only
    repeats the fold, and its dedupe key makes the repeat a no-op."""
    total = 0
    while entries := await store.claim_due([DIGEST_ENTRY], 100_000, lease, now=now):
        total += await store.enqueue(fold_rows(entries))
        for entry in entries:
            await store.mark_sent(entry.id, now=now)
    return total
