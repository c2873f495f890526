"""Subscriptions to rectification progress: what a citizen follows and how often they hear.

/subscribe offers all items, one area or one item (also `/subscribe 12`, the "subscribe"
button on item cards `sub:item:N`, and the deep link `/start sub_12`). /subscriptions lists
them, each with a remove button, and switches between immediate alerts and a weekly digest.
/unsubscribe removes all after a confirmation. Alerts carry `unsub:ID` (one tap removes that
subscription) and `sub:list` (manage all).
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.common import (
    CustomContext,
    edit_html,
    esc,
    register_deep_link,
    send_html,
    telegram_language,
    user_language,
)
from knowledge import KnowledgeBase
from knowledge.alerts import scope_label
from knowledge.publish import LANGUAGE_NS
from store.base import Subscription

logger = logging.getLogger(__name__)

ITEMS_PER_ROW = 6
WEEKDAYS = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "menu": "<b>订阅整改进展</b>\n有新的整改通报时,我会告诉你你关注的事项有什么变化。你想关注:",
        "all": "🔔 全部事项",
        "by_area": "📂 某个方面",
        "by_item": "📌 某一项",
        "pick_area": "选择要关注的方面:",
        "pick_area_for_item": "先选择方面,再选择事项:",
        "pick_item": "<b>({numeral}){area}</b>\n{lines}\n\n点编号订阅该项:",
        "back": "« 返回",
        "done": "✅ 已订阅:{what}。\n有新的通报时,我会发消息告诉你变化(状态、最新表述和通报日期)。",
        "already": "你已经订阅了:{what}。",
        "covered": "(你已订阅全部事项,这一项本来就包含在内。)",
        "manage_hint": "管理订阅:/subscriptions",
        "no_item": "通报里没有第 {n} 项(共 {count} 项)。",
        "usage": "用法:/subscribe 选择范围;/subscribe 12 订阅第 12 项;/subscribe all 订阅全部。",
        "list_head": "<b>你的订阅</b>",
        "list_empty": "你还没有订阅任何事项。",
        "freq": "提醒方式:{how}",
        "immediate": "有新通报时立即通知",
        "weekly": "每周汇总({day} {time},北京时间)",
        "btn_immediate": "立即通知",
        "btn_weekly": "每周汇总",
        "btn_add": "➕ 添加订阅",
        "btn_remove": "❌ {what}",
        "removed": "已取消订阅:{what}",
        "gone": "这个订阅已经取消了。",
        "confirm_all": "确定取消全部 {count} 个订阅吗?",
        "none_to_remove": "你没有订阅。",
        "btn_yes": "是的,全部取消",
        "btn_no": "不,保留",
        "removed_all": "已取消全部订阅。你不会再收到进展提醒。",
        "kept": "好的,订阅保留不变。",
        "freq_set": "提醒方式已改为:{how}",
    },
    "en": {
        "menu": "<b>Follow rectification progress</b>\nWhen a newer notice is published I will "
        "tell you what changed in what you follow. Follow:",
        "all": "🔔 All items",
        "by_area": "📂 One area",
        "by_item": "📌 One item",
        "pick_area": "Choose the area to follow:",
        "pick_area_for_item": "Choose the area, then the item:",
        "pick_item": "<b>({numeral}) {area}</b>\n{lines}\n\nTap a number to follow that item:",
        "back": "« Back",
        "done": "✅ Following: {what}.\nWhen a newer notice is published I will message you "
        "the changes (status, the notice's new words and its date).",
        "already": "You already follow: {what}.",
        "covered": "(You follow all items, so this one was already included.)",
        "manage_hint": "Manage your alerts: /subscriptions",
        "no_item": "The notice has no item {n} (it has {count}).",
        "usage": "Usage: /subscribe to choose; /subscribe 12 for item 12; /subscribe all.",
        "list_head": "<b>Your alerts</b>",
        "list_empty": "You do not follow anything yet.",
        "freq": "How often: {how}",
        "immediate": "as soon as a newer notice is published",
        "weekly": "weekly digest ({day} {time}, Beijing time)",
        "btn_immediate": "Immediately",
        "btn_weekly": "Weekly digest",
        "btn_add": "➕ Follow more",
        "btn_remove": "❌ {what}",
        "removed": "Unsubscribed: {what}",
        "gone": "This subscription was already removed.",
        "confirm_all": "Remove all {count} of your subscriptions?",
        "none_to_remove": "You have no subscriptions.",
        "btn_yes": "Yes, remove all",
        "btn_no": "No, keep them",
        "removed_all": "All subscriptions removed. You will get no more alerts.",
        "kept": "OK, your subscriptions stay as they are.",
        "freq_set": "Alerts now: {how}",
    },
}


def tr(lang: str, key: str, **values: object) -> str:
    """A fixed string in the user's language (Chinese when unknown)."""
    return TEXTS.get(lang, TEXTS["zh"])[key].format(**values)


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def describe(sub: Subscription | tuple[str, int | None], kb: KnowledgeBase, lang: str) -> str:
    """全部事项 / 第2方面 … / 第12项 … with the area's or item's title (escaped)."""
    scope, target = (sub.scope, sub.target) if isinstance(sub, Subscription) else sub
    label = scope_label(scope, target, lang)
    notice = kb.notice
    if scope == "item" and target is not None and target in notice.items:
        title = kb.en_title(target) if lang == "en" else notice.items[target].title
        return f"{label} {esc(title)}"
    if scope == "area" and target is not None and 0 < target <= len(notice.areas):
        return f"{label} {esc(kb.area_title(target, lang))}"
    return label


