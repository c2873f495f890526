"""Publishing a newer notice: check it, show what changes and whom it reaches, then commit.

Shared by the staff's Telegram flow (handlers/publish.py) and the server command
`python -m knowledge publish FILE [--database-url URL] [--yes]`. The order is what keeps
alerts exact: the notice is stored, then ONE outbox row per subscriber is queued with a
dedupe key `pub:<notice id>:user:<user id>` (queuing twice is harmless), then the notice is
marked as queued; `ensure_queued` repeats the queuing after a crash between those steps.
Weekly-digest subscribers get a `digest_entry` row due at the next digest time instead, which
the digest job folds into one message. This module uses the store but never Telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from knowledge.alerts import AlertChange, manage_label, render_alert, unsubscribe_label
from knowledge.diff import ChangeKind, ItemChange, NoticeDiff, diff_notices
from knowledge.model import Notice
from knowledge.parser import NoticeParseError

if TYPE_CHECKING:
    from knowledge import KnowledgeBase
    from store.base import NewOutbox, Store, StoredNotice, Subscription, User

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTIFICATION = "notification"  # one immediate alert, sent by services/broadcast.py
DIGEST_ENTRY = "digest_entry"  # one publication's changes for a weekly subscriber
DIGEST = "digest"  # the weekly message folding a subscriber's digest entries
QUEUED_NS = "notice_queued"  # kv namespace: notice id → number of rows queued
LANGUAGE_NS = "sub_language"  # kv namespace: user id → language seen when subscribing


class PublishError(ValueError):
    """The notice cannot be published; `problems` are line-numbered where possible."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def decode(data: bytes) -> str:
    """The text of an uploaded file: UTF-8 (with or without BOM), else GB18030."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise PublishError(["the file is neither UTF-8 nor GB18030 text"]) from None


def load_candidate(text: str, source: str) -> KnowledgeBase:
    """Parse a candidate notice into a KnowledgeBase; PublishError with the line on failure."""
    from knowledge import KnowledgeBase

    try:
        return KnowledgeBase.from_text(text, source=source)
    except NoticeParseError as exc:
        raise PublishError([str(exc)]) from exc


def check_newer(current: Notice, new: Notice) -> list[str]:
    """What makes `new` unfit to replace `current` (empty when it may be published)."""
    problems = []
    if new.text.strip() == current.text.strip():
        problems.append("this is the current notice itself: nothing to publish")
    elif new.date <= current.date:
        problems.append(
            f"line {_date_line(new)}: the notice is dated {new.date.isoformat()}, "
            f"not later than the current notice ({current.date.isoformat()})"
        )
    return problems


def _date_line(notice: Notice) -> int:
    lines = notice.text.splitlines()
    for number in range(len(lines), 0, -1):
        if lines[number - 1].strip():
            return number
    return len(lines)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One subscriber who will hear of a publication, and what about."""

    user_id: int
    chat_id: int
    language: str
    frequency: str
    subscriptions: tuple[Subscription, ...]  # those that some change concerns
    changes: tuple[ItemChange, ...]


@dataclass(frozen=True)
class Plan:
    """What publishing `new` over `current` would change, and whom it would tell."""

    current: Notice
    new: Notice
    diff: NoticeDiff
    recipients: tuple[Recipient, ...]
    reach: dict[int, int] = field(default_factory=dict)  # index in diff.changes → subscribers

    @property
    def weekly(self) -> int:
        return sum(1 for r in self.recipients if r.frequency == "weekly")


def subscriber_language(user: User | None, seen: object) -> str:
    """The language to write to a subscriber in: chosen, else seen when subscribing, else zh."""
    if user is not None and user.language:
        return user.language
    return seen if isinstance(seen, str) else "zh"


async def plan_publication(store: Store, current: Notice, new: Notice) -> Plan:
    """Diff the notices and work out, per active subscriber, the changes they follow."""
    diff = diff_notices(current, new)
    by_user: dict[int, list[Subscription]] = {}
    for sub in await store.all_subscriptions(active_only=True):
        by_user.setdefault(sub.user_id, []).append(sub)
    seen = await store.kv_items(LANGUAGE_NS)
    recipients = []
    reach = dict.fromkeys(range(len(diff.changes)), 0)
    for user_id, subs in by_user.items():
        matching = tuple(s for s in subs if diff.for_scope(s.scope, s.target))
        if not matching:
            continue
        indices = [
            i for i, change in enumerate(diff.changes)
            if any(change.concerns(s.scope, s.target) for s in matching)
        ]
        for index in indices:
            reach[index] += 1
        user = await store.get_user(user_id)
        recipients.append(
            Recipient(
                user_id=user_id,
                chat_id=user.chat_id if user is not None else subs[0].chat_id,
                language=subscriber_language(user, seen.get(str(user_id))),
                frequency=user.frequency if user is not None else "immediate",
                subscriptions=matching,
                changes=tuple(diff.changes[i] for i in indices),
            )
        )
    return Plan(current, new, diff, tuple(recipients), reach)


