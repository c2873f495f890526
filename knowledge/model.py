"""Typed objects for one published rectification notice.

Everything here is read from the notice text by `knowledge.parser`; nothing is typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Status(StrEnum):
    """The notice's own three categories of rectification (see its section 三(二))."""

    COMPLETED = "completed"  # 已完成整改
    IN_PROGRESS = "in_progress"  # 正在整改
    LONG_TERM = "long_term"  # 长期坚持

    @property
    def zh(self) -> str:
        return _STATUS_ZH[self]

    @property
    def en(self) -> str:
        return _STATUS_EN[self]


_STATUS_ZH = {
    Status.COMPLETED: "已完成",
    Status.IN_PROGRESS: "推进中",
    Status.LONG_TERM: "长期坚持",
}
_STATUS_EN = {
    Status.COMPLETED: "Completed",
    Status.IN_PROGRESS: "In progress",
    Status.LONG_TERM: "Long-term",
}


@dataclass(frozen=True, slots=True)
class Contact:
    """The channels the notice invites the public to use."""

    phone: str
    address: str
    email: str
    invitation: str  # the notice's own sentence(s) inviting opinions


@dataclass(frozen=True, slots=True)
class Inspection:
    """Who inspected whom, and when."""

    group: str  # 市委第三巡察组
    target: str  # 眉山高新区党工委
    kind: str  # 常规巡察
    start: date
    end: date
    feedback_date: date
    authority: str  # 市委 (whose deployment)


@dataclass(frozen=True, slots=True)
class Area:
    """One of the notice's areas of problems, e.g. (一)党中央决策部署在基层落实情况方面."""

    number: int  # 1-based
    numeral: str  # 一
    title: str
    items: tuple[int, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Item:
    """One problem found by the inspection and what was done about it."""

    number: int
    area: int
    title: str  # the problem, as quoted in 关于“…”的整改情况
    text: str  # the rectification text, the notice's own words
    status: Status
    evidence: str  # the phrase of `text` that decided `status` (or the override's reason)
    status_overridden: bool
    line: int


@dataclass(frozen=True, slots=True)
class Plan:
    """One of the next-step plans in section 三."""

    number: int
    title: str
    text: str
    line: int


@dataclass(frozen=True, slots=True)
class Section:
    """A free-text section of the notice (its heading and body)."""

    heading: str
    text: str
    line: int


@dataclass(frozen=True, slots=True)
class Notice:
    """One whole notice, parsed."""

    issuer: str
    title: str
    date: date
    intro: str
    inspection: Inspection
    leadership: Section
    areas: tuple[Area, ...]
    items: dict[int, Item]
    next_steps: Section
    plans: tuple[Plan, ...]
    contact: Contact
    source: str = ""  # file name or other label of where the text came from
    text: str = field(default="", repr=False)

    @property
    def item_count(self) -> int:
        return len(self.items)

    def area_of(self, item_number: int) -> Area:
        return self.areas[self.items[item_number].area - 1]

    def status_counts(self, area: int | None = None) -> dict[Status, int]:
        """How many items have each status, overall or in one area."""
        counts = dict.fromkeys(Status, 0)
        for item in self.items.values():
            if area is None or item.area == area:
                counts[item.status] += 1
        return counts
