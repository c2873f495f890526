"""Photos, stickers, voice, locations, documents … in a private chat get a polite hint.

Registered after the feedback conversation and the staff publish handler, so attachments they
expect (an opinion's photos, a notice as .txt) reach them first; this is the catch-all. In
groups the bot stays quiet: pictures there are rarely meant for it.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from handlers.common import CustomContext, send_html, user_language
from handlers.texts import t

# Anything in a private chat that is not text (commands and words are handled elsewhere);
# service messages such as pinned or new members never reach private chats.
NON_TEXT = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.TEXT


async def hint(update: Update, context: CustomContext) -> None:
    """Tells the user the bot reads words, and how to attach files to an opinion."""
    lang = await user_language(update, context)
    await send_html(update, context, t(lang, "nontext"))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The non-text catch-all."""
    application.add_handler(MessageHandler(NON_TEXT, hint))
