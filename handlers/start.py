"""/start: the welcome naming the notice, with the main menu; deep links; and /help."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CommandHandler

from handlers import render
from handlers.common import CustomContext, find_deep_link, send_html, user_language

logger = logging.getLogger(__name__)


async def remember(context: CustomContext, user_id: int, chat_id: int) -> None:
    """Record the user and their chat in the store, once per chat per run of the bot."""
    known: set[tuple[int, int]] = context.services.extras.setdefault("known_chats", set())
    if (user_id, chat_id) not in known:
        await context.services.store.upsert_user(user_id, chat_id)
        known.add((user_id, chat_id))


async def start(update: Update, context: CustomContext) -> None:
    """Greets the user (or follows a deep link such as /start item_12) and offers the menu."""
    user, chat = update.effective_user, update.effective_chat
    if user is not None and chat is not None:
        # Remember who talked to us: alerts and the feedback flow need a chat to write to.
        await remember(context, user.id, chat.id)
    if context.args:
        found = find_deep_link(context.args[0])
        if found is not None:
            callback, rest = found
            await callback(update, context, rest)
            return
        logger.info("unknown /start payload %r", context.args[0][:64])
    lang = await user_language(update, context)
    reply = render.welcome(context.services.kb, lang)
    await send_html(update, context, reply.text, reply.markup)


async def help_command(update: Update, context: CustomContext) -> None:
    """Lists what the bot can do and the commands."""
    lang = await user_language(update, context)
    reply = render.help_text(context.services.kb, lang, context.bot.username or "bot")
    await send_html(update, context, reply.text, reply.markup)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/start and /help."""
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
