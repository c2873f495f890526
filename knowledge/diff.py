"""What changed between two notices, item by item, and the history of one item.

Items are matched first by their problem title (the notice's own words in 关于“…”), so that an
item keeps its identity when the numbering shifts, then by number when the title was reworded
but is still recognisably the same problem. What is left unmatched was added or removed.
Everything here is pure: notices in, plain data out.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from knowledge.model import Item, Notice, Status

# Two titles at the same number count as the same problem above this similarity.
TITLE_SIMILARITY = 0.6


class ChangeKind(StrEnum):
    """How an item differs between the old and the new notice."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class ItemChange:
    """One item that is new, gone, or different in the newer notice."""

    old: Item | None
    new: Item | None

    @property
    def kind(self) -> ChangeKind:
        if self.old is None:
            return ChangeKind.ADDED
        if self.new is None:
            return ChangeKind.REMOVED
        return ChangeKind.CHANGED

    @property
    def number(self) -> int:
        """The item's number in the newer notice (in the older one if it was removed)."""
        item = self.new or self.old
        assert item is not None  # an ItemChange always has one side
        return item.number

    @property
    def item(self) -> Item:
        """The newest version of the item (the old one if it was removed)."""
        item = self.new or self.old
        assert item is not None
        return item

    @property
    def numbers(self) -> frozenset[int]:
        """Every number the item had, in either notice."""
        return frozenset(i.number for i in (self.old, self.new) if i is not None)

    @property
    def areas(self) -> frozenset[int]:
        """Every area the item was in, in either notice."""
        return frozenset(i.area for i in (self.old, self.new) if i is not None)

    @property
    def status_changed(self) -> bool:
        return self.old is not None and self.new is not None and self.old.status != self.new.status

    @property
    def text_changed(self) -> bool:
        return self.old is not None and self.new is not None and self.old.text != self.new.text

    @property
    def title_changed(self) -> bool:
        return self.old is not None and self.new is not None and self.old.title != self.new.title

    @property
    def renumbered(self) -> bool:
        return self.old is not None and self.new is not None and self.old.number != self.new.number

    @property
    def old_status(self) -> Status | None:
        return self.old.status if self.old else None

    @property
    def new_status(self) -> Status | None:
        return self.new.status if self.new else None

    def wording(self) -> list[tuple[str, str]]:
        """The changed stretches of the rectification text as (old words, new words)."""
        if self.old is None or self.new is None:
            return []
        return changed_fragments(self.old.text, self.new.text)

    def concerns(self, scope: str, target: int | None) -> bool:
        """Whether a subscription of this scope ("all", "area", "item") should hear of it."""
        if scope == "all":
            return True
        if scope == "area":
            return target in self.areas
        if scope == "item":
            return target in self.numbers
        return False


@dataclass(frozen=True, slots=True)
class NoticeDiff:
    """Every item that differs between an older and a newer notice, in the newer order."""

    old_date: date
    new_date: date
    changes: tuple[ItemChange, ...]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def of_kind(self, kind: ChangeKind) -> tuple[ItemChange, ...]:
        return tuple(c for c in self.changes if c.kind is kind)

    @property
    def status_changes(self) -> tuple[ItemChange, ...]:
        return tuple(c for c in self.changes if c.status_changed)

    def for_scope(self, scope: str, target: int | None) -> tuple[ItemChange, ...]:
        """The changes that concern one subscription."""
        return tuple(c for c in self.changes if c.concerns(scope, target))

    def for_scopes(self, scopes: Iterable[tuple[str, int | None]]) -> tuple[ItemChange, ...]:
        """The changes that concern any of several subscriptions, each once, in order."""
        wanted = list(scopes)
        return tuple(c for c in self.changes if any(c.concerns(s, t) for s, t in wanted))


def changed_fragments(old: str, new: str, context: int = 4) -> list[tuple[str, str]]:
    """The stretches where `new` differs from `old`, each widened by a few characters of context
    so that a reader can place it (character-level, which suits Chinese text)."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    fragments: list[tuple[str, str]] = []
    # Grouping merges edits separated by less than twice the context into one stretch.
    for group in matcher.get_grouped_opcodes(context):
        _, i1, _, j1, _ = group[0]
        _, _, i2, _, j2 = group[-1]
        fragments.append((old[i1:i2], new[j1:j2]))
    return fragments


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= TITLE_SIMILARITY


def match_items(old: Notice, new: Notice) -> list[tuple[Item | None, Item | None]]:
    """Pair each item of `old` with its counterpart in `new` (None where there is none)."""
    pairs: dict[int, int] = {}  # old number → new number
    new_by_title: dict[str, list[int]] = {}
    for number, item in new.items.items():
        new_by_title.setdefault(item.title, []).append(number)
    taken: set[int] = set()
    for number, item in old.items.items():
        candidates = [n for n in new_by_title.get(item.title, []) if n not in taken]
        if candidates:
            # The same title twice: prefer the same number, else the nearest.
            best = min(candidates, key=lambda n: (n != number, abs(n - number)))
            pairs[number] = best
            taken.add(best)
    for number, item in old.items.items():
        if number in pairs or number not in new.items or number in taken:
            continue
        if _similar(item.title, new.items[number].title):
            pairs[number] = number
            taken.add(number)
    result: list[tuple[Item | None, Item | None]] = [
        (old.items[o], new.items[n]) for o, n in pairs.items()
    ]
    result += [(item, None) for number, item in old.items.items() if number not in pairs]
    result += [(None, item) for number, item in new.items.items() if number not in taken]
    return result


def diff_notices(old: Notice, new: Notice) -> NoticeDiff:
    """Every item that was added, removed, or changed (status, text, title or number)."""
    changes = []
    for before, after in match_items(old, new):
        change = ItemChange(before, after)
        if change.kind is ChangeKind.CHANGED and not (
            change.status_changed or change.text_changed or change.title_changed
            or change.renumbered
        ):
            continue
        changes.append(change)
    # Newer order; a removed item sorts where it used to be, after any item now at that number.
    changes.sort(key=lambda c: (c.number, c.kind is ChangeKind.REMOVED))
    return NoticeDiff(old_date=old.date, new_date=new.date, changes=tuple(changes))


class TimelineEntry(NamedTuple):
    """One notice's word on one item."""

    date: date
    status: Status
    text: str


def item_timeline(notices: Sequence[Notice], number: int) -> list[TimelineEntry]:
    """The history of item `number` of the LAST notice through all `notices` (oldest first):
    one entry per notice that has the item, followed back through renumbering and rewording."""
    if not notices or number not in notices[-1].items:
        return []
    current: Item | None = notices[-1].items[number]
    entries: list[TimelineEntry] = []
    for index in range(len(notices) - 1, -1, -1):
        if current is None:
            break
        entries.append(TimelineEntry(notices[index].date, current.status, current.text))
        if index == 0:
            break
        newer_number = current.number
        current = None
        for before, after in match_items(notices[index - 1], notices[index]):
            if after is not None and after.number == newer_number:
                current = before
                break
    entries.reverse()
    return entries
