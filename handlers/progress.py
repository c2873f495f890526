"""/progress and the `progress` button: counts by status overall and per area, with bars."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers import render
from handlers.common import CustomContext, send_html, user_language


async def progress(update: Update, context: CustomContext) -> None:
    """Sends the progress overview; its buttons open each area in /browse."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    lang = await user_language(update, context)
    reply = render.progress(context.services.kb, lang)
    await send_html(update, context, reply.text, reply.markup)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/progress and its button."""
    application.add_handler(CommandHandler("progress", progress))
    application.add_handler(CallbackQueryHandler(progress, pattern=r"^progress$"))
