"""Pure rendering helpers: splitting to Telegram's limit, progress bars, dates, callback sizes."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from handlers import render
from handlers.common import esc, split_html


class TestSplitHtml:
    def test_short_text_is_one_chunk(self):
        """A short text comes back unchanged."""
        assert split_html("a\nb") == ["a\nb"]

    def test_splits_at_line_boundaries(self):
        """Long texts are split between lines, each chunk within the limit."""
        lines = [f"<b>{i}</b> " + "字" * 50 for i in range(200)]
        chunks = split_html("\n".join(lines), limit=1000)
        assert all(len(c) <= 1000 for c in chunks)
        assert "\n".join(chunks) == "\n".join(lines)

    def test_overlong_line_is_cut_without_half_an_entity(self):
        """A single line over the limit is cut, never inside &amp;."""
        chunks = split_html(esc("&" * 3000), limit=100)
        assert len(chunks) == 1 and len(chunks[0]) <= 100
        assert chunks[0].endswith("&amp;…")

    @given(st.text(alphabet="ab&<>\n字", max_size=3000))
    def test_every_chunk_fits(self, text):
        """Any escaped text splits into chunks within the limit."""
        assert all(len(c) <= 200 for c in split_html(esc(text), limit=200))


class TestSmallPieces:
    def test_progress_bar(self):
        """Bars fill in proportion and are full only when everything is done."""
        assert render.progress_bar(0, 10) == "░" * 10
        assert render.progress_bar(5, 10) == "▓" * 5 + "░" * 5
        assert render.progress_bar(99, 100) == "▓" * 9 + "░"
        assert render.progress_bar(3, 3) == "▓" * 10
        assert render.progress_bar(0, 0) == "░" * 10

    def test_dates(self):
        """Dates read naturally in both languages."""
        assert render.fmt_date(date(2025, 5, 28), "zh") == "2025年5月28日"
        assert render.fmt_date(date(2025, 5, 28), "en") == "28 May 2025"

    def test_callback_data_fits_64_bytes(self, knowledge_base):
        """Every button the renderers make has callback data within Telegram's 64 bytes."""
        replies = [render.browse_areas(knowledge_base, "zh"), render.progress(knowledge_base, "en")]
        for area in range(1, 5):
            for page in range(render.page_count(knowledge_base, area)):
                replies.append(render.browse_area(knowledge_base, area, page, "en"))
        replies += [
            render.browse_item(knowledge_base, n, 2, "zh") for n in knowledge_base.notice.items
        ]
        for reply in replies:
            assert reply.markup is not None
            for row in reply.markup.inline_keyboard:
                for button in row:
                    assert len((button.callback_data or "").encode()) <= 64


class TestReuse:
    def test_keyboard_serialises_like_telegrams_own(self, knowledge_base):
        """A reused keyboard turns into exactly the JSON data a fresh InlineKeyboardMarkup gives,
        every time it is sent."""
        from telegram import InlineKeyboardMarkup

        markup = render.item_card(knowledge_base, 12, "zh").markup
        assert isinstance(markup, render.Keyboard)
        fresh = InlineKeyboardMarkup(markup.inline_keyboard).to_dict()
        assert markup.to_dict() == fresh
        assert markup.to_dict() == fresh  # the second call comes from the cache
        assert "_as_dict" not in markup.to_dict()

    def test_replies_are_per_knowledge_base_and_language(self, knowledge_base):
        """The same arguments give the same reply object; another language or another knowledge
        base (a newer notice) gives its own."""
        from pathlib import Path

        from knowledge.base import KnowledgeBase

        card = render.item_card(knowledge_base, 12, "zh")
        assert render.item_card(knowledge_base, 12, "zh") is card
        assert render.item_card(knowledge_base, 12, "en").text != card.text
        newer = Path(__file__).parent / "data" / "followup_notice_TEST_FIXTURE.txt"
        other = KnowledgeBase.from_text(newer.read_text(encoding="utf-8"))
        assert other.item(12).text != knowledge_base.item(12).text
        assert other.item(12).text in render.item_card(other, 12, "zh").text

    def test_not_covered_quotes_each_question(self, knowledge_base):
        """The cached part of a 'not covered' reply never carries an earlier question."""
        first = render.nothing(knowledge_base, "成都的污水厂", "zh")
        second = render.nothing(knowledge_base, "眉山中学招生", "zh")
        assert "成都" in first.text and "成都" not in second.text
        assert first.markup is second.markup

    def test_one_areas_problems_show_that_area(self, knowledge_base):
        """A question about one area's problems as a whole gets that area: its counts and its
        items, not the whole notice's progress page."""
        decision = knowledge_base.ask("腐败问题方面整改得怎么样")
        reply = render.decision(knowledge_base, decision, "zh")
        assert "不正之风和腐败问题方面" in reply.text
        assert reply.text == render.browse_area(knowledge_base, 2, 0, "zh").text
        overall = render.decision(knowledge_base, knowledge_base.ask("整改总体进度怎么样"), "zh")
        assert "全部 52 项" in overall.text
