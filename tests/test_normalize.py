"""Folding, language detection, stemming and the committed pinyin table."""

from __future__ import annotations

import random

import pytest

from knowledge.normalize import (
    detect_lang,
    fold,
    fuzzy_syllable,
    pinyin_of,
    pinyin_table,
    tokens,
    word_key,
)


class TestFold:
    def test_full_width_and_case(self) -> None:
        """Full-width letters and digits become half-width lower case."""
        assert fold("ＡＢＣ１２３") == "abc123"

    def test_traditional_to_simplified(self) -> None:
        """Traditional script becomes simplified."""
        assert fold("污水處理廠") == "污水处理厂"

    def test_taiwan_usage_of_zhe(self) -> None:
        """著 as Taiwan writes the particle 着 (一直空著) becomes 着; 著名 and 显著 stay."""
        assert fold("一直空著") == "一直空着"
        assert fold("顯著 著名") == "显著 著名"

    def test_symbols_become_single_spaces(self) -> None:
        """Punctuation, emoji and control characters become single spaces."""
        assert fold("污水厂？！😀\x00 三期……") == "污水厂 三期"

    def test_tokens(self) -> None:
        """Chinese runs and Latin words are split apart."""
        assert tokens(fold("110KV爱化线 sewage")) == ["110kv", "爱化线", "sewage"]


class TestLanguage:
    @pytest.mark.parametrize(
        ("text", "lang"),
        [("污水厂三期", "zh"), ("sewage plant", "en"), ("污水厂 progress", "zh"),
         ("what about the 污水厂 phase three now", "en"), ("", "en")],
    )
    def test_detect(self, text: str, lang: str) -> None:
        """The language goes by the majority of the text."""
        assert detect_lang(text) == lang


class TestEnglishKeys:
    def test_word_families_share_a_key(self) -> None:
        """Plurals, -ing/-ed and British spellings share one key."""
        assert word_key("plants") == word_key("plant")
        assert word_key("planning") == word_key("planned") == word_key("plans")
        assert word_key("centre") == word_key("center")
        assert word_key("organisation") == word_key("organization")
        assert word_key("labour") == word_key("labor")

    def test_different_words_differ(self) -> None:
        """Unrelated words keep different keys."""
        assert word_key("sewage") != word_key("safety")


class TestPinyin:
    def test_table_matches_pypinyin_on_a_sample(self) -> None:
        """The committed table agrees with pypinyin for a random sample of characters."""
        pypinyin = pytest.importorskip("pypinyin")
        table = pinyin_table()
        sample = random.Random(7).sample(sorted(table), 300) + list("处理巡察公寓污水")
        for char in sample:
            readings = pypinyin.pinyin(char, style=pypinyin.Style.NORMAL, heteronym=True)[0]
            assert table[char] == readings[0], char

    def test_homophones_share_a_syllable(self) -> None:
        """Typical input-method typos sound the same as the intended words."""
        assert [pinyin_of(c) for c in "处理"] == [pinyin_of(c) for c in "处里"]
        assert [pinyin_of(c) for c in "巡察"] == [pinyin_of(c) for c in "巡查"]

    def test_fuzzy_syllables(self) -> None:
        """Sichuan-style blurred initials and finals fold together."""
        assert fuzzy_syllable("shu") == fuzzy_syllable("su")
        assert fuzzy_syllable("ning") == fuzzy_syllable("lin")
