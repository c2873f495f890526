"""Turn knowledge into replies: item cards, decisions, browse pages, progress, keyboards.

Pure functions, no I/O: each takes the knowledge base (and the reply language) and returns a
`Reply` (HTML text and an optional inline keyboard) that a handler sends or edits in. Every
piece of notice text and user text passes through `esc`. Nothing here exceeds Telegram's
limits: `split_html` cuts long texts at line boundaries, and callback data stay under 64 bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.common import esc
from handlers.texts import Lang, t
from knowledge.model import Status

if TYPE_CHECKING:
    from knowledge import Decision, KnowledgeBase
    from store.base import UnansweredQuestion

PAGE_SIZE = 8  # items per browse page: fits a phone screen with the navigation rows
QUESTION_SHOWN = 200  # characters of the user's question quoted back
BAR_WIDTH = 10

STATUS_EMOJI = {Status.COMPLETED: "✅", Status.IN_PROGRESS: "🔄", Status.LONG_TERM: "♾️"}


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to send: HTML text and an optional inline keyboard."""

    text: str
    markup: InlineKeyboardMarkup | None = None


# Replies depend only on their arguments, and a knowledge base never changes (publishing makes a
# new one), so each is built once and reused: Telegram objects are immutable. Bounded, so a
# replaced knowledge base is let go.
_memo = lru_cache(maxsize=2048)


class Keyboard(InlineKeyboardMarkup):
    """An inline keyboard that is turned into JSON data once: the memoised renderers send the
    same immutable keyboard many times. (The dict is only read, by json.dumps.)"""

    __slots__ = ("_as_dict",)

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        if not recursive:
            return super().to_dict(recursive=False)
        try:
            return self._as_dict  # type: ignore[no-any-return]
        except AttributeError:
            self._as_dict = super().to_dict()
            return self._as_dict


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def fmt_date(day: date, lang: Lang) -> str:
    """A date as the notice would write it (zh) or as an English reader expects."""
    if lang == "en":
        return f"{day.day} {day:%B} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日"


def badge(status: Status, lang: Lang) -> str:
    """A status badge such as '✅ 已完成' or '🔄 In progress'."""
    return f"{STATUS_EMOJI[status]} {status.en if lang == 'en' else status.zh}"


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """A text bar like ▓▓▓▓░░░░░░ with `done/total` filled (rounded, never all-full early)."""
    if total <= 0:
        return "░" * width
    filled = math.floor(width * done / total + 0.5)
    if done < total:
        filled = min(filled, width - 1)
    return "▓" * filled + "░" * (width - filled)


def _counts(kb: KnowledgeBase, lang: Lang, area: int | None = None) -> dict[str, int]:
    counts = kb.notice.status_counts(area)
    return {str(status.value): n for status, n in counts.items()}


def _issuer(kb: KnowledgeBase) -> str:
    return esc(kb.notice.issuer)


@_memo
def channels(kb: KnowledgeBase, lang: Lang) -> str:
    """The notice's phone, post address and email, one per line."""
    contact = kb.notice.contact
    return t(
        lang,
        "channels",
        phone=esc(contact.phone),
        address=esc(contact.address),
        email=esc(contact.email),
    )


# -- start, help, contact ---------------------------------------------------------------------


@_memo
def main_menu(lang: Lang) -> InlineKeyboardMarkup:
    """The buttons under the welcome: browse, progress, contact, feedback, subscribe."""
    return Keyboard(
        [
            [
                _button(t(lang, "btn_browse"), "browse:open"),
                _button(t(lang, "btn_progress"), "progress"),
            ],
            [
                _button(t(lang, "btn_contact"), "contact"),
                _button(t(lang, "btn_feedback"), "fb:new"),
            ],
            [_button(t(lang, "btn_subscribe"), "sub:all")],
        ]
    )


@_memo
def welcome(kb: KnowledgeBase, lang: Lang) -> Reply:
    """The /start greeting naming the notice, its date and issuer, with the main menu."""
    notice = kb.notice
    text = t(
        lang,
        "welcome",
        issuer=_issuer(kb),
        date=fmt_date(notice.date, lang),
        title=esc(notice.title),
        count=notice.item_count,
        areas=len(notice.areas),
    )
    return Reply(text, main_menu(lang))


