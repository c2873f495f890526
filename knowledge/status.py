"""Derive each item's status from its own words.

The notice names three categories (已完成整改 / 正在整改 / 长期坚持) but does not label each
item, so rules read the rectification text: unfinished concrete work wins over completed
actions, completed actions over standing commitments. The phrase that decided is kept as
evidence, so a reader (and a test) can check the rule against the text.
"""

from __future__ import annotations

import re

from knowledge.model import Status

# Each rule: status, pattern. Order matters: first match wins.
_RULES: tuple[tuple[Status, re.Pattern[str]], ...] = (
    (
        Status.IN_PROGRESS,
        re.compile(
            r"正在|正有序|推进中|目前推进|招聘中|力争|尽快|将续|将继续与|加快推进|加快园区|加快[^,，。;；]*评审"
            r"|有序推进|开工建设|规划设计工作"
        ),
    ),
    (
        Status.COMPLETED,
        re.compile(r"已(?!趋于)|经核查|均经"),
    ),
    (
        Status.LONG_TERM,
        re.compile(r"持续|常态|坚持|长期|进一步强化|严格执行|加大|完善|全力|着力|紧盯"),
    ),
)

_CLAUSE_SPLIT = re.compile(r"[,，。;；、]")


def clause_around(text: str, start: int, end: int) -> str:
    """The clause (between punctuation marks) that contains text[start:end]."""
    left = max((m.end() for m in _CLAUSE_SPLIT.finditer(text, 0, start)), default=0)
    right_match = _CLAUSE_SPLIT.search(text, end)
    right = right_match.start() if right_match else len(text)
    return text[left:right].strip()


def derive_status(text: str) -> tuple[Status, str]:
    """Return the item's status and the clause of `text` that decided it."""
    for status, pattern in _RULES:
        match = pattern.search(text)
        if match:
            return status, clause_around(text, match.start(), match.end())
    first = _CLAUSE_SPLIT.split(text, maxsplit=1)[0].strip()
    return Status.LONG_TERM, first
