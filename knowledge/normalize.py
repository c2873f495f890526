"""Fold residents' free text into one comparable form.

What people type arrives in full-width or half-width forms, in traditional or simplified
script, with emoji, punctuation and stray control characters, in Chinese without spaces or in
English. Everything here turns such text into lower-case simplified text with single spaces,
splits it into Chinese runs and Latin words, and gives each Chinese character its toneless
pinyin so that homophone typos from pinyin input methods (处里 for 处理) can be forgiven.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import snowballstemmer

PINYIN_TABLE = Path(__file__).resolve().parent / "data" / "pinyin.tsv"

# Longer input is cut: no real question is longer, and time must stay bounded.
MAX_INPUT = 1000

CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # one CJK ideograph
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:[.'’&-][a-z0-9]+)*")
_LATIN_WORD = re.compile(r"[a-z]+")
_SCRIPT_EDGE = re.compile(
    r"(?<=[a-z])(?=[\u3400-\u4dbf\u4e00-\u9fff])|(?<=[\u3400-\u4dbf\u4e00-\u9fff])(?=[a-z])"
)


def is_cjk(char: str) -> bool:
    """True for a CJK ideograph (one character; the same ranges as CJK_CHAR, compared directly
    because the matcher asks for every character of every question)."""
    return ("\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"
            or "\uf900" <= char <= "\ufaff")


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc  # ~40 ms to load its dictionaries: only when a question has Chinese

    return opencc.OpenCC("t2s.json")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (text without CJK is returned as is)."""
    if not CJK_CHAR.search(text):
        return text
    text = str(_converter().convert(text))
    # Taiwan writes the particle 着 as 著 (一直空著), which t2s keeps as the 著 of 著名.
    return _ZHE.sub("着", text) if "著" in text else text


# 著 that is not the 著 of 著名, 著作, 显著, 土著...
_ZHE = re.compile(r"(?<![显卓昭土编原名专论遗巨译合拙])著(?![名作称述者录书])")


_NOT_WORD = re.compile(r"[\W_]+")  # anything but letters and digits (of any script)


def fold(text: str) -> str:
    """NFKC (full → half width), lower case, simplified script; symbols become single spaces,
    and a space separates Latin letters from Chinese (next step有啥计划 → next step 有啥计划), so
    English words keep their word boundaries in mixed text."""
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT]).lower()
    text = _SCRIPT_EDGE.sub(" ", to_simplified(text))
    return " ".join(_NOT_WORD.sub(" ", text).split())


def plain(text: str) -> str:
    """Like `fold` but keeping punctuation (an enumeration's 、, a date's 年): full → half
    width, lower case, simplified script."""
    return to_simplified(unicodedata.normalize("NFKC", text).lower())


def tokens(folded: str) -> list[str]:
    """Chinese runs and Latin/digit words of folded text, in order."""
    return _TOKEN.findall(folded)


def detect_lang(text: str) -> str:
    """'zh' when the question is mostly Chinese, else 'en' (mixed text goes by its majority)."""
    cjk = len(CJK_CHAR.findall(text))
    latin = len(_LATIN_WORD.findall(text.lower()))
    if cjk == 0:
        return "en"
    # A Chinese word carries about as much as two characters; an English word about one word.
    return "zh" if cjk >= 2 * latin or (cjk >= 4 and latin <= 2) else "en"


@lru_cache(maxsize=1)
def pinyin_table() -> dict[str, str]:
    """char → most common toneless syllable, from the committed table."""
    table: dict[str, str] = {}
    with PINYIN_TABLE.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            char, _, syllables = line.rstrip("\n").partition("\t")
            if syllables:
                table[char] = syllables.split(" ", 1)[0]
    return table


def pinyin_of(char: str) -> str:
    """The toneless syllable of a CJK char, or the char itself when unknown."""
    return pinyin_table().get(char, char)


def fuzzy_syllable(syllable: str) -> str:
    """A syllable with the distinctions Sichuan speakers (and pinyin typists) blur removed:
    zh/z, ch/c, sh/s, n/l, -ing/-in, -eng/-en."""
    if syllable.startswith(("zh", "ch", "sh")):
        syllable = syllable[0] + syllable[2:]
    elif syllable.startswith("n") and syllable != "ng":
        syllable = "l" + syllable[1:]
    if syllable.endswith(("ing", "eng")):
        syllable = syllable[:-1]
    return syllable


_STEMMER = snowballstemmer.stemmer("english")


def stem(word: str) -> str:
    """English word → its Snowball (Porter 2) stem, so that a word family shares one key in the
    index and in questions (industry / industrial / industries → industri)."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    word = word.replace("-", "").replace("'", "")
    if len(word) <= 3 or not word.isalpha():
        return word
    return str(_STEMMER.stemWord(word))


def british(word: str) -> str:
    """British spellings folded to American ones (centre/center, organise/organize, labour)."""
    if len(word) > 5 and "our" in word:
        word = word.replace("our", "or")
    if word.endswith("tre") and len(word) > 4:
        word = word[:-3] + "ter"
    for ending in ("isation", "ising", "ised", "ise"):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            return word[: -len(ending)] + "iz" + ending[2:]
    return word


@lru_cache(maxsize=16384)
def word_key(word: str) -> str:
    """The index key of an English word: spelling folded, then stemmed."""
    return stem(british(word.lower()))