@_memo
def help_text(kb: KnowledgeBase, lang: Lang, bot_username: str) -> Reply:
    """The /help text listing commands."""
    return Reply(
        t(lang, "help", count=kb.notice.item_count, bot=esc(bot_username)), main_menu(lang)
    )


@_memo
def contact(kb: KnowledgeBase, lang: Lang) -> Reply:
    """The published channels and how to send an opinion through the bot."""
    text = t(
        lang, "contact", invitation=esc(kb.notice.contact.invitation), channels=channels(kb, lang)
    )
    keyboard = Keyboard([[_button(t(lang, "btn_feedback"), "fb:new")]])
    return Reply(text, keyboard)


# -- item cards --------------------------------------------------------------------------------


def item_title(kb: KnowledgeBase, n: int, lang: Lang) -> str:
    """The problem's title in the reply language (not escaped)."""
    return kb.en_title(n) if lang == "en" else kb.item(n).title


@_memo
def item_card(
    kb: KnowledgeBase, n: int, lang: Lang, *, back: InlineKeyboardButton | None = None
) -> Reply:
    """The card for item `n`: number, area, problem, status, the notice's words, date, buttons."""
    item = kb.item(n)
    notice = kb.notice
    area = kb.area_title(item.area, lang)
    numeral = notice.areas[item.area - 1].numeral
    lines = [
        f"<b>{t(lang, 'item_heading', n=n, title=esc(item_title(kb, n, lang)))}</b>",
        t(lang, "item_area", numeral=esc(numeral), area=esc(area)),
        t(lang, "item_status", badge=badge(item.status, lang)),
        "",
    ]
    if lang == "en":
        lines += [t(lang, "item_summary"), esc(kb.en_summary(n)), ""]
        lines += [t(lang, "item_problem_zh", title=esc(item.title))]
    lines += [t(lang, "item_words"), esc(item.text), ""]
    lines.append(
        f"<i>{t(lang, 'item_source', issuer=_issuer(kb), date=fmt_date(notice.date, lang))}</i>"
    )
    rows = [
        [_button(t(lang, "btn_related", n=r), f"item:{r}") for r in kb.related(n, k=3)],
        [
            _button(t(lang, "btn_sub_item"), f"sub:item:{n}"),
            _button(t(lang, "btn_fb_item"), f"fb:new:{n}"),
        ],
    ]
    if back is not None:
        rows.append([back])
    return Reply("\n".join(lines), Keyboard([row for row in rows if row]))


def inline_card_text(kb: KnowledgeBase, n: int, lang: Lang) -> str:
    """The text of an item card shared through inline mode (no callback buttons work there)."""
    return item_card(kb, n, lang).text


# -- decisions ---------------------------------------------------------------------------------


def quote(question: str, lang: Lang) -> str:
    """The user's question, trimmed and escaped, to show above an answer."""
    shown = question if len(question) <= QUESTION_SHOWN else question[:QUESTION_SHOWN] + "…"
    return t(lang, "quote", question=esc(shown))


@_memo
def ambiguous(kb: KnowledgeBase, items: tuple[int, ...], lang: Lang) -> Reply:
    """'Did you mean' with up to three item buttons and 'none of these'."""
    rows = []
    for n in items[:3]:
        label = f"{n}. {item_title(kb, n, lang)}"
        rows.append([_button(label if len(label) <= 60 else label[:59] + "…", f"item:{n}")])
    rows.append([_button(t(lang, "btn_none_of_these"), "contact")])
    return Reply(t(lang, "ambiguous"), Keyboard(rows))


def nothing(kb: KnowledgeBase, question: str, lang: Lang, about: int | None = None) -> Reply:
    """The honest 'the notice does not cover this', the channels and one hint; with `about`,
    the item whose subject the question is on (the notice says something, not what was asked)."""
    if about is not None and about in kb.notice.items:
        body = _not_said(kb, about, lang)
    else:
        body = _nothing(kb, lang)
    return Reply(f"{quote(question, lang)}\n\n{body.text}", body.markup)


@_memo
def _not_said(kb: KnowledgeBase, n: int, lang: Lang) -> Reply:
    text = t(
        lang,
        "not_said",
        n=n,
        title=esc(item_title(kb, n, lang)),
        channels=channels(kb, lang),
    )
    keyboard = Keyboard(
        [[_button(t(lang, "btn_see_item", n=n), f"item:{n}")], _elsewhere_row(lang)]
    )
    return Reply(text, keyboard)


