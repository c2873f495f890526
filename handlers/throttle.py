"""Flood control: a token bucket per user, checked before any other handler (group -1).

Each user may send `user_burst` updates at once and `user_rate` per second after that. Over the
limit the user gets ONE "slow down" notice, then updates are dropped silently until the bucket
refills, so one user's flood cannot slow the answers to everyone else. Staff are exempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from handlers.common import CustomContext, is_staff, telegram_language
from handlers.texts import t

MAX_TRACKED = 50_000  # buckets kept in memory; full buckets are dropped first when over


@dataclass(slots=True)
class Bucket:
    tokens: float
    updated: float
    warned: bool = False


class TokenBuckets:
    """Per-key token buckets; `take(key)` says whether one more update is allowed."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.buckets: dict[int, Bucket] = {}

    def take(self, key: int) -> Bucket | None:
        """Take a token for `key`; None if allowed, else the (empty) bucket."""
        now = self.clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= MAX_TRACKED:
                self._forget_full(now)
            bucket = self.buckets[key] = Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return None
        return bucket

    def _forget_full(self, now: float) -> None:
        self.buckets = {
            key: b
            for key, b in self.buckets.items()
            if b.tokens + (now - b.updated) * self.rate < self.burst
        }


async def throttle(update: Update, context: CustomContext) -> None:
    """Lets the update through, or warns once and stops it when the user floods."""
    user = update.effective_user
    if user is None or is_staff(update, context):
        return
    buckets = context.services.extras.get("throttle")
    if not isinstance(buckets, TokenBuckets):
        settings = context.services.settings
        buckets = context.services.extras["throttle"] = TokenBuckets(
            settings.user_rate, settings.user_burst
        )
    bucket = buckets.take(user.id)
    if bucket is None:
        return
    if not bucket.warned:
        bucket.warned = True
        await warn(update, context)
    raise ApplicationHandlerStop


async def warn(update: Update, context: CustomContext) -> None:
    """The one "slow down" notice: a toast for buttons, a message in a private chat."""
    text = t(telegram_language(update), "slow_down")
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0)
    elif update.effective_chat is not None and update.effective_chat.type == "private":
        await context.bot.send_message(update.effective_chat.id, text)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The throttle, in group -1 so it runs before every other handler."""
    application.add_handler(TypeHandler(Update, throttle), group=-1)
