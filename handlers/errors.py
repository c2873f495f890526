"""The error handler: log every exception first, tell staff (ADMIN_CHAT_ID) in a short escaped
report, and give the user a short apology instead of silence."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import Application

from handlers.common import CustomContext, esc, telegram_language
from handlers.texts import t

logger = logging.getLogger(__name__)

REPORT_DETAIL = 600  # characters of the exception message shown to staff


def describe(update: object) -> str:
    """A short, non-identifying description of what was being handled."""
    if not isinstance(update, Update):
        return "no update (job or background task)"
    if update.callback_query is not None:
        return f"button {(update.callback_query.data or '')[:64]!r}"
    message = update.effective_message
    if message is not None and message.text is not None:
        return f"message of {len(message.text)} characters in a {message.chat.type} chat"
    return f"update {update.update_id}"


def report(error: BaseException, update: object) -> str:
    """The HTML report for staff: the exception type, its message and what was handled."""
    detail = str(error)
    if len(detail) > REPORT_DETAIL:
        detail = detail[:REPORT_DETAIL] + "…"
    return (
        f"⚠️ <b>{esc(type(error).__name__)}</b>: {esc(detail)}\n"
        f"while handling: {esc(describe(update))}\nSee the log for the traceback."
    )


def is_transient(error: BaseException) -> bool:
    """Network hiccups and users who blocked the bot; BadRequest (a NetworkError subclass in
    PTB) is a real bug and is reported."""
    if isinstance(error, Forbidden):
        return True
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


async def on_error(update: object, context: CustomContext) -> None:
    """Logs the exception, reports it to staff if configured, and apologises to the user."""
    error = context.error
    logger.error("exception while handling an update", exc_info=error)
    if error is None or is_transient(error):
        return  # network trouble or a user who blocked us: nobody to apologise to
    admin_chat = context.services.settings.admin_chat_id
    if admin_chat is not None:
        try:
            await context.bot.send_message(
                admin_chat, report(error, update), parse_mode=ParseMode.HTML
            )
        except Exception:  # the report must never raise out of the error handler
            logger.exception("could not send the error report to ADMIN_CHAT_ID")
    if isinstance(update, Update):
        await apologise(update, context)


async def apologise(update: Update, context: CustomContext) -> None:
    """A short apology in the user's language: a message in the chat, or (for a button on a
    message shared inline, which has no chat) an alert on the button."""
    lang = telegram_language(update)
    try:
        if update.effective_chat is not None and update.effective_message is not None:
            # Not an alert on the button: its query was usually answered before the failure.
            await context.bot.send_message(update.effective_chat.id, t(lang, "error_apology"))
        elif update.callback_query is not None:
            await update.callback_query.answer(t(lang, "error_apology"), show_alert=True)
    except Exception:
        logger.exception("could not send the apology")


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The application's error handler."""
    application.add_error_handler(on_error)
