"""/browse: areas → a page of items → an item card, all in one message edited in place.

Callback data: `browse:open` (send the area list as a new message), `browse:areas` (edit back
to the area list), `browse:area:A:P` (page P of area A), `browse:item:N:P` (item N, remembering
page P for the back button). Out-of-range numbers are answered as expired buttons.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers import render
from handlers.common import CustomContext, edit_html, send_html, user_language
from handlers.texts import t

PATTERN = re.compile(r"^browse:(?:(open|areas)|area:(\d{1,3}):(\d{1,3})|item:(\d{1,4}):(\d{1,3}))$")


def page_for(kb: render.KnowledgeBase, data: str, lang: str) -> render.Reply | None:
    """The page a browse button leads to, or None when its numbers no longer exist."""
    match = PATTERN.match(data)
    if match is None:
        return None
    whole, area, area_page, item, item_page = match.groups()
    if whole:
        return render.browse_areas(kb, lang)
    if area is not None:
        if not 1 <= int(area) <= len(kb.notice.areas):
            return None
        return render.browse_area(kb, int(area), int(area_page), lang)
    if int(item) not in kb.notice.items:
        return None
    return render.browse_item(kb, int(item), int(item_page), lang)


async def browse(update: Update, context: CustomContext) -> None:
    """Sends the list of areas as a new message."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    lang = await user_language(update, context)
    reply = render.browse_areas(context.services.kb, lang)
    await send_html(update, context, reply.text, reply.markup)


async def navigate(update: Update, context: CustomContext) -> None:
    """Edits the browse message to the area list, an area's page or an item card."""
    query = update.callback_query
    assert query is not None and query.data is not None
    lang = await user_language(update, context)
    reply = page_for(context.services.kb, query.data, lang)
    if reply is None:
        await query.answer(t(lang, "expired"), show_alert=True)
        return
    await query.answer()
    await edit_html(query, reply.text, reply.markup)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/browse and its buttons."""
    application.add_handler(CommandHandler("browse", browse))
    application.add_handler(CallbackQueryHandler(browse, pattern=r"^browse:open$"))
    application.add_handler(CallbackQueryHandler(navigate, pattern=r"^browse:"))
