"""Staff only: /unanswered lists the questions the bot most often could not answer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.ext import Application, CommandHandler

from handlers import render
from handlers.common import CustomContext, is_staff, question_log, send_html, user_language
from handlers.texts import t

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 30
LIMIT = 20


def parse_days(args: list[str]) -> int:
    """The look-back window from '/unanswered 7' (1–365 days, default 30)."""
    if args and args[0].isdigit():
        return min(max(int(args[0]), 1), 365)
    return DEFAULT_DAYS


async def unanswered(update: Update, context: CustomContext) -> None:
    """Lists the most frequent recent unanswered questions, or refuses non-staff politely."""
    lang = await user_language(update, context)
    if not is_staff(update, context):
        user = update.effective_user
        logger.info("refused /unanswered to non-staff user %s", user.id if user else None)
        await send_html(update, context, t(lang, "staff_only"))
        return
    days = parse_days(context.args or [])
    since = datetime.now(UTC) - timedelta(days=days)
    await question_log(context.application).flush()  # the last few seconds' questions too
    questions = await context.services.store.top_unanswered(since, LIMIT)
    reply = render.unanswered(questions, days, lang)
    await send_html(update, context, reply.text, reply.markup)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/unanswered."""
    application.add_handler(CommandHandler("unanswered", unanswered))
