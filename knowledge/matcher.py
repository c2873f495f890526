"""Decide what a resident's question is about: one item, a few, contact, the notice, or nothing.

Indexes are built once from the notice and its enrichment. A question is folded (see
`knowledge.normalize`), homophone typos are corrected against the notice's own vocabulary,
and then every part of it is either explained by an item (Chinese character bigrams, alias and
synonym phrases, English word stems) or not. Two numbers per item come out of that:

* rank — how much distinctive text the item shares with the question (idf-weighted, by field);
* coverage — the share of the question's content the item explains.

An item is answered only when it explains nearly all of the question: a question that shares
words with an item but also names something the notice does not (成都污水处理厂, 眉山中学招生)
is `none`, because a confident wrong answer is worse than "not in this notice". Three general
rules refine that (their words are data in intents.yaml):

* a question asking for a kind of fact (`details`: an amount, a date, a name, a place, a
  procedure...) gets an item only if the item's own words hold such a fact; otherwise `none`
  with `about` set to the item, so the reply can point to it;
* a long question in a resident's own words (`_leads`) may be answered by the one item whose
  distinctive subject it names, far ahead of the others, although it explains only a third;
* a homophone correction is a guess: when the corrected question finds no answer, the question
  as typed is tried.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from knowledge.enrich import Enrichment, Intents, _alternatives
from knowledge.model import Notice
from knowledge.normalize import (
    CJK_CHAR,
    MAX_INPUT,
    detect_lang,
    fold,
    fuzzy_syllable,
    is_cjk,
    pinyin_of,
    plain,
    word_key,
)

# Field weights: how much a match in each field of an item counts.
TITLE, ALIAS, TEXT, SUMMARY, AREA = 1.0, 1.0, 0.75, 0.7, 0.3

# Documents that are not items: parts of the notice answered as `meta` or `contact`.
SECTION_INSPECTION, SECTION_LEADERSHIP, SECTION_NEXT, SECTION_CONTACT, SECTION_HEAD = (
    1001, 1002, 1003, 1004, 1005,
)
SECTION_TOPICS = {
    SECTION_INSPECTION: ("meta", "inspection"),
    SECTION_LEADERSHIP: ("meta", "overview"),
    SECTION_NEXT: ("meta", "next_steps"),
    SECTION_CONTACT: ("contact", "how"),
    SECTION_HEAD: ("meta", "publisher"),
}
_SECTION_OF = {topic: section for section, topic in SECTION_TOPICS.items()}

# Decision thresholds (tuned on the development set, see tests/test_matcher_quality.py).
MIN_COVERAGE = 0.6  # share of the question's content the item must explain
MIN_RANK = 1.2  # distinctive evidence needed for an item at all
AMBIGUOUS_RATIO = 0.86  # a runner-up this close to the top makes the answer ambiguous ...
AMBIGUOUS_COVERAGE = 0.15  # ... if it explains about as much of the question
LEAD_RANK = 8.0  # evidence an item needs to answer a question it explains only in part
LEAD_RATIO = 1.6  # ... and how far ahead of every other item, in evidence × share explained
LEAD_RANK_RATIO = 1.25  # ... and in evidence alone
LEAD_COVERAGE = 0.33  # ... and the least share of the question it must explain
LEAD_CONTENT = 7.0  # ... in a question this long (a short one must be explained outright)
ASIDE_CONTENT = 20.0  # a question this long may tell the resident's own circumstances ...
ASIDE_RATIO = 3.0  # ... on the side of a subject one item leads by this much
GENERIC_SHARE = 0.075  # an English word in more than this share of the items is generic
RUNNER_UP = 0.7  # a runner-up this strong may answer when the leader explains too little
INTENT_OVER_ITEM = 0.6  # content an item must explain to win over a contact/meta phrase
_WINDOW = 4  # how far beyond an out-of-scope term a notice word is looked for
PARTIAL = 0.4  # credit for a character the item uses, outside any shared bigram

# Kinds of fact (intents.yaml `details`) that no meta or contact answer holds: names, prices,
# opening hours, places, how to apply (the notice's dates and its own address it does give).
_UNSAID = {
    "meta": frozenset({"amount", "schedule", "place", "who", "procedure", "law", "number"}),
    "contact": frozenset({"amount", "who", "procedure", "law", "document"}),
}

_WORD = re.compile(r"[a-z0-9]+")
_NUMERALS = "一二两三四五六七八九十百千万"
# Measure words a count is in; 个 counts anything, and people are counted in 人, 名 or 位.
_MEASURES = "家名座所台栋户位口辆套间层亩吨次人项条部份批篇"
_PEOPLE = "人名位"
# Kinds of fact that are figures an item states (43项制度, 两大主导产业, 3名干部)
_FIGURES = frozenset({"number", "which", "amount", "rank"})
_DETERMINERS = "一两几每某这那哪各"
_PARTICLES = "已的了是在和与及等将对从把被也都就还又再所以而或"
_EN_MEASURES = {
    "mu": "亩", "tonnes": "吨", "tons": "吨", "times": "次", "flats": "套", "apartments": "套",
    "units": "套", "households": "户", "people": _PEOPLE, "persons": _PEOPLE, "staff": _PEOPLE,
    "officials": _PEOPLE, "cadres": _PEOPLE, "workers": _PEOPLE,
}
_COUNTED_IN = re.compile(rf"(?:多少|几|好多)\s*([{_MEASURES}])|\bhow many ([a-z]+)")
# After a bare 'how many': anything but particles names what is counted.
_COUNTED_CJK = re.compile(r"[^\s的了吗呢啊呀吧么嘛哦啦个]")
_NEVER = r"(?!x)x"
UNSURE = frozenset({"none", "ambiguous"})
# Cues that name what a question is about (problems, the whole rectification, what is left)
# rather than how it asks; an item's title may consist of them (部分问题整改不到位).
_SUBJECT_CUES = frozenset({"counted", "whole", "unfinished", "achievement"})
_LATIN = re.compile(r"[a-z]")
_ESCAPE = re.compile(r"\\.")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_SPANS = re.compile(r"\S+")
_DIGIT = re.compile(r"\d")
_STRONG_REACH = re.compile(
    r"举报|检举|投诉|反映|反应|提.{0,2}(意见|建议)|有(点|个)?(意见|建议)|意见箱|监督"
    r"|complain|report (it|this|that|a|an|problems?|issues?|misconduct|corruption|to)"
    r"|i want to report|feedback|suggest|whistle|opinion|\bring\b|who do i call"
)
# Reporting something (stronger than "an opinion", which is also a kind of document: 实施意见).
_REPORTS = re.compile(r"反映|举报|投诉|检举|说理|讲理|评理|告状|讨个?说法|complain|report")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")


@dataclass(frozen=True, slots=True)
class Decision:
    """What the matcher decided about one question."""

    question: str
    kind: str  # 'item' | 'ambiguous' | 'contact' | 'meta' | 'none'
    items: tuple[int, ...]
    score: float
    lang: str  # 'zh' | 'en'
    topic: str | None = None
    area: int | None = None  # for meta questions about one area (how many problems in it)
    # For `none`: the item the question is about, when the notice says something on its
    # subject but not what was asked (a date, a price, a name): shown as "see also".
    about: int | None = None


@dataclass(frozen=True, slots=True)
class _Scripted:
    """The intent patterns for questions in one script (see Matcher._script_patterns)."""

    intents: Intents
    cue_scans: dict[str, re.Pattern[str]]
    # One search each for whether a question has any contact or meta phrase, or asks for any
    # kind of fact (most do neither): quick, since every alternative starts plainly.
    any_phrase: re.Pattern[str]
    any_detail: re.Pattern[str]


@dataclass(slots=True)
class _Query:
    """A question prepared for matching: folded text, per-position weights, intents."""

    text: str  # folded, corrected
    weights: list[float]  # per character position; a Latin word's weight sits on its first char
    words: list[tuple[int, str]]  # (start position, word key) of Latin content words
    content: float  # total weight
    contact: str | None
    meta: str | None
    greeting: bool
    out_of_scope: list[str]  # named places, institutions, topics the notice may not cover
    distinct: dict[int, int] = dataclasses.field(default_factory=dict)  # set by Matcher.score
    cues: dict[str, int] = dataclasses.field(default_factory=dict)  # cue → positions (bitmask)
    date_topic: str | None = None  # a date of the notice named in the question: its topic
    area: int | None = None  # an area of the notice named in the question
    frame: int = 0  # positions of cues and dates: how the question asks, not what about
    area_mask: int = 0  # positions naming the area
    # Every Latin word, stopwords too, for listed phrases that contain one (one stop service,
    # research and development); a stopword still weighs nothing.
    every: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    asks: tuple[str, ...] = ()  # kinds of fact asked for (intents.yaml `details`)
    measures: str = ""  # the measure words a 'how many' counts in (多少亩: 亩)
    corrected: bool = False  # a homophone typo was corrected


def _postings() -> defaultdict[object, dict[int, float]]:
    return defaultdict(dict)


def _add(post: dict[int, float], doc: int, weight: float) -> None:
    if weight > post.get(doc, 0.0):
        post[doc] = weight


class Matcher:
    """All indexes over one notice and its enrichment; `decide` answers one question."""

    def __init__(self, notice: Notice, enrichment: Enrichment, intents: Intents) -> None:
        self.notice = notice
        self.enrichment = enrichment
        self.intents = intents
        self.item_numbers = tuple(sorted(notice.items))
        self.n_docs = len(self.item_numbers)
        self._bigrams: dict[str, dict[int, float]] = {}
        self._words: dict[str, dict[int, float]] = {}
        self._word_pairs: dict[tuple[str, str], dict[int, float]] = {}
        self._phrases_zh: dict[str, list[int]] = {}  # folded phrase → unit ids
        self._phrases_en: dict[tuple[str, ...], list[int]] = {}
        self._units: list[dict[int, float]] = []  # unit id → doc → field weight
        self._doc_zh: dict[int, str] = {}  # all Chinese text of a doc, folded (for OOS checks)
        # The notice's own words for each item, folded: where an asked-for fact must be.
        self._doc_facts = {n: plain(item.text) for n, item in notice.items.items()}
        self._doc_en: dict[int, set[str]] = {}
        self._doc_chars: dict[int, frozenset[str]] = {}
        self._build()

    # ------------------------------------------------------------------ building

    def _doc_fields(self) -> Iterable[tuple[int, list[tuple[str, float]], list[tuple[str, float]]]]:
        """(doc id, Chinese fields, English fields) for every item and notice section."""
        notice = self.notice
        for number in self.item_numbers:
            item = notice.items[number]
            area = notice.areas[item.area - 1]
            zh = [(item.title, TITLE), (item.text, TEXT), (area.title, AREA)]
            en: list[tuple[str, float]] = []
            extra = self.enrichment.items.get(number)
            if extra is not None:
                zh += [(alias, ALIAS) for alias in extra.aliases]
                en = [(extra.en_title, TITLE), (extra.en_summary, SUMMARY)]
                en += [(alias, ALIAS) for alias in extra.en_aliases]
            area_extra = self.enrichment.areas.get(item.area)
            if area_extra is not None:
                en.append((area_extra.en_title, AREA))
            yield number, zh, en
        inspection = notice.inspection
        yield SECTION_INSPECTION, [(notice.intro, TEXT), (inspection.group, TITLE)], []
        yield SECTION_LEADERSHIP, [(notice.leadership.heading, TITLE),
                                   (notice.leadership.text, TEXT)], []
        plans = " ".join(f"{plan.title}。{plan.text}" for plan in notice.plans)
        yield SECTION_NEXT, [(notice.next_steps.heading, TITLE), (notice.next_steps.text, TEXT),
                             (plans, TEXT)], []
        contact = notice.contact
        yield SECTION_CONTACT, [(contact.invitation, TEXT), (contact.address, TITLE)], []
        yield SECTION_HEAD, [(notice.issuer, TITLE), (notice.title, TITLE)], []

    def _build(self) -> None:
        bigrams: defaultdict[object, dict[int, float]] = _postings()
        words: defaultdict[object, dict[int, float]] = _postings()
        pairs: defaultdict[object, dict[int, float]] = _postings()
        docs = list(self._doc_fields())
        en_keys: dict[int, list[tuple[list[str], float]]] = {}
        folded_fields: dict[int, list[tuple[str, float]]] = {}
        names: defaultdict[str, set[int]] = defaultdict(set)
        lower: set[str] = set()
        for doc, zh_fields, en_fields in docs:
            zh_all = []
            folded_fields[doc] = []
            for text, weight in zh_fields:
                folded = fold(text)
                folded_fields[doc].append((folded, weight))
                zh_all.append(folded)
                for run in _cjk_runs(folded):
                    for i in range(len(run) - 1):
                        _add(bigrams[run[i : i + 2]], doc, weight)
                for word in _WORD.findall(folded):
                    if (len(word) >= 2 and not word.isdigit()) or len(word) >= 3:
                        _add(words[word_key(word)], doc, weight)
            self._doc_zh[doc] = " ".join(zh_all)
            self._doc_chars[doc] = frozenset(c for c in self._doc_zh[doc] if is_cjk(c))
            keyed = []
            vocab: set[str] = set()
            for text, weight in en_fields:
                keys = [word_key(w) for w in _WORD.findall(fold(text))]
                keyed.append((keys, weight))
                vocab.update(keys)
                for key in keys:
                    if key not in self.intents.stopwords_en:
                        _add(words[key], doc, weight)
                content = [k for k in keys if k not in self.intents.stopwords_en]
                for a, b in pairwise(content):
                    _add(pairs[(a, b)], doc, weight)
            en_keys[doc] = keyed
            self._doc_en[doc] = vocab
            for text, _ in en_fields:
                # Words never written in lower case are names (Wanhua, Jinxiang, Chongqing).
                for match in re.finditer(r"\b[A-Za-z]+\b", text):
                    word = match.group()
                    if word[0].isupper() and word[1:].islower():
                        names[word_key(word)].add(doc)
                    elif word.islower():
                        lower.add(word_key(word))
        self._bigrams = dict(bigrams)  # type: ignore[arg-type]
        self._words = dict(words)  # type: ignore[arg-type]
        # How many items' English (title, summary and aliases) use a word: a word most of
        # them use says little about which item is meant.
        usage: defaultdict[str, int] = defaultdict(int)
        for number in self.item_numbers:
            extra = self.enrichment.items.get(number)
            if extra is not None:
                text = fold(" ".join([extra.en_title, extra.en_summary, *extra.en_aliases]))
                for key in {word_key(w) for w in _WORD.findall(text)}:
                    usage[key] += 1
        self._specific_words = frozenset(
            key for key in self._words if usage[key] <= GENERIC_SHARE * self.n_docs
        )
        self._word_pairs = dict(pairs)  # type: ignore[arg-type]
        self._names = {
            key: frozenset(found) for key, found in names.items()
            if len(found) <= 2 and key not in lower and key not in self.intents.stopwords_en
        }

        # Phrase units: a synonym group (any member, either language) or one alias of an item.
        # An alias is a unit of its own: another item whose text holds it (固定资产管理) shares
        # that phrase, not the owner's other aliases (depreciation, 折旧).
        groups: list[tuple[list[str], list[tuple[str, ...]], dict[int, float]]] = []
        for group in self.enrichment.synonyms:
            zh_members, en_members = _split_members(group)
            groups.append((zh_members, en_members, {}))
        for number in self.item_numbers:
            extra = self.enrichment.items.get(number)
            if extra is None:
                continue
            for alias in extra.aliases:
                groups.append(([fold(alias)], [], {number: ALIAS}))
            for alias in extra.en_aliases:
                alias_keys = tuple(word_key(w) for w in _WORD.findall(fold(alias)))
                if alias_keys:
                    groups.append(([], [alias_keys], {number: ALIAS}))
        for zh_members, en_members, post in groups:
            unit = len(self._units)
            self._units.append(post)
            for member in zh_members:
                self._phrases_zh.setdefault(member, []).append(unit)
            for member_keys in en_members:
                self._phrases_en.setdefault(member_keys, []).append(unit)
        self._zh_lengths = sorted({len(p) for p in self._phrases_zh}, reverse=True)
        # Phrase lengths by their first two characters: a question position is looked up only
        # for the lengths of phrases that can start there.
        heads: defaultdict[str, set[int]] = defaultdict(set)
        for phrase in self._phrases_zh:
            heads[phrase[:2]].add(len(phrase))
        self._zh_heads = {head: tuple(sorted(ls, reverse=True)) for head, ls in heads.items()}
        self._zh_single = any(len(phrase) == 1 for phrase in self._phrases_zh)
        # Listed phrases made partly of filler words (没地了, 有人盯, 没人带): where one occurs,
        # its characters are content, not filler.
        filler = self.intents.filler
        worded = sorted(
            (p for p in self._phrases_zh if len(p) >= 2 and filler.search(p)
             and not _covered_by_words(filler, p)),
            key=len, reverse=True,
        )
        self._filler_phrases = re.compile("|".join(map(re.escape, worded)) or r"(?!x)x")
        self._en_lengths = sorted({len(p) for p in self._phrases_en}, reverse=True)
        # Which docs use each unit: scan every field once for every phrase it contains.
        for doc, fields in folded_fields.items():
            for folded, weight in fields:
                for units in _find_phrases(folded, self._phrases_zh, self._zh_lengths):
                    for unit in units:
                        _add(self._units[unit], doc, weight)
            for keys, weight in en_keys[doc]:
                for units in _find_phrases(keys, self._phrases_en, self._en_lengths):
                    for unit in units:
                        _add(self._units[unit], doc, weight)

        # Vocabulary for homophone correction: every bigram the notice, enrichment and intent
        # phrases use, keyed by its toneless pinyin.
        known: dict[str, int] = defaultdict(int)
        # Out-of-scope terms anchor what is typed (办公室 stays), but nothing is "corrected" into
        # one: 住进去 → 租金去 would turn a fair question into 'not covered'.
        notice_words = [self._doc_zh[doc] for doc, _, _ in docs] + list(self._phrases_zh)
        pattern_words = _pattern_words(self.intents)
        notice_words += pattern_words
        oos_words = _out_of_scope_words(self.intents)
        texts = notice_words + oos_words + sorted(self.intents.words)
        sources = notice_words + sorted(self.intents.words)
        for text in texts:
            for run in _cjk_runs(text):
                for i in range(len(run) - 1):
                    known[run[i : i + 2]] += 1
        self._known_bigrams = set(known)
        self._counts = dict(known)
        self._word_bigrams = {
            w for w in [*self._phrases_zh, *pattern_words, *oos_words, *self.intents.words]
            if len(w) == 2
        }
        by_sound: dict[tuple[str, str], tuple[int, str]] = {}
        by_fuzzy: dict[tuple[str, str], tuple[int, str]] = {}
        targets = {run[i : i + 2] for text in sources for run in _cjk_runs(text)
                   for i in range(len(run) - 1)}
        for bigram, count in known.items():
            if bigram not in targets:
                continue
            sound = (pinyin_of(bigram[0]), pinyin_of(bigram[1]))
            if count > by_sound.get(sound, (0, ""))[0]:
                by_sound[sound] = (count, bigram)
            fuzzy = (fuzzy_syllable(sound[0]), fuzzy_syllable(sound[1]))
            if count > by_fuzzy.get(fuzzy, (0, ""))[0]:
                by_fuzzy[fuzzy] = (count, bigram)
        self._by_sound = {sound: bigram for sound, (_, bigram) in by_sound.items()}
        self._by_fuzzy = {sound: bigram for sound, (_, bigram) in by_fuzzy.items()}
        self._known_chars = {c for bigram in known for c in bigram}

        # English vocabulary for spelling correction of unknown words.
        english: set[str] = set()
        for _, _, en_fields in docs:
            for text, _ in en_fields:
                english.update(_WORD.findall(fold(text)))
        for group in self.enrichment.synonyms:
            for member in group:
                english.update(_WORD.findall(fold(member)))
        english.update(self.intents.stopwords_en)
        # Sorted: among equally close words the spelling fix must not depend on hash order.
        self._english = {w: w for w in sorted(english) if len(w) >= 4 and w.isalpha()}
        self._english_keys = {word_key(w) for w in english}
        # Stopwords by stem too: 'handle' listed makes 'handling' one.
        self._stop_keys = frozenset(word_key(w) for w in self.intents.stopwords_en)

        n = self.n_docs
        self._idf_cache: dict[int, float] = {}
        self._max_idf = math.log(1.0 + n)
        self._rare = math.log(1.0 + n / 2) - 1e-9  # idf of a phrase only one or two items use
        self._dates = self._date_patterns()
        self._years = frozenset(
            [*_YEAR.findall(" ".join(self._doc_zh.values())), str(self.notice.date.year)]
        )
        # The intent patterns once per script: a question in one script is searched only with
        # the alternatives written in it (an English question no longer tries every Chinese
        # phrase at every position: 3x faster on English, 1.5x on Chinese).
        self._scripts = {script: self._script_patterns(script) for script in ("zh", "en", "all")}
        self._area_refs = self._area_patterns()
        # The same, found at every position (overlapping), to frame an area's whole name.
        self._area_scans: defaultdict[int, list[re.Pattern[str]]] = defaultdict(list)
        for pattern, area, _ in self._area_refs:
            self._area_scans[area].append(re.compile(f"(?=({pattern.pattern}))"))
        self._build_vocabulary()

    def _script_patterns(self, script: str) -> _Scripted:
        """The intents with only the alternatives that can match text in `script`, and the
        overlapping cue scans."""
        intents = self.intents
        intents = dataclasses.replace(
            intents,
            contact={k: _only(p, script) for k, p in intents.contact.items()},
            meta={k: _only(p, script) for k, p in intents.meta.items()},
            greeting=_only(intents.greeting, script),
            filler=_only(intents.filler, script),
            out_of_scope=_only(intents.out_of_scope, script),
            cues={k: _only(p, script) for k, p in intents.cues.items()},
            details={k: (_only(ask, script), found) for k, (ask, found) in intents.details.items()},
        )
        # Cues are found at every position, overlapping ones too: in 有建议想提 both 有建议 and
        # 建议想提 are ways of asking, and a left-to-right scan would see only the first.
        cue_scans = {
            name: re.compile(f"(?=({pattern.pattern}))", pattern.flags)
            for name, pattern in intents.cues.items()
        }
        return _Scripted(
            intents, cue_scans, _any([*intents.contact.values(), *intents.meta.values()]),
            _any(ask for ask, _ in intents.details.values()),
        )

    def _build_vocabulary(self) -> None:
        """The notice's own words, for telling a real out-of-scope term (成都, 路线 on its own)
        from the same characters inside a longer word of the notice (集中学习, 铁路线).

        Aliases and synonym members are words: one that overlaps a term and is longer wins.
        The notice text is not segmented: only a window of it that contains the whole term
        (and is longer) wins.
        """
        self._vocab_words = frozenset(p for p in self._phrases_zh if len(p) >= 3)
        self._vocab_reach = max((len(p) for p in self._vocab_words), default=0)
        every = re.compile(f"(?=({self.intents.out_of_scope.pattern}))")
        windows: set[str] = set()
        for text in self._doc_zh.values():
            for run in _cjk_runs(text):
                for match in every.finditer(run):
                    start, end = match.start(1), match.end(1)
                    if end <= start:
                        continue
                    for a in range(max(0, start - _WINDOW), start + 1):
                        for b in range(end, min(len(run), end + _WINDOW) + 1):
                            if b - a > end - start:
                                windows.add(run[a:b])
        self._vocab_windows = frozenset(windows)

    def _in_vocabulary(self, text: str, start: int, end: int) -> bool:
        """Whether text[start:end] (an out-of-scope match) is part of a longer notice word."""
        size = end - start
        for length in range(size + 1, max(self._vocab_reach, size + _WINDOW) + 1):
            for a in range(max(0, start - length + 1), min(end, len(text) - length + 1)):
                window = text[a : a + length]
                if window in self._vocab_words:
                    return True
                if a <= start and a + length >= end and window in self._vocab_windows:
                    return True
        return False

    def _date_patterns(self) -> list[tuple[re.Pattern[str], str]]:
        """The notice's own dates as a resident would write them, each with its meta topic."""
        notice = self.notice
        ins = notice.inspection
        result = []
        for day, topic in ((notice.date, "date"), (ins.start, "period"), (ins.end, "period"),
                           (ins.feedback_date, "period")):
            month = _MONTHS[day.month - 1]
            m, d = day.month, day.day
            zh = rf"(?<!\d){m}\s?月\s?{d}\s?(日|号)?(?!\d)"
            en = (rf"\b({month}|{month[:3]})\s?{d}(st|nd|rd|th)?\b|"
                  rf"\b{d}(st|nd|rd|th)?\s?(of\s)?({month}|{month[:3]})\b")
            result.append((re.compile(f"{zh}|{en}"), topic))
        return result

    def _area_patterns(self) -> list[tuple[re.Pattern[str], int, float]]:
        """Ways a question names one of the notice's areas, each with its evidence weight
        (a question names an area with weight 2 or more): ordinals, the short labels, synonyms
        of a label's words, and bigrams of the area's title that no other title has."""
        numerals = "一二三四五六七八九十"
        ordinals_en = ("first", "second", "third", "fourth", "fifth", "sixth")
        refs: list[tuple[re.Pattern[str], int, float]] = []
        titles = {a.number: fold(a.title) for a in self.notice.areas}
        filler, inspection = self.intents.filler, self.intents.cues.get("inspection")
        for area in self.notice.areas:
            n = area.number
            numeral = numerals[n - 1] if n <= len(numerals) else str(n)
            ordinal = rf"第\s?({numeral}|{n})\s?(个|大)?\s?(方面|部分|块|类|板块|领域)"
            if n <= len(ordinals_en):
                ordinal += (rf"|\b({ordinals_en[n - 1]}|{n}(st|nd|rd|th)) "
                            r"(area|part|section|category)\b")
            ordinal += rf"|\b(area|part|section|category) {n}\b"
            refs.append((re.compile(ordinal), n, 2.0))
            extra = self.enrichment.areas.get(n)
            labels = [titles[n]]
            if extra is not None:
                labels += [fold(extra.short_zh), fold(extra.short_en)]
                refs.append((re.compile(re.escape(fold(extra.short_zh))), n, 2.0))
                refs.append((re.compile(rf"\b{re.escape(fold(extra.short_en))}\b"), n, 2.0))
            others = "".join(t for m, t in titles.items() if m != n)
            unique = {
                run[i : i + 2] for run in _cjk_runs(titles[n]) for i in range(len(run) - 1)
                if run[i : i + 2] not in others and not filler.fullmatch(run[i : i + 2])
            }
            for bigram in sorted(unique):
                refs.append((re.compile(re.escape(bigram)), n, 1.0))
            members: set[str] = set()
            for group in self.enrichment.synonyms:
                folded = [fold(m) for m in group if fold(m)]
                named = [m for m in folded if len(m) >= 2 and any(m in label for label in labels)
                         and not filler.fullmatch(m)
                         and not (inspection is not None and inspection.fullmatch(m))]
                if named and not any(m in t for m in named for k, t in titles.items() if k != n):
                    members.update(folded)
            for member in sorted(members, key=len, reverse=True):
                if any(is_cjk(c) for c in member):
                    refs.append((re.compile(re.escape(member)), n, 2.0))
                else:
                    refs.append((re.compile(rf"\b{re.escape(member)}\b"), n, 2.0))
        # One pattern per area and weight: a question is scanned a few times, not hundreds.
        merged: dict[tuple[int, float], list[str]] = defaultdict(list)
        for pattern, n, weight in refs:
            merged[(n, weight)].append(pattern.pattern)
        return [(re.compile("|".join(f"(?:{p})" for p in sorted(parts, key=len, reverse=True))),
                 n, weight) for (n, weight), parts in merged.items()]

    def idf(self, post: dict[int, float]) -> float:
        """ln(1 + N/df) over items only (sections do not make a term common); cached."""
        key = id(post)
        value = self._idf_cache.get(key)
        if value is None:
            df = sum(1 for doc in post if doc < SECTION_INSPECTION)
            value = math.log(1.0 + self.n_docs / df) if df else self._max_idf
            self._idf_cache[key] = value
        return value

    # ------------------------------------------------------------------ the question

    def _correct(self, text: str, frozen: list[bool] | None = None) -> str:
        """Replace unknown bigrams by a known bigram of the notice that sounds the same.

        Only characters that belong to no known bigram may change: 邮箱是 keeps 邮箱, while
        第一议提 becomes 第一议题 and 污水出理 becomes 污水处理.
        """
        known = self._known_bigrams
        n = len(text)
        anchored = list(frozen) if frozen is not None else [False] * n
        for i in range(n - 1):
            if text[i : i + 2] in known:
                anchored[i] = anchored[i + 1] = True
        chars = list(text)
        for i in range(n - 1):
            a, b = chars[i], chars[i + 1]
            if not (is_cjk(a) and is_cjk(b)) or a + b in known:
                continue
            if a in _DETERMINERS and b in _MEASURES + "个种件些":
                continue  # 一家, 这个, 几项: no typo
            if anchored[i] and anchored[i + 1]:
                continue
            sound = (pinyin_of(a), pinyin_of(b))
            fuzzy = (fuzzy_syllable(sound[0]), fuzzy_syllable(sound[1]))
            for fixed in (self._by_sound.get(sound), self._by_fuzzy.get(fuzzy)):
                if fixed is None:
                    continue
                if (anchored[i] and fixed[0] != a) or (anchored[i + 1] and fixed[1] != b):
                    continue
                # Accept only what makes sense in context: a word the notice uses often, a
                # listed phrase, or a fix that joins up with the text around it.
                joins = (i > 0 and chars[i - 1] + fixed[0] in known and not anchored[i]) or (
                    i + 2 < n and fixed[1] + chars[i + 2] in known and not anchored[i + 1]
                )
                # ... but joining up through a particle (园区 + 已加 via 区已) proves nothing.
                if joins and any(
                    f != c and f in _PARTICLES for f, c in zip(fixed, (a, b), strict=True)
                ):
                    joins = False
                if not (joins or fixed in self._word_bigrams):
                    continue
                chars[i], chars[i + 1] = fixed[0], fixed[1]
                anchored[i] = anchored[i + 1] = True
                break
        return "".join(chars)

    def _spell(self, word: str) -> str:
        """An unknown English word → the closest known word (typos), else itself."""
        if len(word) < 5 or not word.isalpha() or word_key(word) in self._english_keys:
            return word
        from rapidfuzz import fuzz, process  # only English typos need it (~0.1 s to import)

        found = process.extractOne(
            word, self._english, scorer=fuzz.ratio, processor=None, score_cutoff=84
        )
        return str(found[2]) if found is not None else word

    def prepare(self, question: str, correct: bool = True) -> _Query:
        """Fold, correct (unless told not to) and weigh a question; find its intents."""
        folded = fold(question[:MAX_INPUT])
        cjk, latin = CJK_CHAR.search(folded), _LATIN.search(folded)
        scripted = self._scripts["all" if bool(cjk) == bool(latin) else "zh" if cjk else "en"]
        intents = scripted.intents
        oos_spans = [(m.start(), m.end()) for m in intents.out_of_scope.finditer(folded)]
        filler = [False] * len(folded)
        for match in intents.filler.finditer(folded):
            for i in range(match.start(), match.end()):
                filler[i] = True
        text = self._correct(folded, filler) if correct and cjk else folded
        # A term counts only where it stands on its own, not inside a longer notice word.
        out_of_scope = [
            folded[a:b] for a, b in oos_spans
            if b > a and not self._in_vocabulary(folded, a, b)
            and not self._in_vocabulary(text, a, b)
        ]
        # A year the notice never mentions (2023年的巡察): another report, not this one.
        out_of_scope += [m.group() for m in _YEAR.finditer(folded) if m.group() not in self._years]
        weights = [0.0 if filler[i] or not is_cjk(c) else 1.0 for i, c in enumerate(text)]
        words: list[tuple[int, str]] = []
        every: list[tuple[int, str]] = []
        for match in _WORD.finditer(text):
            raw = match.group()
            if raw in intents.out_of_scope_en:
                out_of_scope.append(raw)
            if raw in intents.stopwords_en:
                every.append((match.start(), word_key(raw)))
                continue
            if raw.isdigit() and len(raw) < 2:
                continue
            key = word_key(self._spell(raw))
            every.append((match.start(), key))
            if key in intents.stopwords_en or key in self._stop_keys:
                continue
            words.append((match.start(), key))
            # A word the notice's English never uses (heard, drowning, pls) is more often a
            # resident's own turn of phrase than a subject the notice lacks: it weighs half.
            # (Subjects the notice lacks are listed out of scope.)
            # A word many items use (companies, projects, process) says little about which one
            # is meant: it weighs half too.
            weights[match.start()] = 2.0 if key in self._specific_words else 1.0
        plain = _WORD.findall(text)
        for first, second in pairwise(plain):
            if f"{first} {second}" in intents.out_of_scope_en:
                out_of_scope.append(f"{first} {second}")

        def zero(pattern: re.Pattern[str]) -> bool:
            hit = False
            for match in pattern.finditer(text):
                if match.end() > match.start():
                    hit = True
                    for i in range(match.start(), match.end()):
                        weights[i] = 0.0
            return hit

        # Contact and meta phrases: the first topic that matches, and where they are.
        found: list[str | None] = [None, None]
        phrases: list[tuple[int, int]] = []
        for slot, topics in enumerate(
            (intents.contact, intents.meta) if scripted.any_phrase.search(text) else ()
        ):
            for topic, pattern in topics.items():
                spans = [m.span() for m in pattern.finditer(text) if m.end() > m.start()]
                if spans:
                    found[slot] = found[slot] or topic
                    phrases += spans
        contact, meta = found
        greeting = zero(intents.greeting)
        zero(intents.filler)
        for match in self._filler_phrases.finditer(text):
            for i in range(match.start(), match.end()):
                if is_cjk(text[i]):
                    weights[i] = 1.0
        for start, end in phrases:
            for i in range(start, end):
                weights[i] = 0.0
        for name in out_of_scope:
            for match in re.finditer(re.escape(name), text):
                for i in range(match.start(), match.end()):
                    if is_cjk(text[i]):
                        weights[i] = 2.0
                if not is_cjk(name[0]):
                    weights[match.start()] = 3.0
        # As typed: a homophone fix must not turn 那家 into 哪家. (One search per kind is
        # quicker than one search for all: a joined pattern loses re's first-character scan.)
        asks = tuple(
            kind for kind, (ask, _) in intents.details.items() if ask.search(folded)
        ) if scripted.any_detail.search(folded) else ()
        measures = _measures(folded) if "number" in asks else ""
        query = _Query(text, weights, words, sum(weights), contact, meta, greeting, out_of_scope,
                       every=every, asks=asks, measures=measures, corrected=text != folded)
        self._frame(query, scripted)
        return query

    def _frame(self, query: _Query, scripted: _Scripted) -> None:
        """Find the question's cues, the notice's dates and area names it mentions."""
        text = query.text
        frame = 0
        for name, pattern in scripted.cue_scans.items():
            if not scripted.intents.cues[name].search(text):
                continue  # most cues are absent: one quick search instead of a scan
            mask = 0
            for match in pattern.finditer(text):
                start, end = match.span(1)
                if end > start:
                    mask |= ((1 << (end - start)) - 1) << start
            if mask:
                query.cues[name] = mask
                frame |= mask
        for pattern, topic in self._dates if _DIGIT.search(text) else ():
            found = pattern.search(text)
            if found is not None:
                query.date_topic = query.date_topic or topic
                frame |= ((1 << (found.end() - found.start())) - 1) << found.start()
        # An area matters only to a question that asks something of it (how many problems in
        # it, how far it got): one with a cue or a contact or meta phrase.
        framed = bool(query.cues or query.meta or query.contact or query.date_topic)
        area_score: defaultdict[int, float] = defaultdict(float)
        for pattern, area, weight in self._area_refs if framed else ():
            area_score[area] += weight * sum(1 for _ in pattern.finditer(text))
        best = max(area_score, key=lambda a: (area_score[a], -a), default=None)
        if best is not None and area_score[best] >= 2.0:
            query.area = best
            # Every character of the area's name, also where its words overlap (党中央 and
            # 决策部署落实 in 党中央决策部署落实方面).
            for scan in self._area_scans[best]:
                for match in scan.finditer(text):
                    start, end = match.span(1)
                    query.area_mask |= ((1 << (end - start)) - 1) << start
        query.frame = frame
        # A name that is part of how the question asks (市里还是省里派的) is not its subject.
        # (A name a typo fix changed, 巡查组下次, is not found in the text and stays.)
        kept = []
        for name in query.out_of_scope:
            spans = [m.start() for m in re.finditer(re.escape(name), text)]
            if not spans or not all(frame >> s + k & 1 for s in spans for k in range(len(name))):
                kept.append(name)
        query.out_of_scope = kept

    def score(self, query: _Query) -> tuple[dict[int, float], dict[int, int]]:
        """rank and covered-position bitmask for every doc sharing anything with the query.

        Also sets `query.distinct`: positions explained by a listed phrase (synonym or alias)
        that only one or two items use, such as the names 万华 or 金象赛瑞.
        """
        text, weights = query.text, query.weights
        rank: defaultdict[int, float] = defaultdict(float)
        cover: defaultdict[int, int] = defaultdict(int)
        distinct: defaultdict[int, int] = defaultdict(int)
        n = len(text)
        for i in range(n - 1):
            bigram = text[i : i + 2]
            post = self._bigrams.get(bigram)
            if post is None:
                continue
            w = (weights[i] + weights[i + 1]) / 2
            if w <= 0:
                continue  # filler on both sides (园区, 整改): adds nothing, covers nothing counted
            idf = self.idf(post)
            for doc, field in post.items():
                rank[doc] += idf * field * w
                cover[doc] |= 3 << i
        # Phrases (aliases and synonym members), Chinese: every substring that is one.
        heads = self._zh_heads
        for i in range(n):
            if text[i] == " ":
                continue
            lengths = heads.get(text[i : i + 2], ())
            if self._zh_single and text[i] in heads:
                lengths += heads[text[i]]  # one-character phrases
            for length in lengths:
                if i + length > n:
                    continue
                units = self._phrases_zh.get(text[i : i + length])
                if units is None:
                    continue
                mask = ((1 << length) - 1) << i
                w = sum(weights[i : i + length])
                self._credit(units, w, mask, rank, cover, distinct)
        # English words, word pairs and phrases.
        keys = [key for _, key in query.words]
        for start, key in query.words:
            post = self._words.get(key)
            if post is None:
                continue
            idf = self.idf(post)
            for doc, field in post.items():
                rank[doc] += idf * field * weights[start] * 0.5
                cover[doc] |= 1 << start
            for doc in self._names.get(key, ()):
                distinct[doc] |= 1 << start
        for j in range(len(keys) - 1):
            post = self._word_pairs.get((keys[j], keys[j + 1]))
            if post is None:
                continue
            idf = self.idf(post)
            for doc, field in post.items():
                rank[doc] += idf * field * 0.5
        keys = [key for _, key in query.every]
        starts = [start for start, _ in query.every]
        for j in range(len(keys)):
            for length in self._en_lengths:
                if j + length > len(keys):
                    continue
                units = self._phrases_en.get(tuple(keys[j : j + length]))
                if units is None:
                    continue
                mask = 0
                for start in starts[j : j + length]:
                    if weights[start] > 0:
                        mask |= 1 << start
                w = sum(weights[s] for s in starts[j : j + length])
                if w <= 0:
                    continue  # only stopwords (the zone, report)
                self._credit(units, w, mask, rank, cover, distinct)
        query.distinct = dict(distinct)
        return dict(rank), dict(cover)

    def _credit(
        self, units: list[int], weight: float, mask: int, rank: defaultdict[int, float],
        cover: defaultdict[int, int], distinct: defaultdict[int, int],
    ) -> None:
        """Credit every doc using a matched phrase (alias or synonym) found at `mask`; a phrase
        only one or two items use also marks the positions as distinct for them."""
        for unit in units:
            post = self._units[unit]
            idf = self.idf(post)
            for doc, field in post.items():
                rank[doc] += idf * field * weight * 0.6
                cover[doc] |= mask
                if idf >= self._rare:
                    distinct[doc] |= mask

    def coverage(self, query: _Query, mask: int, doc: int | None = None) -> float:
        """Share of the question's content weight inside `mask`.

        With `doc`, a Chinese character outside the mask that the doc still uses counts for
        a little (签约 against 签订): paraphrase is common, and names the notice lacks are
        caught separately as out of scope.
        """
        if query.content <= 0:
            return 0.0
        total = 0.0
        content = query.content
        chars = self._doc_chars.get(doc, frozenset()) if doc is not None else frozenset()
        # A name that belongs to another item (万华 asked together with recruitment) weighs
        # double when this doc lacks it: the question is probably about something else.
        elsewhere = 0
        if doc is not None:
            for other, other_mask in query.distinct.items():
                if other != doc and other < SECTION_INSPECTION:
                    elsewhere |= other_mask
            elsewhere &= ~mask
        for i, weight in enumerate(query.weights):
            if weight <= 0:
                continue
            if mask >> i & 1:
                total += weight
            elif elsewhere >> i & 1:
                content += weight
            elif query.text[i] in chars:
                total += PARTIAL * weight
        return total / content

    def _unexplained_names(self, query: _Query, doc: int) -> list[str]:
        """Out-of-scope names in the question that the doc's own text does not contain."""
        zh = self._doc_zh.get(doc, "")
        en = self._doc_en.get(doc, set())
        missing = []
        for name in query.out_of_scope:
            if is_cjk(name[0]):
                if name not in zh:
                    missing.append(name)
            elif not all(word_key(w) in en for w in name.split()):
                missing.append(name)
        return missing

    # ------------------------------------------------------------------ deciding

    def decide(self, question: str) -> Decision:
        """Answer one question (never raises on any text)."""
        query = self.prepare(question)
        decision = self._decide(question, query)
        if decision.kind in UNSURE and query.corrected:
            # A homophone "fix" is a guess (补齐 is not a typo of 不起): when the corrected
            # question finds no answer, the question as typed may.
            typed = self.prepare(question, correct=False)
            plain_decision = self._decide(question, typed)
            if plain_decision.kind not in UNSURE:
                query, decision = typed, plain_decision
        unsaid = _UNSAID.get(decision.kind, frozenset())
        if decision.kind == "contact" and _STRONG_REACH.search(query.text):
            unsaid -= {"procedure"}  # 监督整改怎么参与: taking part is what the channels are for
        if any(kind in unsaid for kind in query.asks):
            # 追责的干部都有谁, 去哪报名: the notice's facts and channels do not say.
            return Decision(question, "none", (), 0.3, decision.lang, None)
        return decision

    def _decide(self, question: str, query: _Query) -> Decision:
        lang = detect_lang(question[:MAX_INPUT])
        rank, cover = self.score(query)
        items = sorted(
            (doc for doc in rank if doc < SECTION_INSPECTION), key=lambda d: (-rank[d], d)
        )
        top = items[0] if items else None
        top_rank = rank[top] if top is not None else 0.0
        top_cov = self.coverage(query, cover[top], top) if top is not None else 0.0
        if top is not None and top_cov < MIN_COVERAGE:
            # The runner-up may explain the question where the leader only shares its rarest
            # words (leading industries: item 7 names them more often, item 6 answers "which
            # two"). Take the one that explains the most, if it is nearly as strong, or strong
            # in its own right (懂化工的干部: item 44, though 化工园区 makes item 14 lead).
            for doc in items[1:4]:
                if rank[doc] < RUNNER_UP * top_rank and rank[doc] < 2 * LEAD_RANK:
                    break
                cov = self.coverage(query, cover[doc], doc)
                if cov >= MIN_COVERAGE and cov > top_cov and not any(
                    self.coverage(query, cover[section], section) >= cov
                    for section in rank if section >= SECTION_INSPECTION
                ):
                    items.remove(doc)
                    items.insert(0, doc)
                    top, top_rank, top_cov = doc, rank[doc], cov
                    break
        all_cover = 0
        for mask in cover.values():
            all_cover |= mask
        global_cov = self.coverage(query, all_cover)
        has_content = query.content > 0.0

        def none(score: float = 0.0) -> Decision:
            return Decision(question, "none", (), round(score, 3), lang, None)

        # Questions that name a place, institution or topic the notice does not cover.
        if query.out_of_scope and (
            top is None or self._unexplained_names(query, top) or top_cov < MIN_COVERAGE
        ) and not self._aside(query, top, rank, cover):
            return none()

        item_ok = (
            top is not None and has_content and top_cov >= MIN_COVERAGE and top_rank >= MIN_RANK
        )
        intent = ("contact", query.contact) if query.contact else (
            ("meta", query.meta) if query.meta else None
        )
        if intent is not None:
            # An intent phrase wins unless an item clearly explains the rest of the question.
            strong_item = (
                item_ok and top_cov >= INTENT_OVER_ITEM and query.content >= 3.0
                and top_rank >= 3 * MIN_RANK
            )
            kind, topic = intent
            frame = query.frame | (query.area_mask if topic in ("count", "progress") else 0)
            weights = [0.0 if frame >> i & 1 else w for i, w in enumerate(query.weights)]
            residual = dataclasses.replace(query, weights=weights, content=sum(weights))
            if strong_item and residual.content < 3.0:
                strong_item = False  # what is left beside the cues and the area is too little
            # The part of the notice the intent is about (its channels, its plans) explains the
            # question better than any item does (下一步是不是要创建国家高新区).
            # A meta question goes to its part also on a tie; a contact question when ahead.
            own = SECTION_CONTACT if kind == "contact" else _SECTION_OF.get((kind, topic), 0)
            own_cov = self.coverage(query, cover[own], own) if own in rank else -1.0
            about_section = own_cov > top_cov or (kind == "meta" and own_cov >= top_cov)
            if about_section or (kind == "contact" and _REPORTS.search(query.text)):
                strong_item = False  # how to report it (我想反映整改走过场 打哪个电话)
            if strong_item and kind == "contact" and topic != "how" and not _STRONG_REACH.search(
                query.text
            ):
                # The phone, e-mail or address of what an item is about (纪工委书记的手机号):
                # the notice gives only its own channels.
                return none(0.3)
            if (
                not strong_item and not about_section and kind == "contact" and topic != "how"
                and top is not None
                and residual.content >= 2.0 and rank[top] >= MIN_RANK
                and self.coverage(residual, cover[top], top) >= MIN_COVERAGE
                and not _STRONG_REACH.search(query.text)
            ):
                return none(0.3)  # the phone of something an item is about: not in the notice
            if not strong_item:
                explained = self.coverage(residual, all_cover)
                if residual.content * (1.0 - explained) >= 4.0 and explained < 0.3:
                    return none()  # "找谁" about something the notice does not cover
                area = query.area if topic in ("count", "progress") else None
                return Decision(question, kind, (), round(0.9 if not has_content else
                                                          0.6 + 0.3 * global_cov, 3), lang, topic,
                                area)
        # The question's own title-like match with an item outweighs any cue.
        asking = 0  # positions of the cues that are ways of asking, not what a title says
        for name, mask in query.cues.items():
            if name not in _SUBJECT_CUES:
                asking |= mask
        titled = (
            item_ok and top_cov >= 0.85 and top_rank >= 2 * MIN_RANK and query.area is None
            # ... unless what it explains is only how the question asks (为什么要公开: 公开 is
            # a cue, not item 44's 公开考试)
            and sum(w for i, w in enumerate(query.weights) if not asking >> i & 1) >= 1.5
        )
        if intent is None and not query.greeting and not titled:
            cued = self._cued(query, top, rank, cover, all_cover)
            if cued is not None:
                if cued[0] == "none":
                    return none(cued[3])
                if cued[0] != "item":
                    return Decision(question, cued[0], (), round(cued[3], 3), lang, cued[1],
                                    cued[2])
        if not has_content or (query.greeting and query.content < 2.0):
            return none()  # 您好 请问有人在吗: a greeting with a stray character left
        if not item_ok:
            # A question about a non-item part of the notice (its leadership section, plans).
            section = max(
                (doc for doc in rank if doc >= SECTION_INSPECTION),
                key=lambda d: rank[d],
                default=None,
            )
            if section is not None and not query.greeting:
                section_cov = self.coverage(query, cover[section], section)
                if section_cov >= 0.85 and rank[section] >= max(MIN_RANK * 2, top_rank):
                    kind, topic = SECTION_TOPICS[section]
                    return Decision(question, kind, (), round(0.5 + 0.4 * section_cov, 3), lang,
                                    topic)
            if top is not None and not query.greeting and self._says(query, top) and self._leads(
                query, top, rank, cover
            ):
                confidence = self._confidence(top_cov, top_rank, rank[items[1]]
                                              if len(items) > 1 else 0.0)
                return Decision(question, "item", (top,), round(confidence, 3), lang, None)
            return none(top_cov * 0.5 if top is not None else 0.0)
        assert top is not None
        if not query.greeting:
            # A part of the notice that is not an item (the leadership's 台账, the plans) and
            # explains the question just as well as the best item: the question is about it.
            for section in SECTION_TOPICS:
                if (
                    rank.get(section, 0.0) >= top_rank
                    and self.coverage(query, cover[section], section) >= top_cov
                ):
                    kind, topic = SECTION_TOPICS[section]
                    return Decision(question, kind, (), round(0.5 + 0.4 * top_cov, 3), lang,
                                    topic)
        if not self._says(query, top):
            # A runner-up nearly as strong that does hold the asked-for figure answers instead
            # (多少项制度: the item that counts its 43 rules, not the one that only has rules).
            # Not for a date ahead: an item's 力争 does not make it the subject.
            for doc in items[1:4] if _FIGURES.issuperset(query.asks) else ():
                if rank[doc] < RUNNER_UP * top_rank:
                    break
                cov = self.coverage(query, cover[doc], doc)
                if cov >= LEAD_COVERAGE and self._says(query, doc):
                    top, top_rank, top_cov = doc, rank[doc], cov
                    items.remove(doc)
                    items.insert(0, doc)
                    break
        if not self._says(query, top):
            # Asks for a figure, a date, a name the notice does not give about this item.
            return Decision(question, "none", (), 0.3, lang, None, None, top)
        # Items nearly as strong as the top, and holding the asked-for fact (哪两个: the item
        # that names the two industries), are close unless one of them explains clearly more
        # of the question (两大主导产业是啥: the item that has all of it, not the one that only
        # shares 主导产业).
        near = {top: top_cov}
        for doc in items[1:4]:
            if rank[doc] >= AMBIGUOUS_RATIO * top_rank and self._says(query, doc):
                near[doc] = self.coverage(query, cover[doc], doc)
        most = max(near.values())
        close = [doc for doc, cov in near.items() if cov >= most - AMBIGUOUS_COVERAGE]
        confidence = self._confidence(top_cov, top_rank, rank[items[1]] if len(items) > 1 else 0.0)
        if len(close) > 1:
            return Decision(question, "ambiguous", tuple(close[:3]), round(confidence * 0.8, 3),
                            lang, None)
        return Decision(question, "item", (close[0],), round(confidence, 3), lang, None)

    def _says(self, query: _Query, doc: int) -> bool:
        """Whether the item's text holds every kind of fact the question asks for; a count in
        the measure the question names (多少亩 wants 亩, which 30万吨 is not)."""
        facts = self._doc_facts.get(doc, "")
        for kind in query.asks:
            found = self.intents.details[kind][1]
            if found is None or not found.search(facts):
                return False
        return not query.measures or bool(
            re.search(rf"[\d{_NUMERALS}]\s*[{query.measures}]", facts)
        )

    def _leads(
        self, query: _Query, top: int, rank: dict[int, float], cover: dict[int, int]
    ) -> bool:
        """Whether a long, colloquial question is about `top` although it explains too little.

        Residents wrap a subject in their own words (国企那个食堂买菜记账一塌糊涂 管起来了没):
        the item then explains a third of the question, not most of it. It still answers when
        the question names something only this item is about, far ahead of every other item,
        and nothing the notice does not cover.
        """
        if query.content < LEAD_CONTENT:
            return False  # a short question says little beside its subject: it must be explained
        mask = cover[top]
        explained = self.coverage(query, mask, top)
        if (rank[top] < LEAD_RANK or explained < LEAD_COVERAGE
                or rank[top] < LEAD_RANK_RATIO * _runner_up(rank, top)):
            return False
        # Far ahead of every other item by evidence times the share of the question each
        # explains (食堂 … 规矩 … 新制度: the canteen item, though the rules item shares 制度).
        lead = rank[top] * explained
        for doc, other in rank.items():
            if (doc != top and doc < SECTION_INSPECTION and other * LEAD_RATIO > lead
                    and other * self.coverage(query, cover[doc], doc) * LEAD_RATIO > lead):
                return False
        # The distinctive part: a listed phrase of few items, or a bigram of this item alone.
        distinct = query.distinct.get(top, 0)
        text = query.text
        for i in range(len(text) - 1):
            if mask >> i & 3 == 3 and query.weights[i] > 0 and query.weights[i + 1] > 0:
                post = self._bigrams.get(text[i : i + 2])
                if post is not None and sum(1 for d in post if d < SECTION_INSPECTION) == 1:
                    distinct |= 3 << i
        return bool(distinct & mask)

    def _aside(
        self, query: _Query, top: int | None, rank: dict[int, float], cover: dict[int, int]
    ) -> bool:
        """Whether the out-of-scope names of a long question are only the resident's own
        circumstances, told on the side of a subject one item leads by far (我住在高新区边上,
        ... 污水厂到底有没有在扩建): no name shares a clause with a word the item explains."""
        if top is None or query.content < ASIDE_CONTENT:
            return False
        second = _runner_up(rank, top)
        if rank[top] < LEAD_RANK or rank[top] < ASIDE_RATIO * second:
            return False
        mask, text = cover[top], query.text
        subject = [i for i, w in enumerate(query.weights) if w > 0 and mask >> i & 1]
        for name in query.out_of_scope:
            for match in re.finditer(re.escape(name), text):
                start = text.rfind(" ", 0, match.start()) + 1
                end = text.find(" ", match.end())
                end = len(text) if end < 0 else end
                if any(start <= i < end for i in subject):
                    return False
        return True

    def _counts_nothing_else(self, query: _Query) -> bool:
        """Whether a bare 'how many' (一共多少, how many in total) names nothing after it that
        it counts: 高新区有多少人 and how many companies count what the notice does not."""
        last = query.cues["count"].bit_length()
        rest = query.text[last:]
        return not (_COUNTED_CJK.search(rest) or any(
            start >= last for start, _ in query.words
        ))

    def _cued(
        self, query: _Query, top: int | None, rank: dict[int, float], cover: dict[int, int],
        all_cover: int,
    ) -> tuple[str, str | None, int | None, float] | None:
        """A contact or meta answer from the question's cues (a way of asking × a subject),
        or None. ('item', …) means the cues frame a question an item answers; ('none', …) a
        question about something the notice does not cover."""
        cues = query.cues
        if not cues and query.date_topic is None:
            return None
        small = sum(w for i, w in enumerate(query.weights) if not query.frame >> i & 1) < 1.5

        def has(*names: str) -> bool:
            return any(name in cues for name in names)

        kind, topic = "meta", None
        if query.date_topic is not None:
            topic = query.date_topic
        elif has("duration") and (has("inspection") or small):
            topic = "period"
        elif (has("summary") and (has("notice") or small)) or (
            has("why") and has("published", "notice")
        ):
            topic = "overview"
        elif has("when") and has("published") and (has("notice") or small):
            topic = "date"
        elif has("who") and has("published") and has("notice"):
            topic = "publisher"
        elif has("who", "routine") and has("inspection"):
            topic = "inspection"
        elif has("when") and has("inspection"):
            topic = "period"
        elif has("count") and (has("counted") or query.area is not None):
            topic = "count"
        elif has("reach", "channel"):
            kind = "contact"
            topic = query.contact or "how"
        elif has("count") and self._counts_nothing_else(query):
            topic = "count"
        elif has("unfinished") and (has("counted", "whole") or small):
            topic = "next_steps"
        elif has("achievement") and (has("whole") or small):
            topic = "progress"
        elif has("accountability") and (has("whole") or small):
            topic = "overview"
        elif (query.area is not None and has("whole") and has("counted")
              and not query.out_of_scope):
            topic = "progress"  # 腐败问题方面整改得怎么样: one area's problems as a whole
        else:
            return None
        area = query.area if topic in ("count", "progress") else None
        frame = query.frame | (query.area_mask if area is not None else 0)
        weights = [0.0 if frame >> i & 1 else w for i, w in enumerate(query.weights)]
        residual = dataclasses.replace(query, weights=weights, content=sum(weights))
        small = residual.content < 1.5
        if small:
            return kind, topic, area, 0.85
        top_cov = self.coverage(residual, cover[top], top) if top is not None else 0.0
        if top is not None and (
            (top_cov >= MIN_COVERAGE and rank[top] >= MIN_RANK)
            or (kind == "meta" and self._leads(residual, top, rank, cover))
        ):
            # The rest of the question is about one item.
            if kind == "contact":
                reach = "".join(m.group() for m in _SPANS.finditer(
                    "".join(c if query.cues.get("reach", 0) >> i & 1 else " "
                            for i, c in enumerate(query.text))))
                if _STRONG_REACH.search(reach):
                    return kind, topic, None, 0.7  # how to report a problem with it
                if "reach" not in cues:
                    return "none", None, None, 0.3  # that item's own phone: not in the notice
            return "item", None, None, 0.0
        if topic == "count" and area is None and "counted" not in cues:
            # 多少 about a subject (房租多少, 欠了多少税), not about the notice's problems: a
            # figure the notice does not give, unless an item explains it (handled above).
            return "none", None, None, 0.2
        explained = self.coverage(residual, all_cover)
        if residual.content * (1.0 - explained) >= 3.0 and explained < 0.3:
            return "none", None, None, 0.2  # asked about something the notice does not cover
        return kind, topic, area, 0.6 + 0.25 * explained

    def _confidence(self, coverage: float, top: float, second: float) -> float:
        """0..1: how much of the question is explained, how specific, how clear the lead."""
        strength = 1.0 - math.exp(-top / 4.0)
        lead = 1.0 - (second / top if top > 0 else 1.0)
        value = coverage * (0.55 + 0.25 * strength + 0.2 * lead)
        return max(0.0, min(1.0, value))

    # ------------------------------------------------------------------ other views

    def search(self, query_text: str, limit: int = 10) -> list[int]:
        """Items for a partial query, best first (inline mode); may be empty."""
        folded = fold(query_text)
        if folded.isdigit() and int(folded) in self.notice.items:
            return [int(folded)]
        query = self.prepare(query_text)
        rank, cover = self.score(query)
        scored = [
            (doc, r) for doc, r in rank.items()
            if doc < SECTION_INSPECTION and self.coverage(query, cover[doc], doc) >= 0.5
        ]
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return [doc for doc, _ in scored[:limit]]

    def related(self, number: int, k: int = 3) -> list[int]:
        """The k items sharing the most distinctive vocabulary with item `number`."""
        if number not in self.notice.items:
            return []
        if not hasattr(self, "_related"):
            self._related = self._build_related()
        return self._related.get(number, [])[:k]

    def _build_related(self) -> dict[int, list[int]]:
        vectors: dict[int, dict[object, float]] = {n: {} for n in self.item_numbers}
        for key, post in self._bigrams.items():
            idf = self.idf(post)
            for doc, field in post.items():
                if doc in vectors and len(post) > 1:
                    vectors[doc][key] = idf * field
        for unit, post in enumerate(self._units):
            idf = self.idf(post)
            for doc, field in post.items():
                if doc in vectors:
                    vectors[doc][("u", unit)] = 2 * idf * field
        norms = {n: math.sqrt(sum(v * v for v in vec.values())) or 1.0
                 for n, vec in vectors.items()}
        result = {}
        for a in self.item_numbers:
            sims = []
            for b in self.item_numbers:
                if a == b:
                    continue
                va, vb = vectors[a], vectors[b]
                small, large = (va, vb) if len(va) < len(vb) else (vb, va)
                dot = sum(v * large.get(key, 0.0) for key, v in small.items())
                sims.append((dot / (norms[a] * norms[b]), b))
            sims.sort(key=lambda pair: (-pair[0], pair[1]))
            result[a] = [b for _, b in sims]
        return result


