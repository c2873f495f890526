"""Opinions and complaints: a guided form whose result reaches the notice's published channels.

The notice invites the public to report opinions (phone, post, email). `/feedback` (or the
"send an opinion" button on an item card, which pre-fills the item) walks a citizen through:

    kind → text (+ photos/files) → related item → contact (optional) → preview → confirm

The text comes before the item so that the item step can offer the matcher's best guesses
from what the citizen wrote; a pre-filled item skips that step. The preview shows exactly what
will be sent and where (with phone and post as alternatives); "edit" returns to one step and
then straight back to the preview. Only after `Store.add_feedback` has committed the opinion and
its deliveries (an email to the office when SMTP is configured, a copy to the staff chat when
STAFF_CHAT_ID is set) does the citizen get a reference. An outbox worker then delivers them.

The conversation is persistent (a restart resumes the same step) and the draft lives in
`user_data`, so an idle form (30 minutes) ends with the draft kept and `/feedback` offers to
continue it. `/myfeedback` lists one's own references; `/feedback_export` gives staff a CSV.
"""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers.common import (
    CustomContext,
    application_services,
    esc,
    is_staff,
    on_shutdown,
    on_startup,
    user_language,
)
from handlers.feedback_texts import ft
from services.feedback_export import to_csv
from services.mailer import MailSender, PermanentMailError, SmtpConfig, shanghai_time
from services.outbox import OutboxWorker, PermanentError
from settings import Settings
from store.base import Feedback, NewFeedback, NewOutbox, OutboxItem
from store.persistence import WRITE_THROUGH_GROUP, write_through

logger = logging.getLogger(__name__)

# Conversation states (persisted as these numbers: do not renumber).
KIND, TEXT, ITEM, CONTACT, PREVIEW, DRAFT = range(6)
END = ConversationHandler.END

DRAFT_KEY = "feedback_draft"
RESTART_ITEM_KEY = "feedback_restart_item"
WORKER_KEY = "feedback_outbox"
KINDS = ("suggestion", "complaint", "other")
MIN_TEXT, MAX_TEXT = 10, 2000
MAX_FILES = 5
MAX_FILE_BYTES = 20 * 1024 * 1024  # Telegram's getFile limit: larger files cannot be forwarded
MAX_CONTACT = 100
DAY = timedelta(hours=24)  # "per day" limits are a rolling 24 hours
MY_FEEDBACK_SHOWN = 20
SNIPPET = 40
BUTTON_TITLE = 24

_PHONE = re.compile(r"\+?\d[\d\s\-()]{5,20}\d")
_ITEM_NUMBER = re.compile(r"^\s*(?:第|item|no\.?|#)?\s*(\d{1,3})\s*(?:项)?\s*$", re.IGNORECASE)
_CLAUSE = re.compile(r"[，。！？；、,.!?;\n]+")
_MESSAGE = filters.UpdateType.MESSAGE  # edits of earlier messages are not new answers
_FILES = (filters.PHOTO | filters.Document.ALL) & _MESSAGE
_submitting: set[int] = set()  # users whose confirm is being stored (a double tap is ignored)


# -- pure helpers --------------------------------------------------------------------------------


def new_draft(item: int | None = None) -> dict[str, Any]:
    """An empty draft (JSON-serialisable: it is persisted with user_data)."""
    return {
        "kind": None,
        "text": None,
        "item": item,
        "item_fixed": item is not None,
        "attachments": [],
        "contact_name": None,
        "contact_phone": None,
        "step": KIND,
        "editing": False,
    }


def next_step(draft: dict[str, Any], done: int) -> int:
    """The step after `done`: the preview while editing, else the next unfilled one."""
    if draft.get("editing"):
        return PREVIEW
    if done == KIND:
        return TEXT
    if done == TEXT:
        return CONTACT if draft.get("item_fixed") else ITEM
    if done == ITEM:
        return CONTACT
    return PREVIEW


def parse_contact(text: str) -> tuple[str | None, str | None] | None:
    """(name, phone) from one line such as "张先生 13800000000"; None if it is neither."""
    text = " ".join(text.split())
    if not text or len(text) > MAX_CONTACT:
        return None
    phone = None
    match = _PHONE.search(text)
    if match:
        digits = re.sub(r"\D", "", match.group())
        if not 7 <= len(digits) <= 15:
            return None
        phone = match.group().strip()
        text = (text[: match.start()] + " " + text[match.end() :]).strip()
    name = text.strip(" ,，;；:：/、") or None
    if name is not None and any(ch.isdigit() for ch in name):
        return None  # digits left over: a malformed phone number, not a name
    return (name, phone) if name or phone else None


