"""The knowledge base: a published rectification notice, parsed, enriched and searchable.

Never imports telegram. Use `KnowledgeBase.load_default()` and `.ask(question)`.
"""

from knowledge.base import KnowledgeBase, newest_notice
from knowledge.enrich import Enrichment, EnrichmentError, load_enrichment
from knowledge.matcher import Decision
from knowledge.model import Area, Contact, Inspection, Item, Notice, Plan, Section, Status
from knowledge.parser import NoticeParseError, parse_notice

__all__ = [
    "Area",
    "Contact",
    "Decision",
    "Enrichment",
    "EnrichmentError",
    "Inspection",
    "Item",
    "KnowledgeBase",
    "Notice",
    "NoticeParseError",
    "Plan",
    "Section",
    "Status",
    "load_enrichment",
    "newest_notice",
    "parse_notice",
]