def _measures(folded: str) -> str:
    """The measure words a question's 'how many' counts in (多少亩 → 亩, how many mu → 亩),
    people's three as one."""
    found = set()
    for match in _COUNTED_IN.finditer(folded):
        unit = match.group(1) or _EN_MEASURES.get(match.group(2), "")
        found.add(_PEOPLE if unit and unit in _PEOPLE else unit)
    return "".join(sorted(found))


def _runner_up(rank: dict[int, float], top: int) -> float:
    """The rank of the strongest item other than `top`."""
    return max((r for d, r in rank.items() if d != top and d < SECTION_INSPECTION), default=0.0)


def _covered_by_words(pattern: re.Pattern[str], text: str) -> bool:
    """Whether filler words of two or more characters make up all of `text` (园区党工委)."""
    covered = [False] * len(text)
    for match in pattern.finditer(text):
        if match.end() - match.start() >= 2:
            for i in range(match.start(), match.end()):
                covered[i] = True
    return all(covered)


def _cjk_runs(text: str) -> list[str]:
    return re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", text)


def _find_phrases(
    sequence: str | list[str], phrases: dict[Any, list[int]], lengths: list[int]
) -> Iterable[list[int]]:
    """The unit lists of every phrase occurring in `sequence` (a string or a word list)."""
    n = len(sequence)
    is_text = isinstance(sequence, str)
    for i in range(n):
        for length in lengths:
            if i + length <= n:
                piece = sequence[i : i + length]
                units = phrases.get(piece if is_text else tuple(piece))
                if units is not None:
                    yield units


