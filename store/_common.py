"""Helpers shared by the store backends: time, text normalisation, references, placeholders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from store.base import NewOutbox

SHANGHAI = ZoneInfo("Asia/Shanghai")
REFERENCE_PLACEHOLDER = "{reference}"


def utc(moment: datetime | None = None) -> datetime:
    """`moment` (now if None) as an aware UTC datetime; a naive one is taken to be UTC."""
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_text(moment: datetime) -> str:
    """A fixed-width UTC ISO string, so that text order is time order (SQLite)."""
    return utc(moment).isoformat(timespec="microseconds")


def from_text(value: str) -> datetime:
    """The aware UTC datetime of a string written by `to_text`."""
    return utc(datetime.fromisoformat(value))


def normalise_question(text: str) -> str:
    """Whitespace collapsed and lower-cased: how unanswered questions are grouped."""
    return " ".join(text.split()).lower()


def normalise_feedback(text: str) -> str:
    """Whitespace collapsed: how duplicate feedback texts are recognised."""
    return " ".join(text.split())


def reference_day(now: datetime) -> date:
    """The Asia/Shanghai calendar day of `now`, which numbers the day's references."""
    return utc(now).astimezone(SHANGHAI).date()


def format_reference(day: date, number: int) -> str:
    """`MS-YYYYMMDD-NNNN`."""
    return f"MS-{day:%Y%m%d}-{number:04d}"


def with_reference(deliveries: Sequence[NewOutbox], reference: str) -> list[NewOutbox]:
    """Deliveries of one feedback: "{reference}" replaced in dedupe_key and top-level string
    payload values, and feedback_reference set to the reference when it is None."""
    result = []
    for item in deliveries:
        payload = {
            key: value.replace(REFERENCE_PLACEHOLDER, reference)
            if isinstance(value, str)
            else value
            for key, value in item.payload.items()
        }
        result.append(
            replace(
                item,
                dedupe_key=item.dedupe_key.replace(REFERENCE_PLACEHOLDER, reference),
                payload=payload,
                feedback_reference=(
                    item.feedback_reference.replace(REFERENCE_PLACEHOLDER, reference)
                    if item.feedback_reference is not None
                    else reference
                ),
            )
        )
    return result


def dumps(value: Any) -> str:
    """JSON text as stored (non-ASCII kept readable)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Any:
    """The value of JSON text written by `dumps`."""
    return json.loads(text)
