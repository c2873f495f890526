"""The store: one small async interface, two backends (SQLite file, PostgreSQL).

Everything the bot must remember lives here: users' preferences, questions it could not
answer, feedback with its delivery outbox, subscriptions, published notices and the
notification queue. What must not be lost is committed before the caller returns.

Delivery of anything (feedback mail, the staff copy, progress alerts) goes through ONE outbox
table: a row per message, unique by `dedupe_key` so that queuing twice is harmless; a sender
claims due rows with a lease (so several instances never send the same row at once), then marks
each sent, retried later, or failed.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Frequency = Literal["immediate", "weekly"]
Scope = Literal["all", "area", "item"]
OutboxState = Literal["pending", "sent", "failed"]
FeedbackState = Literal["received", "forwarded", "retrying", "failed", "stored"]


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    chat_id: int
    language: str | None  # "zh" | "en" | None (not chosen: follow Telegram's language_code)
    frequency: Frequency
    active: bool  # False once the user blocked the bot
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    text: str  # the question as normalised for grouping (whitespace collapsed, lower-case)
    count: int
    last_asked: datetime
    kind: str  # the latest decision: "none" | "ambiguous"
    language: str


@dataclass(frozen=True, slots=True)
class NewFeedback:
    user_id: int
    chat_id: int
    kind: str  # "suggestion" | "complaint" | "other"
    item: int | None
    text: str
    contact_name: str | None
    contact_phone: str | None
    # each {"file_id": …, "kind": "photo" | "document", "name": …}
    attachments: tuple[dict[str, Any], ...] = ()
    language: str = "zh"


@dataclass(frozen=True, slots=True)
class Feedback:
    id: int
    reference: str  # MS-YYYYMMDD-NNNN (date in Asia/Shanghai), unique
    user_id: int
    chat_id: int
    kind: str
    item: int | None
    text: str
    contact_name: str | None
    contact_phone: str | None
    attachments: tuple[dict[str, Any], ...]
    language: str
    state: FeedbackState
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewOutbox:
    kind: str  # "email" | "staff_copy" | "notification" | "digest" | …
    dedupe_key: str  # unique over the whole outbox: queuing the same key twice is a no-op
    payload: dict[str, Any]
    feedback_reference: str | None = None  # links a delivery to its feedback (for its state)
    not_before: datetime | None = None  # earliest time to send (None: now)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    feedback_reference: str | None
    state: OutboxState
    attempts: int  # how many times it has been claimed
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    user_id: int
    chat_id: int
    scope: Scope
    target: int | None  # area number for "area", item number for "item", None for "all"
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredNotice:
    id: int
    text: str
    source: str
    notice_date: str  # ISO date as parsed from the notice
    published_by: int | None  # staff user id (None: bundled or CLI)
    published_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)


class Store(abc.ABC):
    """The async interface every backend implements. All datetimes are timezone-aware UTC."""

    # -- lifecycle -----------------------------------------------------------------------
    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create or migrate the schema. Calling it on an open store does nothing."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Flush and disconnect."""

    # -- users -----------------------------------------------------------------------------
    @abc.abstractmethod
    async def get_user(self, user_id: int) -> User | None: ...

    @abc.abstractmethod
    async def upsert_user(self, user_id: int, chat_id: int) -> User:
        """Create the user if new (language None, immediate, active); update chat_id; reactivate."""

    @abc.abstractmethod
    async def set_language(self, user_id: int, language: str | None) -> None:
        """Set (or with None, clear) the user's language. Like the two setters below, this
        changes a known user only: call upsert_user first; an unknown user_id is ignored."""

    @abc.abstractmethod
    async def set_frequency(self, user_id: int, frequency: Frequency) -> None: ...

    @abc.abstractmethod
    async def set_active(self, user_id: int, active: bool) -> None: ...

    # -- questions the bot could not answer ----------------------------------------------
    async def record_question(self, text: str, language: str, kind: str, score: float) -> None:
        """Record one unanswered question now (no user id is kept)."""
        await self.record_questions([(text, language, kind, score)])

    @abc.abstractmethod
    async def record_questions(self, questions: Sequence[tuple[str, str, str, float]]) -> None:
        """Record unanswered questions (text, language, kind, score) in one transaction."""

    @abc.abstractmethod
    async def top_unanswered(self, since: datetime, limit: int) -> list[UnansweredQuestion]:
        """The most frequent unanswered questions since `since`, grouped by normalised text
        (whitespace collapsed, lower-case), most frequent first, ties most recent first."""

    # -- small key/value documents (conversation state, drafts, bot/chat data) -----------
    @abc.abstractmethod
    async def kv_get(self, namespace: str, key: str) -> Any | None: ...

    @abc.abstractmethod
    async def kv_set(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable value."""

    @abc.abstractmethod
    async def kv_delete(self, namespace: str, key: str) -> None: ...

    @abc.abstractmethod
    async def kv_items(self, namespace: str) -> dict[str, Any]: ...

    # -- feedback ----------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_feedback(
        self, new: NewFeedback, deliveries: Sequence[NewOutbox], now: datetime | None = None
    ) -> Feedback:
        """Allocate the next reference of the day, store the feedback and queue its deliveries,
        all in one transaction. `deliveries` may contain the placeholder "{reference}" in
        dedupe_key and in top-level string payload values; it is replaced by the reference.
        A delivery whose feedback_reference is None is linked to this feedback (its state then
        follows its "email" row: see mark_sent). The new feedback's state is "received" and
        its created_at is `now` (default: the current time); the reference's date is the
        Asia/Shanghai date of `now`, numbered from 0001 each day."""

    @abc.abstractmethod
    async def get_feedback(self, reference: str) -> Feedback | None: ...

    @abc.abstractmethod
    async def list_feedback(self, user_id: int | None = None) -> list[Feedback]:
        """All feedback (or one user's), newest first."""

    @abc.abstractmethod
    async def count_feedback_since(self, user_id: int, since: datetime) -> int: ...

    @abc.abstractmethod
    async def has_feedback_text_since(self, user_id: int, text: str, since: datetime) -> bool:
        """Whether this user already sent exactly this text (whitespace-normalised) since."""

    @abc.abstractmethod
    async def set_feedback_state(self, reference: str, state: FeedbackState) -> None: ...

    # -- outbox --------------------------------------------------------------------------------
    @abc.abstractmethod
    async def enqueue(self, items: Sequence[NewOutbox]) -> int:
        """Queue messages; rows whose dedupe_key exists are skipped. Returns how many were new."""

    @abc.abstractmethod
    async def claim_due(
        self, kinds: Sequence[str], limit: int, lease: timedelta, now: datetime | None = None
    ) -> list[OutboxItem]:
        """Claim up to `limit` pending rows of these kinds whose next_attempt_at <= now,
        oldest first; pushes their next_attempt_at to now+lease and counts an attempt, so a
        crashed sender's rows come back after the lease and no two senders get the same row."""

    @abc.abstractmethod
    async def mark_sent(self, outbox_id: int, now: datetime | None = None) -> None:
        """Mark a pending row sent (sent_at = now). For a row of kind "email" with a
        feedback_reference, that feedback becomes "forwarded". Rows no longer pending
        (already sent or failed) are left alone, and so is their feedback."""

    @abc.abstractmethod
    async def mark_sent_many(self, outbox_ids: Sequence[int], now: datetime | None = None) -> None:
        """`mark_sent` for many rows in ONE transaction (a group commit: the alert sender marks
        every row that finished while the previous commit ran), with the same rules per row."""

    @abc.abstractmethod
    async def mark_retry(self, outbox_id: int, next_attempt_at: datetime, error: str) -> None:
        """Keep a pending row pending, due again at next_attempt_at, with last_error. For an
        "email" row with a feedback_reference, that feedback becomes "retrying"."""

    @abc.abstractmethod
    async def mark_failed(self, outbox_id: int, error: str) -> None:
        """Give up on a pending row (state failed, last_error). For an "email" row with a
        feedback_reference, that feedback becomes "failed"."""

    @abc.abstractmethod
    async def outbox_by_key(self, dedupe_key: str) -> OutboxItem | None: ...

    @abc.abstractmethod
    async def outbox_counts(self, kind: str | None = None) -> dict[str, int]:
        """How many rows are pending / sent / failed (of one kind, or all)."""

    # -- subscriptions -------------------------------------------------------------------
    @abc.abstractmethod
    async def add_subscription(
        self, user_id: int, chat_id: int, scope: Scope, target: int | None
    ) -> Subscription:
        """Idempotent: the same (user, scope, target) returns the existing subscription."""

    @abc.abstractmethod
    async def remove_subscription(self, user_id: int, subscription_id: int) -> bool:
        """Remove one of this user's subscriptions; False if it was not theirs or is gone."""

    @abc.abstractmethod
    async def remove_all_subscriptions(self, user_id: int) -> int: ...

    @abc.abstractmethod
    async def list_subscriptions(self, user_id: int) -> list[Subscription]: ...

    @abc.abstractmethod
    async def all_subscriptions(self, active_only: bool = True) -> list[Subscription]:
        """Every subscription, oldest first (of active users only, by default: joined with
        users.active; a subscriber with no users row counts as active)."""

    # -- notices -------------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_notice(
        self,
        text: str,
        source: str,
        notice_date: str,
        published_by: int | None,
        meta: dict[str, Any] | None = None,
    ) -> StoredNotice: ...

    @abc.abstractmethod
    async def list_notices(self) -> list[StoredNotice]:
        """All published notices, oldest first."""

    @abc.abstractmethod
    async def latest_notice(self) -> StoredNotice | None:
        """The newest published notice (highest id), None before any."""