def _split_members(group: Iterable[str]) -> tuple[list[str], list[tuple[str, ...]]]:
    zh: list[str] = []
    en: list[tuple[str, ...]] = []
    for member in group:
        folded = fold(member)
        if not folded:
            continue
        if any(is_cjk(c) for c in folded):
            zh.append(folded)
        else:
            keys = tuple(word_key(w) for w in _WORD.findall(folded))
            if keys:
                en.append(keys)
    return zh, en


def _any(patterns: Iterable[re.Pattern[str]]) -> re.Pattern[str]:
    """One pattern that finds whether any of `patterns` matches anywhere."""
    return re.compile("|".join(p.pattern for p in patterns) or _NEVER)


def _only(pattern: re.Pattern[str], script: str) -> re.Pattern[str]:
    """`pattern` keeping only the alternatives that can match text in `script`: for 'zh',
    those with a CJK character or no letter at all (028-38183651); for 'en', those without
    CJK characters; for 'all', every one.

    Written for re's speed: an alternative that starts with a group of words ((下次|再来)巡察)
    is spelt out word by word, and anchored ones stay together under their anchor
    (^(你好|嗨)). re scans quickly for the possible first characters of a pattern, but only
    when every alternative starts with a plain character."""
    kept: dict[tuple[str, str], list[str]] = {}
    for head, alternative, tail in _flat_alternatives(pattern.pattern):
        has_cjk = CJK_CHAR.search(alternative) is not None
        letters = _LATIN.search(_ESCAPE.sub("", alternative).lower()) is not None
        if (script == "all" or (script == "zh" and (has_cjk or not letters))
                or (script == "en" and not has_cjk)):
            kept.setdefault((head, tail), []).extend(_spelt_out(alternative))
    parts = []
    for (head, tail), alternatives in kept.items():
        if head or tail:
            parts.append(f"{head}(?:{'|'.join(alternatives)}){tail}")
        else:
            parts += [f"(?:{a})" for a in alternatives]
    return re.compile("|".join(parts) or _NEVER, pattern.flags)


