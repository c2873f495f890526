"""Inline mode: `@bot 污水` in any chat offers item cards to share; an empty query offers a few
items people ask about most."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import Application, InlineQueryHandler

from handlers import render
from handlers.common import CustomContext, user_language
from handlers.texts import t

MAX_RESULTS = 10
# Shown for an empty query: the items with the most concrete public impact (wastewater,
# power, housing, services, debt), in the notice's numbering.
POPULAR = (12, 13, 23, 20, 15, 17)
CACHE_SECONDS = 300


def results_for(
    kb: render.KnowledgeBase, query: str, lang: str, bot_username: str | None
) -> list[InlineQueryResultArticle]:
    """Article results for a query: the search hits (or popular items), each an item card."""
    numbers = list(kb.search(query, limit=MAX_RESULTS)) if query.strip() else list(POPULAR)
    results = []
    for n in numbers:
        if n not in kb.notice.items:
            continue
        item = kb.item(n)
        markup = None
        if bot_username:
            # Callback buttons would come back to us from any chat; a deep link is simpler.
            url = f"https://t.me/{bot_username}?start=item_{n}"
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(t(lang, "btn_open_in_bot"), url=url)]]
            )
        results.append(
            InlineQueryResultArticle(
                id=f"item-{n}-{lang}",
                title=f"{n}. {render.item_title(kb, n, lang)}",
                description=t(
                    lang,
                    "inline_description",
                    badge=render.badge(item.status, lang),
                    area=kb.area_short(item.area, lang),
                ),
                input_message_content=InputTextMessageContent(
                    render.item_card(kb, n, lang).text[:4096], parse_mode=ParseMode.HTML
                ),
                reply_markup=markup,
            )
        )
    return results


async def inline_query(update: Update, context: CustomContext) -> None:
    """Answers an inline query with matching item cards."""
    query = update.inline_query
    assert query is not None
    lang = await user_language(update, context)
    results = results_for(context.services.kb, query.query[:200], lang, context.bot.username)
    await query.answer(results, cache_time=CACHE_SECONDS, is_personal=True)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Inline queries."""
    application.add_handler(InlineQueryHandler(inline_query))