def text_length_problem(text: str, lang: str) -> str | None:
    """Why this text cannot be sent (too short or too long), or None."""
    length = len(text)
    if length < MIN_TEXT:
        return ft(lang, "too_short", length=length, min=MIN_TEXT)
    if length > MAX_TEXT:
        return ft(lang, "too_long", length=length, max=MAX_TEXT)
    return None


def item_number(text: str) -> int | None:
    """The item number in a reply such as "12", "第12项" or "#12"."""
    match = _ITEM_NUMBER.match(text)
    return int(match.group(1)) if match else None


def deliveries(settings: Settings, item_title: str | None) -> list[NewOutbox]:
    """What add_feedback queues: the office's email (if SMTP is set up), the staff copy."""
    rows = []
    payload: dict[str, Any] = {"reference": "{reference}", "item_title": item_title}
    if settings.smtp_configured:
        rows.append(NewOutbox("email", "email:{reference}", dict(payload)))
    if settings.staff_chat_id is not None:
        staff = payload | {"chat_id": settings.staff_chat_id}
        rows.append(NewOutbox("staff_copy", "staff_copy:{reference}", staff))
    return rows


def short(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def staff_copy_text(feedback: Feedback, item_title: str | None) -> str:
    """The HTML copy for the staff chat: everything the office gets, all of it escaped."""
    kind = ft("zh", f"kind_{feedback.kind}") if feedback.kind in KINDS else feedback.kind
    item = f"第{feedback.item}项 {item_title or ''}".strip() if feedback.item else "未指定"
    contact = " ".join(
        part
        for part in (
            f"联系人：{esc(feedback.contact_name)}" if feedback.contact_name else "",
            f"电话：{esc(feedback.contact_phone)}" if feedback.contact_phone else "",
        )
        if part
    )
    lines = [
        f"📨 <b>群众{esc(kind)}</b> {esc(feedback.reference)}",
        f"时间：{shanghai_time(feedback.created_at):%Y-%m-%d %H:%M}",
        f"相关事项：{esc(item)}",
        contact or "联系方式：匿名",
    ]
    if feedback.attachments:
        lines.append(f"附件：{len(feedback.attachments)} 个（见邮件或 /feedback_export）")
    lines += ["", esc(feedback.text)]
    return "\n".join(lines)


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


# -- helpers with I/O ------------------------------------------------------------------------


def _draft(context: CustomContext) -> dict[str, Any]:
    """The user's draft (created empty if missing, e.g. after a forged state)."""
    user_data = context.user_data if context.user_data is not None else {}
    draft = user_data.get(DRAFT_KEY)
    if not isinstance(draft, dict):
        draft = user_data[DRAFT_KEY] = new_draft()
    return draft


def _item_title(context: CustomContext, n: int | None, lang: str = "zh") -> str | None:
    """The item's problem title in `lang`, or None if the notice has no such item."""
    if n is None:
        return None
    kb = context.services.kb
    try:
        return kb.en_title(n) if lang == "en" else kb.item(n).title
    except (KeyError, IndexError, ValueError):
        return None


async def _show(
    update: Update, text: str, markup: InlineKeyboardMarkup | None, *, edit: bool = True
) -> None:
    """Edit the pressed button's message into `text`, or send it as a new message."""
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            # e.g. the message is too old to edit: say it in a new message instead
    chat = update.effective_chat
    if chat is not None:
        await chat.send_message(text, parse_mode=ParseMode.HTML, reply_markup=markup)


def _preview(context: CustomContext, draft: dict[str, Any], lang: str) -> str:
    """Exactly what will be sent, and where (or that it is stored for the office)."""
    settings = context.services.settings
    contact = context.services.kb.notice.contact
    email = settings.feedback_email or contact.email
    parts = [
        ft(lang, "contact_name", name=esc(draft["contact_name"])) if draft["contact_name"] else "",
        ft(lang, "contact_phone", phone=esc(draft["contact_phone"]))
        if draft["contact_phone"]
        else "",
    ]
    given = "，".join(p for p in parts if p) if lang == "zh" else ", ".join(p for p in parts if p)
    title = _item_title(context, draft["item"], lang)
    where = "where_email" if settings.smtp_configured else "where_stored"
    return ft(
        lang,
        "preview",
        kind=ft(lang, f"kind_{draft['kind']}"),
        item=ft(lang, "preview_item", n=draft["item"], title=esc(title or ""))
        if draft["item"]
        else ft(lang, "preview_no_item"),
        contact=ft(lang, "preview_contact", parts=given)
        if given
        else ft(lang, "preview_anonymous"),
        files=ft(lang, "preview_files", count=len(draft["attachments"]))
        if draft["attachments"]
        else "",
        text=esc(draft["text"]),
        where=ft(
            lang, where, email=esc(email), phone=esc(contact.phone), address=esc(contact.address)
        ),
    )


def _item_suggestions(context: CustomContext, text: str) -> list[int]:
    """Up to three item numbers the matcher finds closest to the citizen's text."""
    kb = context.services.kb
    # An opinion is not a question: asked whole, a long text rarely matches, but its clauses
    # ("污水处理厂扩建一直没完工") do. Confident decisions count; search adds the rest.
    clauses = [text, *(c for c in _CLAUSE.split(text) if len(c) >= 2)]
    guesses: list[int] = []
    try:
        for clause in clauses[:12]:
            decision = kb.ask(clause)
            if decision.kind in ("item", "ambiguous"):
                guesses += decision.items
        guesses += kb.search(text, limit=3)
    except Exception:  # the form must go on even if matching fails
        logger.exception("matching feedback text failed")
    return list(dict.fromkeys(guesses))[:3]


def _prompt(
    context: CustomContext, draft: dict[str, Any], step: int, lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The question and buttons of one step."""
    cancel = [_button(ft(lang, "btn_cancel"), "fb:cancel")]
    count = context.services.kb.notice.item_count
    if step == KIND:
        email = context.services.settings.feedback_email or context.services.kb.notice.contact.email
        text = ft(lang, "ask_kind", email=esc(email))
        if draft["item_fixed"] and draft["item"]:
            title = _item_title(context, draft["item"], lang) or ""
            text += "\n" + ft(lang, "ask_kind_item", n=draft["item"], title=esc(title))
        rows = [[_button(ft(lang, f"kind_{k}"), f"fb:kind:{k}")] for k in KINDS]
        return text, InlineKeyboardMarkup([*rows, cancel])
    if step == TEXT:
        kind = ft(lang, f"kind_{draft['kind'] or 'other'}")
        text = ft(lang, "ask_text", kind=kind, min=MIN_TEXT, max=MAX_TEXT, files=MAX_FILES)
        return text, InlineKeyboardMarkup([cancel])
    if step == ITEM:
        numbers = _item_suggestions(context, draft["text"] or "")
        rows = [
            [_button(ft(lang, "btn_item", n=n, title=short(name, BUTTON_TITLE)), f"fb:item:{n}")]
            for n in numbers
            if (name := _item_title(context, n, lang))
        ]
        rows.append([_button(ft(lang, "btn_no_item"), "fb:item:0")])
        key = "ask_item" if numbers else "ask_item_nothing"
        return ft(lang, key, count=count), InlineKeyboardMarkup([*rows, cancel])
    if step == CONTACT:
        rows = [
            [_button(ft(lang, "btn_anonymous"), "fb:anon")],
            [_button(ft(lang, "btn_give_contact"), "fb:contact")],
        ]
        return ft(lang, "ask_contact"), InlineKeyboardMarkup([*rows, cancel])
    if step == DRAFT:
        summary = esc(short(draft["text"], 80)) if draft["text"] else ft(lang, "draft_empty")
        rows = [
            [_button(ft(lang, "btn_resume"), "fb:resume")],
            [_button(ft(lang, "btn_restart"), "fb:restart")],
        ]
        return ft(lang, "draft_exists", summary=summary), InlineKeyboardMarkup([*rows, cancel])
    rows = [
        [_button(ft(lang, "btn_confirm"), "fb:confirm")],
        [_button(ft(lang, "btn_edit"), "fb:edit"), cancel[0]],
    ]
    return _preview(context, draft, lang), InlineKeyboardMarkup(rows)


async def _ask(
    update: Update, context: CustomContext, step: int, *, note: str = "", edit: bool = True
) -> int:
    """Show the question of `step` (after an optional note), remember it, and return it."""
    lang = await user_language(update, context)
    draft = _draft(context)
    if step != DRAFT:
        draft["step"] = step
    text, markup = _prompt(context, draft, step, lang)
    await _show(update, f"{note}\n\n{text}" if note else text, markup, edit=edit)
    return step


async def _limit_problem(
    update: Update, context: CustomContext, lang: str, text: str | None = None
) -> tuple[str, str] | None:
    """Why this user cannot send now, as ("daily_limit" | "duplicate", what to tell them)."""
    user = update.effective_user
    if user is None:
        return None
    store = context.services.store
    since = datetime.now(UTC) - DAY
    limit = context.services.settings.feedback_daily_limit
    if await store.count_feedback_since(user.id, since) >= limit:
        phone = esc(context.services.kb.notice.contact.phone)
        return "daily_limit", ft(lang, "daily_limit", limit=limit, phone=phone)
    if text and await store.has_feedback_text_since(user.id, text, since):
        return "duplicate", ft(lang, "duplicate")
    return None


def _current_step(context: CustomContext) -> int:
    """The step the form is at: the draft offer if it is showing, else the draft's step."""
    if context.user_data is not None and RESTART_ITEM_KEY in context.user_data:
        return DRAFT
    step = _draft(context).get("step", KIND)
    return step if step in (KIND, TEXT, ITEM, CONTACT, PREVIEW) else KIND


async def _answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the button press, if this update is one (the spinner stops either way)."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=alert)


# -- the conversation ------------------------------------------------------------------------


async def start_feedback(update: Update, context: CustomContext) -> int:
    """Opens the form (item pre-filled from `fb:new:N`) or offers to continue a saved draft."""
    lang = await user_language(update, context)
    if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        await _answer(update, ft(lang, "private_only"), alert=True)
        if update.callback_query is None:
            await _show(update, ft(lang, "private_only"), None, edit=False)
        return END
    await _answer(update)
    problem = await _limit_problem(update, context, lang)
    if problem:
        await _show(update, problem[1], None, edit=False)
        return END
    data = update.callback_query.data if update.callback_query else None
    item = int(data.rsplit(":", 1)[1]) if data and data.count(":") == 2 else None
    if item is not None and _item_title(context, item) is None:
        item = None  # a forged or outdated item number: let the citizen choose
    user_data = context.user_data if context.user_data is not None else {}
    draft = user_data.get(DRAFT_KEY)
    if isinstance(draft, dict) and (draft.get("kind") or draft.get("text")):
        user_data[RESTART_ITEM_KEY] = item
        return await _ask(update, context, DRAFT, edit=False)
    user_data.pop(RESTART_ITEM_KEY, None)
    user_data[DRAFT_KEY] = new_draft(item)
    return await _ask(update, context, KIND, edit=False)


async def resume_draft(update: Update, context: CustomContext) -> int:
    """Continues the saved draft at the step where it was left."""
    await _answer(update)
    if context.user_data is not None:
        context.user_data.pop(RESTART_ITEM_KEY, None)
    return await _ask(update, context, _current_step(context))


async def restart_draft(update: Update, context: CustomContext) -> int:
    """Throws the saved draft away and asks for the kind of a new one."""
    await _answer(update)
    user_data = context.user_data if context.user_data is not None else {}
    user_data[DRAFT_KEY] = new_draft(user_data.pop(RESTART_ITEM_KEY, None))
    return await _ask(update, context, KIND)


async def choose_kind(update: Update, context: CustomContext) -> int:
    """Stores the kind (suggestion, complaint, other) and asks for the text."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    kind = query.data.rsplit(":", 1)[1]
    draft = _draft(context)
    draft["kind"] = kind if kind in KINDS else "other"
    return await _ask(update, context, next_step(draft, KIND))


async def receive_text(update: Update, context: CustomContext) -> int:
    """Checks and stores the text, then asks for the related item (or the contact)."""
    message = update.effective_message
    assert message is not None
    text = (message.text or message.caption or "").strip()
    lang = await user_language(update, context)
    limited = await _limit_problem(update, context, lang, text)
    problem = text_length_problem(text, lang) or (limited[1] if limited else None)
    if problem:
        await message.reply_text(problem, parse_mode=ParseMode.HTML)
        return TEXT
    draft = _draft(context)
    draft["text"] = text
    return await _ask(update, context, next_step(draft, TEXT), edit=False)


def _attachment(update: Update, number: int) -> tuple[dict[str, Any] | None, int | None]:
    """The file of a photo/document message as stored in the draft, and its size."""
    message = update.effective_message
    if message is None:
        return None, None
    if message.photo:
        photo = message.photo[-1]  # the largest size Telegram made
        meta = {"file_id": photo.file_id, "kind": "photo", "name": f"photo-{number}.jpg"}
        return meta | {"mime": "image/jpeg"}, photo.file_size
    document = message.document
    if document is None:
        return None, None
    name = document.file_name or f"file-{number}"
    meta = {"file_id": document.file_id, "kind": "document", "name": name}
    return meta | {"mime": document.mime_type or "application/octet-stream"}, document.file_size


async def _add_file(update: Update, context: CustomContext, lang: str) -> str:
    """Adds the message's file to the draft; returns what to tell the citizen."""
    draft = _draft(context)
    email = context.services.settings.feedback_email or context.services.kb.notice.contact.email
    meta, size = _attachment(update, len(draft["attachments"]) + 1)
    if meta is None:
        return ft(lang, "use_buttons")
    if len(draft["attachments"]) >= MAX_FILES:
        return ft(lang, "too_many_files", files=MAX_FILES)
    if size is not None and size > MAX_FILE_BYTES:
        return ft(lang, "file_too_big", email=esc(email))
    draft["attachments"].append(meta)
    return ""


async def receive_file(update: Update, context: CustomContext) -> int:
    """Keeps a photo or document; its caption, if long enough, is taken as the text."""
    message = update.effective_message
    assert message is not None
    lang = await user_language(update, context)
    problem = await _add_file(update, context, lang)
    count = len(_draft(context)["attachments"])
    if not problem and (message.caption or "").strip():
        return await receive_text(update, context)
    note = problem or ft(lang, "file_added_need_text", count=count, min=MIN_TEXT, max=MAX_TEXT)
    await message.reply_text(note, parse_mode=ParseMode.HTML)
    return TEXT


async def attach_later(update: Update, context: CustomContext) -> int:
    """Adds a photo or document sent at a later step, then asks that step again."""
    lang = await user_language(update, context)
    problem = await _add_file(update, context, lang)
    note = problem or ft(lang, "file_added", count=len(_draft(context)["attachments"]))
    return await _ask(update, context, _current_step(context), note=note, edit=False)


async def choose_item(update: Update, context: CustomContext) -> int:
    """Stores the chosen item (0: none) and asks for contact details."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    number = int(query.data.rsplit(":", 1)[1])
    draft = _draft(context)
    draft["item"] = number if number and _item_title(context, number) else None
    draft["item_fixed"] = False
    return await _ask(update, context, next_step(draft, ITEM))


async def type_item(update: Update, context: CustomContext) -> int:
    """Takes an item number typed at the item step; anything else gets the question again."""
    message = update.effective_message
    assert message is not None
    lang = await user_language(update, context)
    count = context.services.kb.notice.item_count
    number = item_number(message.text or "")
    if number is None:
        return await _ask(update, context, ITEM, note=ft(lang, "use_buttons_item", count=count))
    if _item_title(context, number) is None:
        note = ft(lang, "item_unknown", n=number, count=count)
        return await _ask(update, context, ITEM, note=note)
    draft = _draft(context)
    draft["item"] = number
    return await _ask(update, context, next_step(draft, ITEM))


async def choose_anonymous(update: Update, context: CustomContext) -> int:
    """Clears any contact details and shows the preview."""
    await _answer(update)
    draft = _draft(context)
    draft["contact_name"] = draft["contact_phone"] = None
    return await _ask(update, context, next_step(draft, CONTACT))


async def explain_contact(update: Update, context: CustomContext) -> int:
    """Explains how to give a name and/or phone, and waits for them."""
    await _answer(update)
    lang = await user_language(update, context)
    keyboard = [
        [_button(ft(lang, "btn_anonymous"), "fb:anon")],
        [_button(ft(lang, "btn_cancel"), "fb:cancel")],
    ]
    await _show(update, ft(lang, "contact_how"), InlineKeyboardMarkup(keyboard))
    return CONTACT


async def receive_contact(update: Update, context: CustomContext) -> int:
    """Stores a name and/or phone typed at the contact step and shows the preview."""
    message = update.effective_message
    assert message is not None
    parsed = parse_contact(message.text or "")
    if parsed is None:
        lang = await user_language(update, context)
        return await _ask(update, context, CONTACT, note=ft(lang, "contact_bad"), edit=False)
    draft = _draft(context)
    draft["contact_name"], draft["contact_phone"] = parsed
    return await _ask(update, context, next_step(draft, CONTACT), edit=False)


async def edit_menu(update: Update, context: CustomContext) -> int:
    """Asks which part of the draft to change."""
    await _answer(update)
    lang = await user_language(update, context)
    parts = ("kind", "text", "item", "contact")
    rows = [
        [_button(ft(lang, f"btn_edit_{p}"), f"fb:edit:{p}") for p in parts[:2]],
        [_button(ft(lang, f"btn_edit_{p}"), f"fb:edit:{p}") for p in parts[2:]],
        [_button(ft(lang, "btn_back_preview"), "fb:preview")],
    ]
    await _show(update, ft(lang, "edit_which"), InlineKeyboardMarkup(rows))
    return PREVIEW


async def edit_part(update: Update, context: CustomContext) -> int:
    """Asks the chosen step again; its answer returns to the preview."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    steps = {"kind": KIND, "text": TEXT, "item": ITEM, "contact": CONTACT}
    draft = _draft(context)
    draft["editing"] = True
    return await _ask(update, context, steps.get(query.data.rsplit(":", 1)[1], PREVIEW))


async def show_preview(update: Update, context: CustomContext) -> int:
    """Shows the preview again (from the edit menu)."""
    await _answer(update)
    return await _ask(update, context, PREVIEW)


async def confirm(update: Update, context: CustomContext) -> int:
    """Commits the opinion and its deliveries, then gives the reference and what happens next."""
    query = update.callback_query
    user, chat = update.effective_user, update.effective_chat
    assert query is not None and user is not None and chat is not None
    draft = _draft(context)
    lang = await user_language(update, context)
    if user.id in _submitting:
        await query.answer(ft(lang, "already_sending"))
        return PREVIEW
    await query.answer()
    if not draft["kind"] or not draft["text"]:
        return await _ask(update, context, KIND if not draft["kind"] else TEXT)
    problem = await _limit_problem(update, context, lang, draft["text"])
    if problem:  # the draft is kept: it can be sent tomorrow, or its text changed
        await _show(update, problem[1], None, edit=False)
        return END if problem[0] == "daily_limit" else PREVIEW
    _submitting.add(user.id)
    try:
        feedback = await _store_feedback(update, context, draft, lang)
    finally:
        _submitting.discard(user.id)
    if feedback is None:
        phone = esc(context.services.kb.notice.contact.phone)
        await _show(update, ft(lang, "save_failed", phone=phone), None, edit=False)
        return PREVIEW
    await _confirmed(update, context, feedback, lang)
    return END


async def _store_feedback(
    update: Update, context: CustomContext, draft: dict[str, Any], lang: str
) -> Feedback | None:
    """add_feedback in one transaction with its deliveries; None if the store failed."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    services = context.services
    new = NewFeedback(
        user_id=user.id,
        chat_id=chat.id,
        kind=draft["kind"],
        item=draft["item"],
        text=draft["text"],
        contact_name=draft["contact_name"],
        contact_phone=draft["contact_phone"],
        attachments=tuple(draft["attachments"]),
        language=lang,
    )
    rows = deliveries(services.settings, _item_title(context, draft["item"]))
    try:
        feedback = await services.store.add_feedback(new, rows)
        if not services.settings.smtp_configured:
            await services.store.set_feedback_state(feedback.reference, "stored")
    except Exception:
        logger.exception("storing feedback failed")
        return None
    logger.info("feedback %s stored (%d deliveries queued)", feedback.reference, len(rows))
    return feedback


async def _confirmed(update: Update, context: CustomContext, feedback: Feedback, lang: str) -> None:
    """Clears the draft, wakes the outbox and tells the citizen the reference."""
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    worker = context.services.extras.get(WORKER_KEY)
    if isinstance(worker, OutboxWorker):
        worker.poke()
    query = update.callback_query
    if query is not None:
        # Keep the preview as a record of what was sent, without its buttons.
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(reply_markup=None)
    settings, contact = context.services.settings, context.services.kb.notice.contact
    reply = ft(
        lang,
        "reply_contact" if feedback.contact_name or feedback.contact_phone else "reply_anonymous",
    )
    text = ft(
        lang,
        "confirmed" if settings.smtp_configured else "confirmed_stored",
        reference=esc(feedback.reference),
        email=esc(settings.feedback_email or contact.email),
        phone=esc(contact.phone),
        address=esc(contact.address),
        reply=reply,
    )
    await _show(update, text, None, edit=False)


async def cancel(update: Update, context: CustomContext) -> int:
    """Drops the draft and ends the form; nothing is sent."""
    await _answer(update)
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
        context.user_data.pop(RESTART_ITEM_KEY, None)
    lang = await user_language(update, context)
    await _show(update, ft(lang, "cancelled"), None)
    return END


async def timed_out(update: object, context: CustomContext) -> None:
    """Tells the citizen the idle form was paused with the draft kept, and how to resume."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    lang = await user_language(update, context)
    minutes = round(context.services.settings.feedback_timeout / 60)
    await update.effective_chat.send_message(
        ft(lang, "timeout", minutes=minutes), parse_mode=ParseMode.HTML
    )


async def reprompt(update: Update, context: CustomContext) -> int:
    """Answers anything unexpected inside the form by asking the current step again."""
    lang = await user_language(update, context)
    step = _current_step(context)
    if update.callback_query is not None:
        await update.callback_query.answer(ft(lang, "stale"))
    elif step == TEXT:  # e.g. a sticker: the text step wants words
        note = ft(lang, "need_text", min=MIN_TEXT, max=MAX_TEXT)
        await _show(update, note, None, edit=False)
        return TEXT
    return await _ask(update, context, step, note=ft(lang, "use_buttons"), edit=False)


# -- outside the form --------------------------------------------------------------------------


async def private_only(update: Update, context: CustomContext) -> None:
    """Asks users in groups to use a private chat (opinions may carry contact details)."""
    lang = await user_language(update, context)
    message = update.effective_message
    if message is not None:
        await message.reply_text(ft(lang, "private_only"), parse_mode=ParseMode.HTML)


async def stale_button(update: Update, context: CustomContext) -> None:
    """Answers a feedback button of a form that has ended, and removes its keyboard."""
    query = update.callback_query
    assert query is not None
    lang = await user_language(update, context)
    in_group = query.message is None or query.message.chat.type != ChatType.PRIVATE
    key = "private_only" if in_group and (query.data or "").startswith("fb:new") else "stale_alert"
    await query.answer(ft(lang, key), show_alert=True)
    if query.message is not None and query.message.chat.type == ChatType.PRIVATE:
        with contextlib.suppress(BadRequest):  # already without buttons, or too old to edit
            await query.edit_message_reply_markup(reply_markup=None)


async def my_feedback(update: Update, context: CustomContext) -> None:
    """Lists the citizen's own references with their state (private chats only)."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    lang = await user_language(update, context)
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text(ft(lang, "private_only"), parse_mode=ParseMode.HTML)
        return
    mine = (await context.services.store.list_feedback(user.id))[:MY_FEEDBACK_SHOWN]
    if not mine:
        await message.reply_text(ft(lang, "my_empty"), parse_mode=ParseMode.HTML)
        return
    lines = [ft(lang, "my_title", count=len(mine))]
    for f in mine:
        item = (f" · 第{f.item}项" if lang == "zh" else f" · item {f.item}") if f.item else ""
        lines.append(
            ft(
                lang,
                "my_line",
                reference=esc(f.reference),
                date=f"{shanghai_time(f.created_at):%Y-%m-%d}",
                kind=ft(lang, f"kind_{f.kind}") if f.kind in KINDS else esc(f.kind),
                item=item,
                state=ft(lang, f"state_{f.state}"),
                snippet=esc(short(f.text, SNIPPET)),
            )
        )
    await message.reply_text("\n\n".join(lines), parse_mode=ParseMode.HTML)


async def feedback_export(update: Update, context: CustomContext) -> None:
    """Sends staff all feedback as a CSV document; anyone else is refused (and logged)."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    lang = await user_language(update, context)
    if not is_staff(update, context):
        logger.warning("user %s was refused /feedback_export (not staff)", user.id)
        await message.reply_text(ft(lang, "staff_only"))
        return
    feedback = list(reversed(await context.services.store.list_feedback()))
    data, count = to_csv(feedback), len(feedback)
    name = f"feedback-{shanghai_time(datetime.now(UTC)):%Y%m%d-%H%M}.csv"
    await message.reply_document(
        InputFile(data, filename=name), caption=ft(lang, "export_caption", count=count)
    )


# -- delivery ------------------------------------------------------------------------------------


def _downloader(application: Application[Any, Any, Any, Any, Any, Any]) -> Any:
    """A function fetching a Telegram file's bytes; a file Telegram refuses is permanent."""

    async def download(file_id: str) -> bytes:
        try:
            file = await application.bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())
        except BadRequest as exc:  # e.g. "file is too big": retrying cannot help
            raise PermanentMailError(str(exc)) from exc

    return download


def _staff_sender(application: Application[Any, Any, Any, Any, Any, Any]) -> Any:
    """The outbox sender for "staff_copy" rows: the opinion, escaped, in the staff chat."""

    async def send(item: OutboxItem) -> None:
        services = application_services(application)
        reference = str(item.payload.get("reference") or item.feedback_reference)
        feedback = await services.store.get_feedback(reference)
        if feedback is None:
            raise PermanentError(f"no feedback with reference {reference!r}")
        text = staff_copy_text(feedback, item.payload.get("item_title"))
        try:
            await application.bot.send_message(
                int(item.payload["chat_id"]), text, parse_mode=ParseMode.HTML
            )
        except (Forbidden, BadRequest) as exc:  # the bot is not in that chat, or it is gone
            raise PermanentError(str(exc)) from exc

    return send


def _failure_reporter(application: Application[Any, Any, Any, Any, Any, Any]) -> Any:
    """Tells staff (ADMIN_CHAT_ID, else STAFF_CHAT_ID) about a delivery that gave up."""

    async def report(item: OutboxItem, error: str) -> None:
        settings = application_services(application).settings
        targets = [settings.admin_chat_id, settings.staff_chat_id]
        if item.kind == "staff_copy":  # the staff chat itself is what failed
            targets = [settings.admin_chat_id]
        chat_id = next((t for t in targets if t is not None), None)
        if chat_id is None:
            logger.error("no ADMIN_CHAT_ID/STAFF_CHAT_ID to report failed %s", item.dedupe_key)
            return
        what = "邮件" if item.kind == "email" else "工作群副本"
        text = (
            f"⚠️ 意见 {esc(item.feedback_reference or item.dedupe_key)} 的{what}投递失败"
            f"（已尝试 {item.attempts} 次），不再重试。\n原因：{esc(error)}\n"
            "意见已保存在机器人中，可用 /feedback_export 导出。"
        )
        await application.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)

    return report