def _spelt_out(alternative: str) -> list[str]:
    """(a|b)rest → arest, brest, again for what that gives, when the group is not repeated;
    anything else as it is."""
    opening = _opening(alternative)
    end = _group_end(alternative) if opening else -1
    rest = alternative[end + 1 :]
    if end < 0 or rest[:1] in ("?", "*", "+", "{"):
        return [alternative]
    return [
        spelt
        for word in _alternatives(alternative[opening:end])
        for spelt in _spelt_out(word + rest)
    ]


def _opening(part: str) -> int:
    """The length of the group opening a part starts with, ( or (?:, else 0."""
    if part.startswith("(?:"):
        return 3
    return 1 if part.startswith("(") and not part.startswith("(?") else 0


def _group_end(part: str) -> int:
    """The index of the parenthesis that closes the one `part` starts with (-1 if none)."""
    depth, escaped = 0, False
    for i, char in enumerate(part):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _flat_alternatives(pattern: str, head: str = "", tail: str = "") -> list[tuple[str, str, str]]:
    """The alternatives of a pattern, looking inside groups that wrap a whole alternative
    ((?:a|b)|c → a, b, c), with the anchors around them (^(a|b)$ → a and b, each with ^ and $);
    anything else is kept whole."""
    result = []
    for part in _alternatives(pattern):
        start = "^" if part.startswith("^") else ""
        end = "$" if part.endswith("$") and not part.endswith("\\$") else ""
        inner = _unwrapped(part[len(start) : len(part) - len(end)])
        if inner is None or (start and head) or (end and tail):
            result.append((head, part, tail))
        else:
            result += _flat_alternatives(inner, head or start, tail or end)
    return result


def _unwrapped(part: str) -> str | None:
    """The inside of a part that is exactly one group, (...) or (?:...), else None."""
    opening = _opening(part)
    if not opening or _group_end(part) != len(part) - 1:
        return None
    return part[opening:-1]


def _out_of_scope_words(intents: Intents) -> list[str]:
    """Chinese words of the out-of-scope terms (they anchor what is typed; see _build)."""
    return [run for run in _cjk_runs(intents.out_of_scope.pattern) if len(run) >= 2]


def _pattern_words(intents: Intents) -> list[str]:
    """Chinese words written in the intent patterns (so their typos can be corrected too)."""
    patterns = [*intents.contact.values(), *intents.meta.values(), intents.greeting,
                intents.filler]
    return [run for p in patterns for run in _cjk_runs(p.pattern) if len(run) >= 2]
