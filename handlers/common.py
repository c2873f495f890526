"""What every handler module shares: the services, a typed context, language, staff checks.

Handlers reach shared services through `context.services` (a `CustomContext`), never through
untyped `bot_data` look-ups. Deep-link payloads of /start (`item_12`, `sub_12`) are dispatched
through a small registry so that each capability owns its own payload prefix.

Also here: the reply language of a user (`user_language`, `set_user_language`), sending HTML
replies that never exceed Telegram's 4096-character limit (`send_html`, `edit_html`,
`split_html`), and the filter for messages addressed to the bot in a group (`ADDRESSED`).
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ExtBot, filters

from services.question_log import QuestionLog
from settings import Settings

if TYPE_CHECKING:
    from knowledge import KnowledgeBase
    from store.base import Store


@dataclass
class Services:
    """Long-lived services. bot.py creates them before `register_all` (so `register` can read
    settings), opens the store in post_init, runs the startup hooks, and closes all in
    post_shutdown."""

    settings: Settings
    store: Store
    kb: KnowledgeBase  # replaced when staff publish a newer notice
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. the outbox worker


class CustomContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Context with typed access to the services."""

    @property
    def services(self) -> Services:
        return application_services(self.application)


DeepLink = Callable[[Update, CustomContext, str], Awaitable[None]]
_DEEP_LINKS: dict[str, DeepLink] = {}


def register_deep_link(prefix: str, callback: DeepLink) -> None:
    """Let `/start <prefix><rest>` call `callback(update, context, rest)`."""
    _DEEP_LINKS[prefix] = callback


def find_deep_link(payload: str) -> tuple[DeepLink, str] | None:
    """The callback registered for this /start payload, and the rest of the payload."""
    for prefix, callback in _DEEP_LINKS.items():
        if payload.startswith(prefix):
            return callback, payload[len(prefix) :]
    return None


def is_staff(update: Update, context: CustomContext) -> bool:
    """Whether the update's sender is configured as staff (ADMIN_IDS)."""
    user = update.effective_user
    return user is not None and user.id in context.services.settings.admin_ids


def esc(text: object) -> str:
    """Escape any user-supplied or notice text for parse_mode=HTML."""
    return html.escape(str(text), quote=False)


def application_services(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The services from an Application (for jobs and workers outside a callback).

    bot.py also keeps them as the application's `services` attribute, because a persistence
    may replace `bot_data` wholesale when it loads."""
    services = application.bot_data.get("services")
    if not isinstance(services, Services):
        services = getattr(application, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError("services are not set up: build the application with bot.py")
    return services


Hook = Callable[[Application[Any, Any, Any, Any, Any, Any]], Awaitable[None]]


def on_startup(application: Application[Any, Any, Any, Any, Any, Any], hook: Hook) -> None:
    """Run `hook(application)` in post_init, after the store is open (e.g. start a worker)."""
    startup_hooks(application).append(hook)


def on_shutdown(application: Application[Any, Any, Any, Any, Any, Any], hook: Hook) -> None:
    """Run `hook(application)` in post_shutdown, before the store is closed (e.g. stop a worker)."""
    shutdown_hooks(application).append(hook)


def startup_hooks(application: Application[Any, Any, Any, Any, Any, Any]) -> list[Hook]:
    """The hooks registered with `on_startup`, in order (kept with the services, which
    survive a persistence replacing bot_data)."""
    hooks: list[Hook] = application_services(application).extras.setdefault("startup_hooks", [])
    return hooks


def shutdown_hooks(application: Application[Any, Any, Any, Any, Any, Any]) -> list[Hook]:
    """The hooks registered with `on_shutdown`, in order."""
    hooks: list[Hook] = application_services(application).extras.setdefault("shutdown_hooks", [])
    return hooks


# -- work the user need not wait for -------------------------------------------------------


def in_background(
    application: Application[Any, Any, Any, Any, Any, Any], coroutine: Awaitable[Any]
) -> None:
    """Run `coroutine` without making the user's reply wait (e.g. statistics writes).

    The task is tracked by PTB (awaited when the application stops, errors go to the error
    handler) and by `settle`, which tests and shutdown use to wait for it."""
    pending: set[asyncio.Task[Any]] = application_services(application).extras.setdefault(
        "pending", set()
    )
    task = application.create_task(coroutine)
    pending.add(task)
    task.add_done_callback(pending.discard)


def question_log(application: Application[Any, Any, Any, Any, Any, Any]) -> QuestionLog:
    """The application's log of unanswered questions (made on first use, flushed at shutdown
    by the ask capability and before /unanswered reads the store)."""
    services = application_services(application)
    log = services.extras.get("question_log")
    if log is None:
        log = services.extras["question_log"] = QuestionLog(services.store)
    assert isinstance(log, QuestionLog)
    return log


async def settle(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Wait until the work started with `in_background` has finished."""
    pending: set[asyncio.Task[Any]] = application_services(application).extras.get("pending", set())
    while pending:
        await asyncio.gather(*list(pending), return_exceptions=True)


# -- language ---------------------------------------------------------------------------------

LANGUAGE_CACHE_SIZE = 10_000  # users whose choice is kept in memory (saves a store read per update)
# How long a cached choice is trusted. /lang on THIS instance updates the cache at once; a choice
# made through another instance sharing the store is picked up here within this many seconds.
LANGUAGE_CACHE_TTL = 60.0


def telegram_language(update: Update) -> str:
    """The language Telegram reports for the sender: 'en' for English clients, else 'zh'."""
    user = update.effective_user
    code = (user.language_code or "") if user else ""
    return "en" if code.lower().startswith("en") else "zh"