def next_digest_time(now: datetime, weekday: int, at: time) -> datetime:
    """The next weekly digest moment (Asia/Shanghai weekday and time) after `now`, in UTC."""
    local = now.astimezone(SHANGHAI)
    moment = datetime.combine(local.date(), at, tzinfo=SHANGHAI)
    moment += timedelta(days=(weekday - local.weekday()) % 7)
    if moment <= local:
        moment += timedelta(days=7)
    return moment.astimezone(UTC)


def alert_buttons(
    subscriptions: Sequence[Subscription], language: str
) -> list[list[dict[str, str]]]:
    """One row per subscription the alert is about with a one-tap unsubscribe (`unsub:ID`),
    then one to manage all (`sub:list`)."""
    rows = [
        [{"text": unsubscribe_label(s.scope, s.target, language), "callback_data": f"unsub:{s.id}"}]
        for s in subscriptions[:8]
    ]
    return [*rows, [{"text": manage_label(language), "callback_data": "sub:list"}]]


def outbox_rows(
    plan: Plan,
    notice_id: int,
    en_title: Callable[[int], str | None] | None,
    digest_at: datetime,
) -> list[NewOutbox]:
    """The rows to queue for a stored publication: one per recipient."""
    from store.base import NewOutbox

    rows = []
    for r in plan.recipients:
        changes = [AlertChange.from_change(c, en_title) for c in r.changes]
        payload: dict[str, Any] = {
            "user_id": r.user_id,
            "chat_id": r.chat_id,
            "language": r.language,
            "notice_id": notice_id,
            "notice_date": plan.new.date.isoformat(),
            "buttons": alert_buttons(r.subscriptions, r.language),
        }
        key = f"pub:{notice_id}:user:{r.user_id}"
        if r.frequency == "weekly":
            payload["changes"] = [c.to_dict() for c in changes]
            rows.append(NewOutbox(DIGEST_ENTRY, key, payload, not_before=digest_at))
        else:
            payload["text"] = render_alert(plan.new.date, changes, r.language)
            rows.append(NewOutbox(NOTIFICATION, key, payload))
    return rows


async def queue_notifications(
    store: Store,
    plan: Plan,
    notice_id: int,
    en_title: Callable[[int], str | None] | None,
    digest_at: datetime,
) -> int:
    """Queue every recipient's row (idempotent) and mark the notice as queued."""
    rows = outbox_rows(plan, notice_id, en_title, digest_at)
    new = await store.enqueue(rows)
    await store.kv_set(QUEUED_NS, str(notice_id), len(rows))
    return new


async def commit_publication(
    store: Store,
    plan: Plan,
    candidate: KnowledgeBase,
    published_by: int | None,
    digest_at: datetime,
) -> tuple[StoredNotice, int]:
    """Store the notice (the bundled current one first if the store has none), queue alerts."""
    latest = await store.latest_notice()
    if latest is not None and latest.text.strip() == plan.new.text.strip():
        # Confirmed twice (or by two staff): the first one did the work.
        return latest, 0
    if latest is None:
        await store.add_notice(
            plan.current.text, plan.current.source or "bundled", plan.current.date.isoformat(),
            None, meta={"bundled": True},
        )
    stored = await store.add_notice(
        plan.new.text, plan.new.source, plan.new.date.isoformat(), published_by,
        meta={"changes": len(plan.diff.changes), "recipients": len(plan.recipients)},
    )
    queued = await queue_notifications(store, plan, stored.id, candidate.en_title, digest_at)
    return stored, queued


async def ensure_queued(store: Store, digest_at: datetime) -> int:
    """After a crash between storing a notice and queuing its alerts: queue them now."""
    notices = await store.list_notices()
    if len(notices) < 2:
        return 0
    latest, previous = notices[-1], notices[-2]
    if await store.kv_get(QUEUED_NS, str(latest.id)) is not None:
        return 0
    current = load_candidate(previous.text, previous.source).notice
    candidate = load_candidate(latest.text, latest.source)
    plan = await plan_publication(store, current, candidate.notice)
    return await queue_notifications(store, plan, latest.id, candidate.en_title, digest_at)


# -- the preview, as plain text (CLI) or Telegram HTML (handler) ---------------------------


