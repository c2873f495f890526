"""Item cards: /item N, the `item:N` buttons under answers, and the deep link /start item_12."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers import render
from handlers.common import CustomContext, register_deep_link, send_html, user_language
from handlers.texts import t


def parse_number(text: str) -> int | None:
    """The item number in '12', '第12项', '#12' or 'item 12', or None."""
    digits = "".join(ch for ch in text.translate(_FULLWIDTH_DIGITS) if ch.isdigit())
    if not digits or len(digits) > 4:
        return None
    return int(digits)


_FULLWIDTH_DIGITS = {0xFF10 + i: 0x30 + i for i in range(10)}


async def show_item(update: Update, context: CustomContext, raw: str) -> None:
    """Sends item `raw`'s card, or says which numbers exist."""
    kb = context.services.kb
    lang = await user_language(update, context)
    n = parse_number(raw)
    if n is None:
        await send_html(update, context, t(lang, "item_usage", count=kb.notice.item_count))
    elif n not in kb.notice.items:
        await send_html(update, context, t(lang, "item_not_found", n=n, count=kb.notice.item_count))
    else:
        reply = render.item_card(kb, n, lang)
        # Once newer notices are published: the item's status in each of them (issue 5).
        from handlers.publish import timeline_text

        timeline = await timeline_text(context, n, lang)
        await send_html(update, context, reply.text + timeline, reply.markup)


async def item_command(update: Update, context: CustomContext) -> None:
    """Shows the card of the item numbered after /item."""
    await show_item(update, context, " ".join(context.args or []))


async def item_button(update: Update, context: CustomContext) -> None:
    """Sends the card of the item whose button was pressed (as a new message)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    await show_item(update, context, query.data.removeprefix("item:"))


async def item_link(update: Update, context: CustomContext, rest: str) -> None:
    """Opens the item of a deep link /start item_12."""
    await show_item(update, context, rest)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/item, the item:N buttons and the item_ deep link."""
    application.add_handler(CommandHandler("item", item_command))
    application.add_handler(CallbackQueryHandler(item_button, pattern=r"^item:\d{1,4}$"))
    register_deep_link("item_", item_link)