async def chosen_language(update: Update, context: CustomContext) -> str | None:
    """The language the user chose with /lang, or None if they never chose."""
    user = update.effective_user
    if user is None:
        return None
    cache: dict[int, tuple[str | None, float]] = context.services.extras.setdefault(
        "languages", {}
    )
    now = time.monotonic()
    cached = cache.get(user.id)
    if cached is not None and cached[1] > now:
        return cached[0]
    stored = await context.services.store.get_user(user.id)
    language = stored.language if stored else None
    if len(cache) >= LANGUAGE_CACHE_SIZE:
        # Bounded: drop the expired entries, or everything if none has expired yet; entries
        # are refilled from the store on demand.
        live = {k: v for k, v in cache.items() if v[1] > now}
        cache.clear()
        if len(live) < LANGUAGE_CACHE_SIZE // 2:
            cache.update(live)
    cache[user.id] = (language, now + LANGUAGE_CACHE_TTL)
    return language


async def user_language(update: Update, context: CustomContext) -> str:
    """The reply language: the user's /lang choice, else their Telegram client's language."""
    return await chosen_language(update, context) or telegram_language(update)


async def set_user_language(update: Update, context: CustomContext, language: str) -> None:
    """Remember the user's language choice in the store (and the in-memory cache)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None:
        return
    store = context.services.store
    await store.upsert_user(user.id, chat.id if chat else user.id)
    await store.set_language(user.id, language)
    context.services.extras.setdefault("languages", {})[user.id] = (
        language,
        time.monotonic() + LANGUAGE_CACHE_TTL,
    )


# -- sending within Telegram's limits -------------------------------------------------------


def _cut(line: str, limit: int) -> str:
    """Cut one over-long line without leaving half an entity (&amp;) or half a tag."""
    cut = line[: limit - 1]
    for opener, closer in (("&", ";"), ("<", ">")):
        start = cut.rfind(opener)
        if start != -1 and cut.find(closer, start) == -1:
            cut = cut[:start]
    return cut + "…"


def split_html(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split a reply into messages of at most `limit` characters at line boundaries.

    Renderers open and close their tags on one line, so a line boundary is always a safe place
    to split; a single line longer than the limit is cut (and marked with …)."""
    chunks: list[str] = []
    current = ""
    for raw in text.split("\n"):
        line = raw if len(raw) <= limit else _cut(raw, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = line
    if current or not chunks:
        chunks.append(current)
    return chunks


async def _call(bot: ExtBot[None], method: str, data: dict[str, Any]) -> None:
    """One Bot API call whose answer the caller does not need.

    `send_message` and `edit_message_text` turn Telegram's answer into a `Message`, which for a
    reply with a keyboard costs more than building, sending and checking the call itself (about
    100 µs of the 150 µs, measured with bench/bench_dispatch.py). Replies never look at that
    Message, so they go through `Bot._post`, the step those methods share: defaults, the rate
    limiter and Telegram's errors (BadRequest, Forbidden, RetryAfter) apply as before. Not for
    bots with arbitrary callback data, whose keyboards `send_message` would rewrite."""
    await bot._post(method, data)


async def send_html(
    update: Update,
    context: CustomContext,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    quote: bool = False,
) -> None:
    """Send an HTML reply to the update's chat, split if too long; the keyboard goes on the last
    part. `quote` replies to the user's message (used in groups, where context matters)."""
    chat = update.effective_chat
    if chat is None:
        return
    source = update.effective_message if quote else None
    chunks = split_html(text)
    for i, chunk in enumerate(chunks):
        data: dict[str, Any] = {"chat_id": chat.id, "text": chunk, "parse_mode": ParseMode.HTML}
        if markup is not None and i == len(chunks) - 1:
            data["reply_markup"] = markup
        if source is not None and i == 0:
            data["reply_parameters"] = ReplyParameters(
                source.message_id, allow_sending_without_reply=True
            )
        await _call(context.bot, "sendMessage", data)


async def edit_html(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the text and keyboard of the message a button belongs to (trimmed to one
    message); pressing the same button twice is not an error."""
    data: dict[str, Any] = {"text": split_html(text)[0], "parse_mode": ParseMode.HTML}
    if query.inline_message_id is not None:
        data["inline_message_id"] = query.inline_message_id
    elif query.message is not None:  # also a message too old to be read: Telegram decides
        data["chat_id"] = query.message.chat.id
        data["message_id"] = query.message.message_id
    else:
        return
    if markup is not None:
        data["reply_markup"] = markup
    try:
        await _call(query.get_bot(), "editMessageText", data)  # type: ignore[arg-type]
    except BadRequest as exc:
        # Telegram refuses an edit that changes nothing; for the user that is success.
        if "not modified" not in exc.message.lower():
            raise


# -- groups ------------------------------------------------------------------------------------


class _Addressed(filters.MessageFilter):
    """Private chats, and in groups only messages that mention the bot or reply to it."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        if message.chat.type == ChatType.PRIVATE:
            return True
        bot = message.get_bot()
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
            return True
        mention = f"@{bot.username}".lower() if bot.username else None
        return mention is not None and any(
            text.lower() == mention
            for text in message.parse_entities([MessageEntity.MENTION]).values()
        )


ADDRESSED = _Addressed(name="ADDRESSED")


def strip_mention(text: str, bot_username: str | None) -> str:
    """The message text without the '@bot' mention that addressed it in a group."""
    if not bot_username:
        return text.strip()
    mention = f"@{bot_username}"
    start = text.lower().find(mention.lower())
    if start == -1:
        return text.strip()
    return (text[:start] + text[start + len(mention) :]).strip()