def _elsewhere_row(lang: Lang) -> list[InlineKeyboardButton]:
    """What to do when the notice does not answer: send an opinion, or browse what it covers."""
    return [
        _button(t(lang, "btn_feedback"), "fb:new"),
        _button(t(lang, "btn_browse"), "browse:open"),
    ]


@_memo
def _nothing(kb: KnowledgeBase, lang: Lang) -> Reply:
    text = t(
        lang,
        "none",
        channels=channels(kb, lang),
        hint=t(lang, "hints", count=kb.notice.item_count),
    )
    return Reply(text, Keyboard([_elsewhere_row(lang)]))


def decision(kb: KnowledgeBase, d: Decision, lang: Lang) -> Reply:
    """Render any matcher decision as one reply."""
    if d.kind == "item" and d.items:
        return item_card(kb, d.items[0], lang)
    if d.kind == "ambiguous" and d.items:
        return ambiguous(kb, d.items, lang)
    if d.kind == "contact":
        return contact(kb, lang)
    if d.kind == "meta" and d.area is not None and d.topic in ("count", "progress"):
        return browse_area(kb, d.area, 0, lang)  # one area's problems: its counts and items
    if d.kind == "meta":
        return meta(kb, d.topic or "overview", lang)
    return nothing(kb, d.question, lang, d.about)


# -- meta: facts about the notice itself -----------------------------------------------------


def _inspection(kb: KnowledgeBase, lang: Lang) -> str:
    ins = kb.notice.inspection
    return t(
        lang,
        "meta_inspection",
        authority=esc(ins.authority),
        group=esc(ins.group),
        target=esc(ins.target),
        kind=esc(ins.kind),
        start=fmt_date(ins.start, lang),
        end=fmt_date(ins.end, lang),
        feedback=fmt_date(ins.feedback_date, lang),
    )


def _count(kb: KnowledgeBase, lang: Lang) -> str:
    notice = kb.notice
    per_area = "\n".join(
        t(
            lang,
            "meta_per_area",
            numeral=a.numeral,
            title=esc(kb.area_title(a.number, lang)),
            count=len(a.items),
        )
        for a in notice.areas
    )
    return t(
        lang,
        "meta_count",
        count=notice.item_count,
        areas=len(notice.areas),
        per_area=per_area,
        counts=t(lang, "meta_counts", **_counts(kb, lang)),
    )


@_memo
def meta(kb: KnowledgeBase, topic: str, lang: Lang) -> Reply:
    """Answer a question about the notice itself (who inspected, when, how many, next steps)."""
    notice = kb.notice
    when = fmt_date(notice.date, lang)
    if topic in {"inspection", "period"}:
        text = _inspection(kb, lang)
    elif topic == "count":
        text = _count(kb, lang)
    elif topic == "progress":
        return progress(kb, lang)
    elif topic == "next_steps":
        plans = "\n".join(
            t(
                lang,
                "meta_plan",
                numeral=esc(p_numeral(p.number)),
                number=p.number,
                title=esc(p.title),
            )
            for p in notice.plans
        )
        text = t(lang, "meta_next_steps", plans=plans)
    elif topic in {"publisher", "date"}:
        text = t(lang, "meta_publisher", issuer=_issuer(kb), date=when)
    else:
        text = t(
            lang,
            "meta_overview",
            title=esc(notice.title),
            issuer=_issuer(kb),
            date=when,
            inspection=_inspection(kb, lang),
            count=_count(kb, lang),
        )
    return Reply(text, main_menu(lang))


def p_numeral(number: int) -> str:
    """Chinese numeral for small plan numbers (1 → 一)."""
    numerals = "一二三四五六七八九十"
    return numerals[number - 1] if 0 < number <= len(numerals) else str(number)


# -- progress and browse ----------------------------------------------------------------------


