"""The words of a progress alert: what changed in the items a citizen follows, in their language.

An alert is built when a notice is published and kept in the outbox as plain data (so a weekly
digest can later combine several publications into one message). Rendering produces
Telegram HTML with every piece of notice text escaped. Nothing here talks to Telegram.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from knowledge.diff import ChangeKind, ItemChange
from knowledge.model import Status

# Telegram's limit is 4096 characters; leave room for the header and footer.
MAX_BODY = 3300


@dataclass(frozen=True, slots=True)
class AlertChange:
    """One item's change as a subscriber is told of it (JSON-serialisable)."""

    number: int
    area: int
    title: str
    en_title: str | None
    kind: str  # ChangeKind value
    old_status: str | None  # Status value
    new_status: str | None
    text: str  # the newest words of the notice on this item
    text_changed: bool

    @classmethod
    def from_change(
        cls, change: ItemChange, en_title: Callable[[int], str | None] | None = None
    ) -> AlertChange:
        item = change.item
        return cls(
            number=change.number,
            area=item.area,
            title=item.title,
            en_title=en_title(item.number) if en_title and change.new is not None else None,
            kind=change.kind.value,
            old_status=change.old_status.value if change.old_status else None,
            new_status=change.new_status.value if change.new_status else None,
            text=item.text,
            text_changed=change.text_changed,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertChange:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


def _e(text: object) -> str:
    return html.escape(str(text), quote=False)


def status_label(value: str | None, language: str) -> str:
    """已完成 / Completed … for a Status value."""
    if value is None:
        return "—"
    status = Status(value)
    return status.en if language == "en" else status.zh


def date_label(day: date, language: str) -> str:
    """2025年9月30日 / 30 September 2025."""
    if language == "en":
        return f"{day.day} {day.strftime('%B')} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def render_change(change: AlertChange, language: str) -> str:
    """A few lines on one item: its number and problem, the status move, the new words."""
    en = language == "en"
    title = change.en_title if en and change.en_title else change.title
    number = f"Item {change.number}" if en else f"第{change.number}项"
    lines = [f"<b>{number}</b> {_e(title)}"]
    old = status_label(change.old_status, language)
    new = status_label(change.new_status, language)
    if change.kind == ChangeKind.ADDED:
        lines.append(("New item, status: " if en else "新增事项,状态:") + f"<b>{new}</b>")
    elif change.kind == ChangeKind.REMOVED:
        lines.append("No longer listed in this notice." if en else "本期通报不再列出此项。")
        return "\n".join(lines)
    elif change.old_status != change.new_status:
        lines.append(("Status: " if en else "状态:") + f"{old} → <b>{new}</b>")
    else:
        lines.append(("Status unchanged: " if en else "状态未变:") + new)
    if change.text_changed or change.kind == ChangeKind.ADDED:
        label = "The notice now says (in Chinese): " if en else "最新表述:"
        lines.append(f"{label}“{_e(change.text)}”")
    return "\n".join(lines)


def _body(changes: Sequence[AlertChange], language: str, budget: int) -> str:
    parts: list[str] = []
    used = 0
    for index, change in enumerate(changes):
        block = render_change(change, language)
        if used + len(block) > budget and parts:
            rest = len(changes) - index
            parts.append(
                f"… and {rest} more changed item(s): see /item N for each."
                if language == "en"
                else f"……另有 {rest} 项变化,可发送 /item 编号 查看。"
            )
            break
        parts.append(block)
        used += len(block) + 2
    return "\n\n".join(parts)


def _footer(language: str) -> str:
    if language == "en":
        return "Manage your alerts: /subscriptions"
    return "管理订阅:/subscriptions"


def render_alert(notice_date: date, changes: Sequence[AlertChange], language: str) -> str:
    """One message listing the changes a subscriber follows in one newly published notice."""
    if language == "en":
        head = (
            f"📢 <b>Rectification progress update</b>\n"
            f"Notice of {date_label(notice_date, language)}. "
            f"Changes in what you follow:"
        )
    else:
        head = (
            f"📢 <b>整改进展更新</b>\n"
            f"来源:{date_label(notice_date, language)}通报。你关注的事项有以下变化:"
        )
    return f"{head}\n\n{_body(changes, language, MAX_BODY)}\n\n{_footer(language)}"


def render_digest(sections: Sequence[tuple[date, Sequence[AlertChange]]], language: str) -> str:
    """One weekly message for everything a subscriber follows, one part per notice."""
    head = (
        "🗓 <b>Weekly digest of rectification progress</b>"
        if language == "en"
        else "🗓 <b>整改进展每周汇总</b>"
    )
    budget = max(400, MAX_BODY // max(1, len(sections)))
    parts = [head]
    for notice_date, changes in sorted(sections, key=lambda s: s[0]):
        label = (
            f"<b>Notice of {date_label(notice_date, language)}</b>"
            if language == "en"
            else f"<b>{date_label(notice_date, language)}通报</b>"
        )
        parts.append(f"{label}\n\n{_body(changes, language, budget)}")
    parts.append(_footer(language))
    return "\n\n".join(parts)


def scope_label(scope: str, target: int | None, language: str) -> str:
    """全部事项 / 第2方面 / 第12项 (All items / Area 2 / Item 12)."""
    if language == "en":
        return {"all": "All items", "area": f"Area {target}", "item": f"Item {target}"}[scope]
    return {"all": "全部事项", "area": f"第{target}方面", "item": f"第{target}项"}[scope]


def unsubscribe_label(scope: str, target: int | None, language: str) -> str:
    """The one-tap button under an alert."""
    prefix = "🔕 Unsubscribe: " if language == "en" else "🔕 取消订阅:"
    return prefix + scope_label(scope, target, language)


def manage_label(language: str) -> str:
    """The button under an alert that opens the list of one's subscriptions."""
    return "⚙️ Manage alerts" if language == "en" else "⚙️ 管理订阅"
