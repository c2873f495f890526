"""Any text at all: no exception, a valid decision, bounded time."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge import Decision, KnowledgeBase

KINDS = {"item", "ambiguous", "contact", "meta", "none"}

_kb = KnowledgeBase.load_default()


def _check(question: str) -> Decision:
    started = time.perf_counter()
    decision = _kb.ask(question)
    elapsed = time.perf_counter() - started
    assert isinstance(decision, Decision)
    assert decision.kind in KINDS
    assert decision.question == question
    assert 0.0 <= decision.score <= 1.0
    assert decision.lang in ("zh", "en")
    assert all(n in _kb.notice.items for n in decision.items)
    assert (decision.kind in ("item", "ambiguous")) == bool(decision.items)
    assert len(decision.items) <= 3
    assert elapsed < 0.25, f"{elapsed:.3f}s for {question[:40]!r}"
    return decision


EDGE_CASES = [
    "",
    " ",
    "\t\n\r ",
    "？？？！！！。。。",
    "!!!...???",
    "😀😀😀🔥",
    "\x00\x01\x02\x1b[31m",
    "مرحبا كيف حالك",
    "\u202e污水处理厂\u202c",
    "污" * 5000,
    "sewage " * 1000,
    "a" * 4096,
    "\ufeff\u200b\u200d",
    "１２３４５",
]


class TestBadInput:
    @pytest.mark.parametrize("question", EDGE_CASES, ids=range(len(EDGE_CASES)))
    def test_edge_cases(self, question: str) -> None:
        """Empty, whitespace, huge, emoji, control, RTL and punctuation-only input are safe."""
        _check(question)

    @pytest.mark.parametrize("question", ["", "   ", "？？？", "😀", "\x00\x07"])
    def test_contentless_is_none(self, question: str) -> None:
        """Input with no words at all is answered none."""
        assert _check(question).kind == "none"

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=300))
    def test_any_text(self, question: str) -> None:
        """Arbitrary unicode text gives a valid decision quickly."""
        _check(question)

    @settings(max_examples=100, deadline=None)
    @given(st.text(alphabet=st.characters(categories=["Lo", "Po", "So", "Cc", "Zs"]),
                   min_size=1000, max_size=5000))
    def test_long_mixed_text(self, question: str) -> None:
        """Long runs of CJK, punctuation, symbols and control characters stay bounded."""
        _check(question)
