"""Free text → the matcher's decision → an item card, 'did you mean', channels, facts or 'not
covered'.

Questions the bot could not answer (none / ambiguous) are recorded for staff (/unanswered).
The reply language is the user's /lang choice, else the language the question is written in.
Edited questions are answered again (a user who edits usually fixed a typo), as a new reply to
the edited message. In groups the bot answers only when mentioned or replied to.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from handlers import render
from handlers.common import (
    ADDRESSED,
    CustomContext,
    chosen_language,
    in_background,
    on_shutdown,
    question_log,
    send_html,
    strip_mention,
    telegram_language,
)
from handlers.texts import t

logger = logging.getLogger(__name__)

MAX_QUESTION = 500  # characters given to the matcher; longer text is truncated, not refused
UNANSWERED = frozenset({"none", "ambiguous"})


async def ask(update: Update, context: CustomContext) -> None:
    """Answers a question in words with whatever the notice says about it."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    question = strip_mention(message.text, context.bot.username)[:MAX_QUESTION]
    if not question:
        return
    services = context.services
    decision = services.kb.ask(question)
    lang = await chosen_language(update, context) or decision.lang
    if decision.kind in UNANSWERED:
        # A statistic for staff: the citizen's answer does not wait for the write, and a burst
        # of questions is written in one transaction.
        log = question_log(context.application)
        if log.add(question, lang, decision.kind, decision.score):
            in_background(context.application, log.flush_soon())
    reply = render.decision(services.kb, decision, lang)
    text = reply.text
    if update.edited_message is not None:
        text = f"<i>{t(lang, 'edited')}</i>\n{text}"
    in_group = message.chat.type != "private"
    await send_html(
        update, context, text, reply.markup, quote=in_group or bool(update.edited_message)
    )


async def _flush_log(application: Application) -> None:  # type: ignore[type-arg]
    await question_log(application).flush()


async def unknown_command(update: Update, context: CustomContext) -> None:
    """Answers a command no capability knows with a pointer to /help."""
    lang = await chosen_language(update, context) or telegram_language(update)
    await send_html(update, context, t(lang, "unknown_command"))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Free text in private chats and text addressed to the bot in groups; unknown commands.
    The log of unanswered questions is flushed at shutdown."""
    on_shutdown(application, _flush_log)
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGES & filters.TEXT & ~filters.COMMAND & ADDRESSED, ask
        )
    )
    # Last of the message handlers: every known command has been tried by now.
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.COMMAND & filters.ChatType.PRIVATE, unknown_command
        )
    )