def menu_markup(lang: str) -> InlineKeyboardMarkup:
    """All / one area / one item."""
    return InlineKeyboardMarkup(
        [
            [_button(tr(lang, "all"), "sub:all")],
            [_button(tr(lang, "by_area"), "sub:areas"), _button(tr(lang, "by_item"), "sub:pick")],
        ]
    )


def areas_markup(kb: KnowledgeBase, lang: str, prefix: str) -> InlineKeyboardMarkup:
    """One button per area: `sub:area:A` to follow it, `sub:pick:A` to choose an item in it."""
    notice = kb.notice
    rows = [
        [_button(f"({a.numeral}) {kb.area_short(a.number, lang)} · {len(a.items)}",
                 f"{prefix}:{a.number}")]
        for a in notice.areas
    ]
    rows.append([_button(tr(lang, "back"), "sub:menu")])
    return InlineKeyboardMarkup(rows)


def items_page(kb: KnowledgeBase, area: int, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """The titles of one area's items and a grid of number buttons `sub:item:N`."""
    notice = kb.notice
    a = notice.areas[area - 1]
    lines = "\n".join(
        f"{n}. {esc(kb.en_title(n) if lang == 'en' else notice.items[n].title)}"
        for n in a.items
    )
    title = esc(kb.area_title(area, lang))
    text = tr(lang, "pick_item", numeral=a.numeral, area=title, lines=lines)
    numbers = [_button(str(n), f"sub:item:{n}") for n in a.items]
    rows = [numbers[i : i + ITEMS_PER_ROW] for i in range(0, len(numbers), ITEMS_PER_ROW)]
    rows.append([_button(tr(lang, "back"), "sub:pick")])
    return text, InlineKeyboardMarkup(rows)


def list_view(
    subs: list[Subscription], frequency: str, kb: KnowledgeBase, lang: str, weekday: int, at: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The /subscriptions text and keyboard: one remove button each, frequency, add more."""
    if not subs:
        add = InlineKeyboardMarkup([[_button(tr(lang, "btn_add"), "sub:menu")]])
        return tr(lang, "list_empty"), add
    lines = [tr(lang, "list_head")]
    lines += [f"• {describe(s, kb, lang)}" for s in subs]
    how = (
        tr(lang, "weekly", day=WEEKDAYS.get(lang, WEEKDAYS["zh"])[weekday % 7], time=at)
        if frequency == "weekly"
        else tr(lang, "immediate")
    )
    lines += ["", tr(lang, "freq", how=how)]
    rows = [
        [_button(tr(lang, "btn_remove", what=scope_label(s.scope, s.target, lang)),
                 f"sub:rm:{s.id}")]
        for s in subs
    ]
    mark = {"immediate": "", "weekly": ""} | {frequency: "✅ "}
    rows.append(
        [
            _button(mark["immediate"] + tr(lang, "btn_immediate"), "sub:freq:immediate"),
            _button(mark["weekly"] + tr(lang, "btn_weekly"), "sub:freq:weekly"),
        ]
    )
    rows.append([_button(tr(lang, "btn_add"), "sub:menu")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def parse_scope(args: list[str]) -> tuple[str, int | None] | None:
    """('all', None), ('item', 12) or ('area', 2) from /subscribe arguments, else None."""
    words = " ".join(args).strip().lower().replace("第", " ").replace("项", " ").split()
    if not words:
        return None
    if words[0] in {"all", "全部", "所有"}:
        return ("all", None)
    if words[0] in {"area", "方面", "领域"} and len(words) == 2 and words[1].isdigit():
        return ("area", int(words[1]))
    if len(words) == 1 and words[0].isdigit():
        return ("item", int(words[0]))
    return None


# -- callbacks -----------------------------------------------------------------------------------


async def subscribe_to(
    update: Update, context: CustomContext, scope: str, target: int | None
) -> None:
    """Records the subscription (if the target exists) and confirms it."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    lang = await user_language(update, context)
    kb, store = context.services.kb, context.services.store
    if scope == "item" and target not in kb.notice.items:
        await send_html(update, context, tr(lang, "no_item", n=target, count=kb.notice.item_count))
        return
    if scope == "area" and not (target and 0 < target <= len(kb.notice.areas)):
        await send_html(update, context, tr(lang, "usage"))
        return
    await store.upsert_user(user.id, chat.id)
    # Alerts are written later, without an update: remember the language Telegram reports.
    await store.kv_set(LANGUAGE_NS, str(user.id), telegram_language(update))
    existing = await store.list_subscriptions(user.id)
    what = describe((scope, target), kb, lang)
    if any(s.scope == scope and s.target == target for s in existing):
        text = tr(lang, "already", what=what)
    else:
        await store.add_subscription(user.id, chat.id, scope, target)  # type: ignore[arg-type]
        text = tr(lang, "done", what=what)
        if scope != "all" and any(s.scope == "all" for s in existing):
            text += "\n" + tr(lang, "covered")
    await send_html(update, context, f"{text}\n\n{tr(lang, 'manage_hint')}")


async def subscribe_command(update: Update, context: CustomContext) -> None:
    """Subscribes at once to what /subscribe names, or shows the menu: all, area, item."""
    args = context.args or []
    lang = await user_language(update, context)
    if not args:
        await send_html(update, context, tr(lang, "menu"), menu_markup(lang))
        return
    scope = parse_scope(args)
    if scope is None:
        await send_html(update, context, tr(lang, "usage"), menu_markup(lang))
        return
    await subscribe_to(update, context, *scope)


async def subscribe_link(update: Update, context: CustomContext, rest: str) -> None:
    """Follows the deep link /start sub_12 (or sub_all, sub_area_2)."""
    scope = parse_scope(rest.replace("_", " ").split())
    if scope is None:
        lang = await user_language(update, context)
        await send_html(update, context, tr(lang, "menu"), menu_markup(lang))
        return
    await subscribe_to(update, context, *scope)


async def subscribe_button(update: Update, context: CustomContext) -> None:
    """Subscribes to what a `sub:all`, `sub:area:A` or `sub:item:N` button names."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    parts = query.data.split(":")
    if parts[1] == "all":
        await subscribe_to(update, context, "all", None)
    else:
        await subscribe_to(update, context, parts[1], int(parts[2]))


async def navigate(update: Update, context: CustomContext) -> None:
    """Moves through the menu (`sub:menu`, `sub:areas`, `sub:pick`, `sub:pick:A`) in place."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    lang = await user_language(update, context)
    kb = context.services.kb
    parts = query.data.split(":")
    if parts[1] == "menu":
        await edit_html(query, tr(lang, "menu"), menu_markup(lang))
    elif parts[1] == "areas":
        await edit_html(query, tr(lang, "pick_area"), areas_markup(kb, lang, "sub:area"))
    elif len(parts) == 2:
        await edit_html(query, tr(lang, "pick_area_for_item"), areas_markup(kb, lang, "sub:pick"))
    elif 0 < int(parts[2]) <= len(kb.notice.areas):
        await edit_html(query, *items_page(kb, int(parts[2]), lang))


async def _list_reply(update: Update, context: CustomContext) -> tuple[str, InlineKeyboardMarkup]:
    user = update.effective_user
    assert user is not None
    store, settings = context.services.store, context.services.settings
    lang = await user_language(update, context)
    subs = await store.list_subscriptions(user.id)
    stored = await store.get_user(user.id)
    frequency = stored.frequency if stored else "immediate"
    at = settings.digest_time.strftime("%H:%M")
    return list_view(subs, frequency, context.services.kb, lang, settings.digest_weekday, at)


async def subscriptions(update: Update, context: CustomContext) -> None:
    """Lists the user's subscriptions with remove buttons and the frequency switch."""
    if update.effective_user is None:
        return
    await send_html(update, context, *await _list_reply(update, context))


async def list_button(update: Update, context: CustomContext) -> None:
    """Shows the subscriptions list (the `sub:list` button under every alert) as a new message."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await send_html(update, context, *await _list_reply(update, context))


async def remove_from_list(update: Update, context: CustomContext) -> None:
    """Removes one subscription from the /subscriptions list and shows the list again."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    lang = await user_language(update, context)
    removed = await context.services.store.remove_subscription(
        update.effective_user.id, int(query.data.split(":")[2])
    )
    await query.answer(None if removed else tr(lang, "gone"))
    await edit_html(query, *await _list_reply(update, context))


async def unsubscribe_alert(update: Update, context: CustomContext) -> None:
    """Removes the subscription named by an alert's `unsub:ID` button, and drops that button."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    lang = await user_language(update, context)
    store = context.services.store
    sub_id = int(query.data.split(":")[1])
    mine = {s.id: s for s in await store.list_subscriptions(update.effective_user.id)}
    if sub_id not in mine or not await store.remove_subscription(update.effective_user.id, sub_id):
        await query.answer(tr(lang, "gone"), show_alert=True)
        return
    sub = mine[sub_id]
    what = describe(sub, context.services.kb, lang)
    await query.answer(tr(lang, "removed", what=scope_label(sub.scope, sub.target, lang)))
    await send_html(update, context, f"{tr(lang, 'removed', what=what)}\n{tr(lang, 'manage_hint')}")
    markup = query.message.reply_markup if isinstance(query.message, Message) else None
    if markup is not None:
        keep = [
            row for row in markup.inline_keyboard
            if not any(b.callback_data == query.data for b in row)
        ]
        await query.edit_message_reply_markup(InlineKeyboardMarkup(keep))


async def set_frequency(update: Update, context: CustomContext) -> None:
    """Switches between immediate alerts and the weekly digest, and shows the list again."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    user, chat = update.effective_user, update.effective_chat
    frequency = query.data.split(":")[2]
    store = context.services.store
    await store.upsert_user(user.id, chat.id if chat else user.id)
    await store.set_frequency(user.id, frequency)  # type: ignore[arg-type]
    await query.answer()
    await edit_html(query, *await _list_reply(update, context))


async def unsubscribe_command(update: Update, context: CustomContext) -> None:
    """Asks for confirmation before removing every subscription."""
    user = update.effective_user
    if user is None:
        return
    lang = await user_language(update, context)
    count = len(await context.services.store.list_subscriptions(user.id))
    if not count:
        await send_html(update, context, tr(lang, "none_to_remove"))
        return
    markup = InlineKeyboardMarkup(
        [[_button(tr(lang, "btn_yes"), "sub:unsuball:yes"),
          _button(tr(lang, "btn_no"), "sub:unsuball:no")]]
    )
    await send_html(update, context, tr(lang, "confirm_all", count=count), markup)


async def unsubscribe_confirmed(update: Update, context: CustomContext) -> None:
    """Removes every subscription (yes) or keeps them (no), replacing the question."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    await query.answer()
    lang = await user_language(update, context)
    if query.data.endswith(":yes"):
        removed = await context.services.store.remove_all_subscriptions(update.effective_user.id)
        logger.info("user removed all %d subscriptions", removed)
        await edit_html(query, tr(lang, "removed_all"))
    else:
        await edit_html(query, tr(lang, "kept"))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/subscribe, /subscriptions, /unsubscribe, the sub:/unsub: buttons and the sub_ link."""
    application.add_handler(CommandHandler("subscribe", subscribe_command))
    application.add_handler(CommandHandler("subscriptions", subscriptions))
    application.add_handler(CommandHandler("unsubscribe", unsubscribe_command))
    application.add_handler(
        CallbackQueryHandler(subscribe_button, pattern=r"^sub:(all|area:\d{1,2}|item:\d{1,4})$")
    )
    application.add_handler(
        CallbackQueryHandler(navigate, pattern=r"^sub:(menu|areas|pick|pick:\d{1,2})$")
    )
    application.add_handler(CallbackQueryHandler(list_button, pattern=r"^sub:list$"))
    application.add_handler(CallbackQueryHandler(remove_from_list, pattern=r"^sub:rm:\d{1,12}$"))
    application.add_handler(
        CallbackQueryHandler(set_frequency, pattern=r"^sub:freq:(immediate|weekly)$")
    )
    application.add_handler(
        CallbackQueryHandler(unsubscribe_confirmed, pattern=r"^sub:unsuball:(yes|no)$")
    )
    application.add_handler(CallbackQueryHandler(unsubscribe_alert, pattern=r"^unsub:\d{1,12}$"))
    register_deep_link("sub_", subscribe_link)