def build_worker(application: Application[Any, Any, Any, Any, Any, Any]) -> OutboxWorker:
    """The outbox worker for feedback email and staff copies, from the settings."""
    services = application_services(application)
    settings = services.settings
    senders: dict[str, Any] = {"staff_copy": _staff_sender(application)}
    if settings.smtp_configured:  # without SMTP, email rows wait until it is configured
        config = SmtpConfig.from_settings(settings, services.kb.notice.contact.email)
        senders["email"] = MailSender(
            services.store,
            config,
            download=_downloader(application),
            item_title=lambda n: application_services(application).kb.item(n).title,
        )
    return OutboxWorker(
        services.store,
        senders,
        interval=settings.outbox_interval,
        max_attempts=settings.outbox_max_attempts,
        retry_base=settings.outbox_retry_base,
        retry_cap=settings.outbox_retry_cap,
        # Longer than one send can take (SMTP timeout, attachment downloads).
        lease=timedelta(seconds=settings.outbox_lease),
        on_failed=_failure_reporter(application),
        name="feedback-outbox",
    )


async def start_outbox(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Startup hook: build and start the worker (it first sends whatever is still queued)."""
    worker = build_worker(application)
    application_services(application).extras[WORKER_KEY] = worker
    worker.start()


async def stop_outbox(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Shutdown hook: stop the worker; unsent rows stay queued for the next start."""
    worker = application_services(application).extras.pop(WORKER_KEY, None)
    if isinstance(worker, OutboxWorker):
        await worker.stop()


# -- registration --------------------------------------------------------------------------------


def build_conversation(timeout: float | None) -> ConversationHandler[CustomContext]:
    """The persistent feedback form."""
    text = filters.TEXT & ~filters.COMMAND & _MESSAGE
    private = filters.ChatType.PRIVATE
    button = CallbackQueryHandler
    return ConversationHandler(
        entry_points=[
            CommandHandler("feedback", start_feedback, filters=private),
            button(start_feedback, pattern=r"^fb:new(:\d{1,3})?$"),
        ],
        states={
            DRAFT: [
                button(resume_draft, pattern=r"^fb:resume$"),
                button(restart_draft, pattern=r"^fb:restart$"),
            ],
            KIND: [button(choose_kind, pattern=r"^fb:kind:\w+$")],
            TEXT: [MessageHandler(text, receive_text), MessageHandler(_FILES, receive_file)],
            ITEM: [
                button(choose_item, pattern=r"^fb:item:\d{1,3}$"),
                MessageHandler(text, type_item),
            ],
            CONTACT: [
                button(choose_anonymous, pattern=r"^fb:anon$"),
                button(explain_contact, pattern=r"^fb:contact$"),
                MessageHandler(text, receive_contact),
            ],
            PREVIEW: [
                button(confirm, pattern=r"^fb:confirm$"),
                button(edit_menu, pattern=r"^fb:edit$"),
                button(edit_part, pattern=r"^fb:edit:\w+$"),
                button(show_preview, pattern=r"^fb:preview$"),
            ],
            ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            button(cancel, pattern=r"^fb:cancel$"),
            MessageHandler(_FILES, attach_later),
            button(reprompt, pattern=r"^fb:"),
            MessageHandler(~filters.COMMAND & _MESSAGE, reprompt),
        ],
        name="feedback",
        persistent=True,
        allow_reentry=True,
        conversation_timeout=timeout,
        # Buttons are tracked per chat and user, not per message: one form at a time.
        per_message=False,
    )


async def persist_form_step(update: object, context: CustomContext) -> None:
    """Writes a form step to the store at once, so that even a crash (SIGKILL) resumes it."""
    if not isinstance(update, Update):
        return
    query = update.callback_query
    in_form = context.user_data is not None and DRAFT_KEY in context.user_data
    touched_form = (query is not None and (query.data or "").startswith("fb:")) or (
        update.message is not None and (update.message.text or "").startswith("/cancel")
    )
    if in_form or touched_form:
        await write_through(update, context)


def _settings(application: Application[Any, Any, Any, Any, Any, Any]) -> Settings:
    """The settings if bot.py has set up the services already, else the defaults."""
    try:
        return application_services(application).settings
    except RuntimeError:
        return Settings()


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Adds the form, /myfeedback, /feedback_export, stale-button answers and the outbox."""
    import warnings

    with warnings.catch_warnings():
        # PTB warns that CallbackQueryHandlers are not tracked per message: intended here.
        warnings.filterwarnings("ignore", message=".*per_message.*")
        conversation = build_conversation(_settings(application).feedback_timeout or None)
    application.add_handler(conversation)
    application.add_handler(
        CommandHandler("feedback", private_only, filters=~filters.ChatType.PRIVATE)
    )
    application.add_handler(CommandHandler("myfeedback", my_feedback))
    application.add_handler(CommandHandler("feedback_export", feedback_export))
    application.add_handler(CallbackQueryHandler(stale_button, pattern=r"^fb:"))
    # PTB saves persistence data only every minute and at a clean shutdown; the form's steps
    # are written as they happen (the last group runs after the conversation has moved on).
    application.add_handler(TypeHandler(Update, persist_form_step), group=WRITE_THROUGH_GROUP)
    on_startup(application, start_outbox)
    on_shutdown(application, stop_outbox)