@_memo
def progress(kb: KnowledgeBase, lang: Lang) -> Reply:
    """Overall and per-area counts by status, with a text bar per area."""
    notice = kb.notice
    lines = [t(lang, "progress_title", date=fmt_date(notice.date, lang)), ""]
    blocks = [(t(lang, "progress_overall", count=notice.item_count), None)]
    blocks += [(esc(kb.area_title(a.number, lang)), a.number) for a in notice.areas]
    for label, area in blocks:
        counts = notice.status_counts(area)
        total = sum(counts.values())
        done = counts[Status.COMPLETED]
        share = round(100 * done / total) if total else 0
        prefix = (
            "" if area is None else f"({notice.areas[area - 1].numeral}) " if lang == "zh" else ""
        )
        lines.append(f"<b>{prefix}{label}</b>")
        lines.append(f"<code>{progress_bar(done, total)}</code> {done}/{total} · {share}%")
        lines.append(t(lang, "progress_line", **_counts(kb, lang, area)))
        lines.append("")
    lines.append(f"<i>{t(lang, 'progress_legend')}</i>")
    rows = [
        [_button(f"📂 {area_label(kb, a.number, lang)}", f"browse:area:{a.number}:0")]
        for a in notice.areas
    ]
    return Reply("\n".join(lines), Keyboard(rows))


def area_label(kb: KnowledgeBase, area: int, lang: Lang) -> str:
    """A short label for an area: '(一) 决策部署落实' or 'Policy implementation'."""
    short = kb.area_short(area, lang)
    return f"({kb.notice.areas[area - 1].numeral}) {short}" if lang == "zh" else short


@_memo
def browse_areas(kb: KnowledgeBase, lang: Lang) -> Reply:
    """The list of areas, one button each."""
    notice = kb.notice
    rows = [
        [
            _button(
                t(
                    lang,
                    "btn_area",
                    numeral=a.numeral,
                    short=kb.area_short(a.number, lang),
                    count=len(a.items),
                ),
                f"browse:area:{a.number}:0",
            )
        ]
        for a in notice.areas
    ]
    text = t(lang, "browse_areas", count=notice.item_count, areas=len(notice.areas))
    return Reply(text, Keyboard(rows))


def page_count(kb: KnowledgeBase, area: int) -> int:
    """How many browse pages an area has."""
    return max(1, math.ceil(len(kb.notice.areas[area - 1].items) / PAGE_SIZE))


@_memo
def browse_area(kb: KnowledgeBase, area: int, page: int, lang: Lang) -> Reply:
    """One page of an area's items, with previous/next and back buttons."""
    notice = kb.notice
    pages = page_count(kb, area)
    page = min(max(page, 0), pages - 1)
    numbers = notice.areas[area - 1].items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = []
    for n in numbers:
        item = kb.item(n)
        label = f"{STATUS_EMOJI[item.status]} {n}. {item_title(kb, n, lang)}"
        rows.append(
            [_button(label if len(label) <= 48 else label[:47] + "…", f"browse:item:{n}:{page}")]
        )
    nav = []
    if page > 0:
        nav.append(_button(t(lang, "btn_prev"), f"browse:area:{area}:{page - 1}"))
    if page < pages - 1:
        nav.append(_button(t(lang, "btn_next"), f"browse:area:{area}:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append([_button(t(lang, "btn_all_areas"), "browse:areas")])
    title = kb.area_title(area, lang)
    text = t(
        lang,
        "browse_area",
        numeral=notice.areas[area - 1].numeral,
        title=esc(title),
        counts=t(lang, "progress_line", **_counts(kb, lang, area)),
        page=page + 1,
        pages=pages,
    )
    return Reply(text, Keyboard(rows))


@_memo
def browse_item(kb: KnowledgeBase, n: int, page: int, lang: Lang) -> Reply:
    """An item card opened from a browse page, with a button back to that page."""
    area = kb.item(n).area
    back = _button(t(lang, "btn_back_area"), f"browse:area:{area}:{page}")
    return item_card(kb, n, lang, back=back)


# -- staff ------------------------------------------------------------------------------------


def unanswered(questions: Sequence[UnansweredQuestion], days: int, lang: Lang) -> Reply:
    """The most frequent recent questions the bot could not answer."""
    if not questions:
        return Reply(t(lang, "unanswered_empty", days=days))
    lines = [t(lang, "unanswered_title", days=days)]
    for i, q in enumerate(questions, start=1):
        text = q.text if len(q.text) <= 100 else q.text[:100] + "…"
        lines.append(
            t(
                lang,
                "unanswered_line",
                i=i,
                count=q.count,
                kind=esc(q.kind),
                language=esc(q.language),
                text=esc(text),
            )
        )
    return Reply("\n".join(lines))
