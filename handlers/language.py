"""/lang: choose Chinese or English replies; the choice is kept in the store."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.common import CustomContext, edit_html, send_html, set_user_language
from handlers.texts import LANGUAGES, t

KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("中文", callback_data="lang:zh"),
            InlineKeyboardButton("English", callback_data="lang:en"),
        ]
    ]
)


async def choose(update: Update, context: CustomContext) -> None:
    """Switches directly with /lang en, or asks which language with two buttons."""
    if context.args and context.args[0].lower()[:2] in LANGUAGES:
        lang = context.args[0].lower()[:2]
        await set_user_language(update, context, lang)
        await send_html(update, context, t(lang, "lang_set"))
        return
    await send_html(update, context, t("zh", "lang_choose"), KEYBOARD)


async def chosen(update: Update, context: CustomContext) -> None:
    """Stores the language picked with a button and confirms in that language."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    lang = query.data.removeprefix("lang:")
    await set_user_language(update, context, lang)
    await edit_html(query, t(lang, "lang_set"))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/lang and its buttons."""
    application.add_handler(CommandHandler("lang", choose))
    application.add_handler(CallbackQueryHandler(chosen, pattern=r"^lang:(zh|en)$"))
