"""The knowledge base: one notice, its enrichment and the matcher, behind one small API.

Other parts of the project (the bot's handlers, publishing, the CLI) use only this class:
`KnowledgeBase.load_default()` for the bundled notice, `.ask(question)` for a `Decision`, and
plain look-ups for rendering. It never imports telegram.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from knowledge.enrich import DATA, Enrichment, EnrichmentError, load_enrichment, load_intents
from knowledge.matcher import Decision, Matcher
from knowledge.model import Item, Notice
from knowledge.parser import parse_notice

NOTICES = DATA / "notices"


def newest_notice() -> Path:
    """The bundled notice file with the newest date in its name (names start YYYY-MM-DD)."""
    files = sorted(NOTICES.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no notice in {NOTICES}")
    return files[-1]


class KnowledgeBase:
    """A parsed notice with its enrichment and indexes, ready to answer questions."""

    def __init__(self, notice: Notice, enrichment: Enrichment) -> None:
        self.notice = notice
        # Enrichment is keyed by item number: entries for items this notice lacks are ignored,
        # and items without enrichment are matched on their Chinese text only.
        known = set(notice.items)
        self.enrichment = Enrichment(
            areas={n: a for n, a in enrichment.areas.items() if n <= len(notice.areas)},
            items={n: e for n, e in enrichment.items.items() if n in known},
            synonyms=enrichment.synonyms,
            overrides={n: o for n, o in enrichment.overrides.items() if n in known},
            item_lines=enrichment.item_lines,
            area_lines=enrichment.area_lines,
            source=enrichment.source,
        )
        self.matcher = Matcher(notice, self.enrichment, load_intents())

    @classmethod
    def load_default(cls) -> KnowledgeBase:
        """The bundled newest notice with the bundled enrichment (one instance per process)."""
        return _default()

    @classmethod
    def from_text(cls, text: str, source: str = "<text>",
                  enrichment: Enrichment | None = None) -> KnowledgeBase:
        """A knowledge base for another notice's text (enrichment applies by item number)."""
        extra = enrichment if enrichment is not None else _bundled_enrichment()
        notice = parse_notice(text, source=source, status_overrides=extra.overrides)
        return cls(notice, extra)

    # ------------------------------------------------------------------ look-ups

    @property
    def items(self) -> list[Item]:
        """All items in notice order."""
        return [self.notice.items[n] for n in sorted(self.notice.items)]

    def item(self, number: int) -> Item:
        """One item by number (KeyError if the notice has none)."""
        return self.notice.items[number]

    def en_title(self, number: int) -> str:
        """The item's English title, or its Chinese title when it has no enrichment."""
        extra = self.enrichment.items.get(number)
        return extra.en_title if extra is not None else self.item(number).title

    def en_summary(self, number: int) -> str:
        """The item's English summary, or its Chinese text when it has no enrichment."""
        extra = self.enrichment.items.get(number)
        return extra.en_summary if extra is not None else self.item(number).text

    def area_title(self, area_no: int, lang: str = "zh") -> str:
        """An area's full title in 'zh' or 'en' (Chinese when no English exists)."""
        area = self.notice.areas[area_no - 1]
        extra = self.enrichment.areas.get(area_no)
        if lang == "en" and extra is not None:
            return extra.en_title
        return area.title

    def area_short(self, area_no: int, lang: str = "zh") -> str:
        """An area's short label for buttons, in 'zh' or 'en'."""
        extra = self.enrichment.areas.get(area_no)
        if extra is None:
            return f"({self.notice.areas[area_no - 1].numeral})"
        return extra.short_en if lang == "en" else extra.short_zh

    # ------------------------------------------------------------------ matching

    def ask(self, question: str) -> Decision:
        """Decide what a free-text question is about."""
        return self.matcher.decide(question)

    def related(self, number: int, k: int = 3) -> list[int]:
        """The k other items most similar to item `number`."""
        return self.matcher.related(number, k)

    def search(self, query: str, limit: int = 10) -> list[int]:
        """Best items for a partial query (inline mode); may be empty."""
        return self.matcher.search(query, limit)


@lru_cache(maxsize=1)
def _bundled_enrichment() -> Enrichment:
    return load_enrichment()


@lru_cache(maxsize=1)
def _default() -> KnowledgeBase:
    path = newest_notice()
    enrichment = _bundled_enrichment()
    notice = parse_notice(
        path.read_text(encoding="utf-8"), source=path.name, status_overrides=enrichment.overrides
    )
    return KnowledgeBase(notice, enrichment)


__all__ = ["Decision", "EnrichmentError", "KnowledgeBase", "newest_notice"]
