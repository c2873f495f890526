"""Any button nobody else handles: its data is old or forged, so say 'this button has expired'.

Registered last. Buttons of capabilities that have not landed yet also end here, which is what
the user should see for them until they do.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from handlers.common import CustomContext, user_language
from handlers.texts import t

logger = logging.getLogger(__name__)


async def expired(update: Update, context: CustomContext) -> None:
    """Answers an unknown button with an alert instead of leaving the client spinning."""
    query = update.callback_query
    assert query is not None
    logger.info("stale or unknown callback data %r", (query.data or "")[:64])
    lang = await user_language(update, context)
    await query.answer(t(lang, "expired"), show_alert=True)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The catch-all for callback queries."""
    application.add_handler(CallbackQueryHandler(expired))
