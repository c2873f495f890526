"""/contact and the `contact` button: the channels the notice publishes for opinions."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers import render
from handlers.common import CustomContext, send_html, user_language


async def contact(update: Update, context: CustomContext) -> None:
    """Sends the phone, post address and email, and how to send an opinion through the bot."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    lang = await user_language(update, context)
    reply = render.contact(context.services.kb, lang)
    await send_html(update, context, reply.text, reply.markup)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/contact and its button."""
    application.add_handler(CommandHandler("contact", contact))
    application.add_handler(CallbackQueryHandler(contact, pattern=r"^contact$"))
