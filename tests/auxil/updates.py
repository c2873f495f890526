"""Factories for real `Update`s, built as Bot API JSON and parsed with `Update.de_json`.

Going through JSON exercises the same parsing as a real update. Every factory takes the bot
(`application.bot`) last-but-keyword so the objects can make API calls (reply_text, answer…).
Commands get their `bot_command` entity, which CommandHandler needs (see
`make_command_message` in python-telegram-bot's own tests).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Bot, Update

from console import BOT_USER

USER_ID = 4242
GROUP_ID = -100777
_ids = itertools.count(1)


def user(user_id: int = USER_ID, language_code: str | None = "zh", **extra: Any) -> dict[str, Any]:
    """A Telegram user (a citizen by default)."""
    data = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", **extra}
    if language_code is not None:
        data["language_code"] = language_code
    return data


def chat(chat_id: int = USER_ID, chat_type: str = "private") -> dict[str, Any]:
    """A chat: private (id = the user's) or a group."""
    data: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        data["first_name"] = f"User{chat_id}"
    else:
        data["title"] = "Test group"
    return data


def message(
    text: str | None = "hello",
    *,
    from_user: dict[str, Any] | None = None,
    in_chat: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A message dict; `fields` add e.g. photo=[…], sticker={…}, reply_to_message={…}."""
    sender = from_user or user()
    data: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": in_chat or chat(sender["id"]),
        "from": sender,
        **fields,
    }
    if text is not None:
        data["text"] = text
    if entities:
        data["entities"] = entities
    return data


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity of a text starting with /command."""
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": len(command)}]


def mention_entities(text: str, username: str = BOT_USER["username"]) -> list[dict[str, Any]]:
    """The mention entity of @username inside `text` (offsets in UTF-16 units, as Telegram)."""
    mention = f"@{username}"
    start = text.index(mention)
    offset = len(text[:start].encode("utf-16-le")) // 2
    return [{"type": "mention", "offset": offset, "length": len(mention)}]


def make_update(bot: Bot, **payload: Any) -> Update:
    """An Update with a fresh update_id around `payload` (e.g. message={…})."""
    update = Update.de_json({"update_id": next(_ids), **payload}, bot)
    assert update is not None
    return update


def make_message_update(
    bot: Bot, text: str | None = "hello", *, edited: bool = False, **kw: Any
) -> Update:
    """A (possibly edited) text message; commands get their bot_command entity."""
    if text is not None and text.startswith("/") and "entities" not in kw:
        kw["entities"] = command_entities(text)
    data = message(text, **kw)
    if edited:
        data["edit_date"] = int(time.time())
        return make_update(bot, edited_message=data)
    return make_update(bot, message=data)


def make_command_update(bot: Bot, text: str, **kw: Any) -> Update:
    """A /command message (alias of make_message_update for readability)."""
    assert text.startswith("/")
    return make_message_update(bot, text, **kw)


def make_callback_update(
    bot: Bot,
    data: str,
    *,
    from_user: dict[str, Any] | None = None,
    in_chat: dict[str, Any] | None = None,
    message_text: str = "previous bot message",
) -> Update:
    """A button press on a message the bot sent earlier."""
    sender = from_user or user()
    bot_message = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": in_chat or chat(sender["id"]),
        "from": BOT_USER,
        "text": message_text,
    }
    query = {
        "id": str(next(_ids)),
        "from": sender,
        "chat_instance": "test",
        "data": data,
        "message": bot_message,
    }
    return make_update(bot, callback_query=query)


def make_inline_update(bot: Bot, query: str, *, from_user: dict[str, Any] | None = None) -> Update:
    """An inline query (`@bot query` typed in any chat)."""
    inline = {"id": str(next(_ids)), "from": from_user or user(), "query": query, "offset": ""}
    return make_update(bot, inline_query=inline)