def _change_lines(change: ItemChange) -> list[str]:
    item = change.item
    lines = []
    if change.kind is ChangeKind.ADDED:
        lines.append(f"  新增 added ({item.status.zh})")
        lines.append(f"  “{item.text}”")
        return lines
    if change.kind is ChangeKind.REMOVED:
        lines.append("  删除 removed")
        return lines
    assert change.old is not None and change.new is not None
    if change.renumbered:
        lines.append(f"  编号 number {change.old.number} → {change.new.number}")
    if change.title_changed:
        lines.append(f"  问题 title “{change.old.title}” → “{change.new.title}”")
    if change.status_changed:
        lines.append(f"  状态 status {change.old.status.zh} → {change.new.status.zh}")
    for old, new in change.wording():
        lines.append(f"  表述 wording “{old}” → “{new}”")
    return lines


def preview_text(plan: Plan, escape: Callable[[str], str] = lambda s: s) -> str:
    """The differences item by item with how many subscribers each reaches."""
    new, current, diff = plan.new, plan.current, plan.diff
    head = [
        f"{escape(new.title)}",
        f"日期 date: {current.date.isoformat()} → {new.date.isoformat()}; "
        f"items {current.item_count} → {new.item_count}",
        f"变化 changes: {len(diff.changes)} "
        f"(状态 status {len(diff.status_changes)}, 新增 added "
        f"{len(diff.of_kind(ChangeKind.ADDED))}, 删除 removed "
        f"{len(diff.of_kind(ChangeKind.REMOVED))})",
        f"订阅者 subscribers reached: {len(plan.recipients)} "
        f"({plan.weekly} by weekly digest)",
    ]
    body = []
    for index, change in enumerate(diff.changes):
        reach = plan.reach.get(index, 0)
        body.append(
            f"第{change.number}项 item {change.number} · {escape(change.item.title)} "
            f"[{reach} subscriber{'s' if reach != 1 else ''}]"
        )
        body.extend(escape(line) for line in _change_lines(change))
    if not diff.changes:
        body.append("没有事项变化 no item changed: nobody will be notified.")
    return "\n".join(head) + "\n\n" + "\n".join(body)


# -- the server command -----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m knowledge publish",
        description="Publish a newer notice: show the differences and reach, then store it "
        "and queue alerts to subscribers.",
    )
    parser.add_argument("file", help="the newer notice, a UTF-8 (or GB18030) text file")
    parser.add_argument("--database-url", help="default: DATABASE_URL / settings")
    parser.add_argument("--yes", action="store_true", help="publish without asking")
    return parser


async def _current_notice(store: Store) -> Notice:
    from knowledge import KnowledgeBase

    latest = await store.latest_notice()
    if latest is None:
        return KnowledgeBase.load_default().notice
    return load_candidate(latest.text, latest.source).notice


async def run(
    path: str,
    text: str,
    database_url: str,
    yes: bool,
    digest_weekday: int,
    digest_time: time,
    confirm: Callable[[], bool],
) -> int:
    """Check, preview and (on confirmation) publish the notice `text`; the exit code."""
    from store import open_store

    try:
        candidate = load_candidate(text, os.path.basename(path))
    except PublishError as exc:
        return _refuse(exc.problems)
    store = open_store(database_url)
    await store.open()
    try:
        current = await _current_notice(store)
        problems = check_newer(current, candidate.notice)
        if problems:
            return _refuse(problems)
        plan = await plan_publication(store, current, candidate.notice)
        print(preview_text(plan))
        if not yes and not confirm():
            print("not published")
            return 1
        digest_at = next_digest_time(datetime.now(UTC), digest_weekday, digest_time)
        stored, queued = await commit_publication(store, plan, candidate, None, digest_at)
        print(f"published notice #{stored.id} of {stored.notice_date}; {queued} alerts queued")
        return 0
    finally:
        await store.close()


def _refuse(problems: Sequence[str]) -> int:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print("nothing was published", file=sys.stderr)
    return 1


def _ask() -> bool:
    try:
        return input("Publish this notice? [y/N] ").strip().lower() in {"y", "yes"}
    except EOFError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m knowledge publish FILE [--database-url URL] [--yes]`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "publish":
        args = args[1:]
    options = _parser().parse_args(args)
    from settings import Settings

    try:
        with open(options.file, "rb") as handle:
            text = decode(handle.read())
    except OSError as exc:
        print(f"error: cannot read {options.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except PublishError as exc:
        return _refuse(exc.problems)
    settings = Settings.load(require_token=False)
    url = options.database_url or settings.database_url
    return asyncio.run(
        run(options.file, text, url, options.yes, settings.digest_weekday, settings.digest_time,
            _ask)
    )
