"""Staff publish a newer notice by sending it as a .txt document; the progress alerts follow.

The file is parsed and checked (a malformed one is answered with line-numbered errors and
nothing changes), the differences against the current notice are shown item by item with how
many subscribers each reaches, and only the staff member's confirmation (`pub:confirm:<token>`)
stores it, makes it current and queues one alert per subscriber. The pending preview lives in
the store, so the confirmation may reach another instance or come after a restart.

This module also runs what keeps every instance current: at start-up and every minute it
loads a notice published elsewhere, re-queues alerts lost to a crash, folds due weekly digests;
and it starts and stops the alert sender (services/broadcast.py) and the weekly digest job.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.common import (
    CustomContext,
    application_services,
    edit_html,
    esc,
    is_staff,
    on_shutdown,
    on_startup,
    send_html,
    user_language,
)
from knowledge import KnowledgeBase, parse_notice
from knowledge.alerts import date_label
from knowledge.diff import item_timeline
from knowledge.publish import (
    SHANGHAI,
    PublishError,
    check_newer,
    commit_publication,
    decode,
    ensure_queued,
    load_candidate,
    next_digest_time,
    plan_publication,
    preview_text,
)
from services.broadcast import Broadcaster, fold_digests

logger = logging.getLogger(__name__)

PENDING_NS = "publish_pending"  # kv: token → the text awaiting confirmation
MAX_BYTES = 1_000_000
PENDING_TTL = timedelta(hours=24)
SYNC_INTERVAL = 60.0

TEXTS = {
    "zh": {
        "howto": "<b>发布新的整改通报</b>\n把新通报作为 .txt 文件(UTF-8 或 GB18030)发给我。"
        "我会先检查格式,列出与当前通报({date})相比每一项的变化和会通知到的订阅者人数,"
        "你确认后才会发布。服务器上也可以运行:<code>python -m knowledge publish 文件</code>",
        "refused": "只有工作人员可以发布通报。如需反映意见,请用 /feedback。",
        "too_big": "文件太大(超过 1 MB),不像一份通报。",
        "checking": "正在检查……",
        "rejected": "❌ 这份通报无法发布,当前通报保持不变:\n{problems}",
        "confirm": "✅ 确认发布",
        "cancel": "取消",
        "expired": "这个预览已失效,请重新发送文件。",
        "moved": "预览之后当前通报已经变了(可能有别人发布了),请重新发送文件。",
        "published": "✅ 已发布 {date} 的通报(#{id})。将通知 {people} 位订阅者"
        "(本次新排队 {queued} 条)。",
        "cancelled": "已取消,当前通报保持不变。",
    },
    "en": {
        "howto": "<b>Publish a newer notice</b>\nSend me the newer notice as a .txt file (UTF-8 "
        "or GB18030). I check it, list item by item what changes against the current notice "
        "({date}) and how many subscribers each change reaches; it is published only when you "
        "confirm. On the server: <code>python -m knowledge publish FILE</code>",
        "refused": "Only staff can publish notices. To send an opinion, use /feedback.",
        "too_big": "The file is too big (over 1 MB) to be a notice.",
        "checking": "Checking…",
        "rejected": "❌ This notice cannot be published; the current notice stays:\n{problems}",
        "confirm": "✅ Publish",
        "cancel": "Cancel",
        "expired": "This preview has expired; please send the file again.",
        "moved": "The current notice changed after this preview (someone else published?); "
        "please send the file again.",
        "published": "✅ Published the notice of {date} (#{id}). {people} subscribers will be "
        "told ({queued} newly queued).",
        "cancelled": "Cancelled; the current notice stays.",
    },
}


def tr(lang: str, key: str, **values: object) -> str:
    """A fixed string in the staff member's language (Chinese when unknown)."""
    return TEXTS.get(lang, TEXTS["zh"])[key].format(**values)


def fingerprint(text: str) -> str:
    """A short hash of a notice's text, to tell whether the current notice moved on."""
    return hashlib.sha256(text.strip().encode()).hexdigest()[:16]


def digest_at(context_or_app: Any) -> datetime:
    """The next weekly digest moment according to the settings."""
    settings = application_services(context_or_app).settings
    return next_digest_time(datetime.now(UTC), settings.digest_weekday, settings.digest_time)


def confirm_markup(token: str, lang: str) -> InlineKeyboardMarkup:
    """Publish / cancel for one pending preview."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(tr(lang, "confirm"), callback_data=f"pub:confirm:{token}"),
          InlineKeyboardButton(tr(lang, "cancel"), callback_data=f"pub:cancel:{token}")]]
    )


def _refuse(update: Update, what: str) -> None:
    user = update.effective_user
    logger.warning("refused %s from non-staff user %s", what, user.id if user else None)


# -- callbacks -----------------------------------------------------------------------------------


async def publish_help(update: Update, context: CustomContext) -> None:
    """Tells staff how to publish a newer notice (and refuses everyone else)."""
    lang = await user_language(update, context)
    if not is_staff(update, context):
        _refuse(update, "/publish")
        await send_html(update, context, tr(lang, "refused"))
        return
    date = context.services.kb.notice.date.isoformat()
    await send_html(update, context, tr(lang, "howto", date=date))


async def receive_notice(update: Update, context: CustomContext) -> None:
    """Checks an uploaded notice and shows staff the differences, asking to confirm."""
    message, lang = update.effective_message, await user_language(update, context)
    if message is None or message.document is None:
        return
    if not is_staff(update, context):
        _refuse(update, "a notice upload")
        await send_html(update, context, tr(lang, "refused"))
        return
    document = message.document
    if (document.file_size or 0) > MAX_BYTES:
        await send_html(update, context, tr(lang, "too_big"))
        return
    data = await (await document.get_file()).download_as_bytearray()
    name = document.file_name or "notice.txt"
    try:
        text = decode(bytes(data))
        # Building a knowledge base takes a moment: keep the event loop free for others.
        candidate = await asyncio.to_thread(load_candidate, text, name)
        current = context.services.kb.notice
        problems = check_newer(current, candidate.notice)
        if problems:
            raise PublishError(problems)
    except PublishError as exc:
        lines = "\n".join(f"• {esc(p)}" for p in exc.problems)
        await send_html(update, context, tr(lang, "rejected", problems=lines))
        return
    plan = await plan_publication(context.services.store, current, candidate.notice)
    token = secrets.token_hex(6)
    await context.services.store.kv_set(PENDING_NS, token, {
        "text": text, "source": name, "staff": update.effective_user.id,  # type: ignore[union-attr]
        "current": fingerprint(current.text), "created": datetime.now(UTC).isoformat(),
    })
    await send_html(update, context, preview_text(plan, esc), confirm_markup(token, lang))


async def _take_pending(context: CustomContext, token: str) -> dict[str, Any] | None:
    """The pending preview of `token`, removed so that it is used at most once."""
    store = context.services.store
    pending = await store.kv_get(PENDING_NS, token)
    if not isinstance(pending, dict):
        return None
    await store.kv_delete(PENDING_NS, token)
    created = datetime.fromisoformat(pending["created"])
    return pending if datetime.now(UTC) - created < PENDING_TTL else None


async def confirm(update: Update, context: CustomContext) -> None:
    """Publishes the previewed notice: stores it, makes it current, queues the alerts."""
    query, lang = update.callback_query, await user_language(update, context)
    assert query is not None and query.data is not None
    if not is_staff(update, context):
        _refuse(update, "a publish confirmation")
        await query.answer(tr(lang, "refused"), show_alert=True)
        return
    await query.answer()
    pending = await _take_pending(context, query.data.split(":")[2])
    services = context.services
    if pending is None:
        await edit_html(query, tr(lang, "expired"))
        return
    if pending["current"] != fingerprint(services.kb.notice.text):
        await edit_html(query, tr(lang, "moved"))
        return
    candidate = await asyncio.to_thread(load_candidate, pending["text"], pending["source"])
    plan = await plan_publication(services.store, services.kb.notice, candidate.notice)
    stored, queued = await commit_publication(
        services.store, plan, candidate, pending["staff"], digest_at(context.application)
    )
    services.kb = candidate
    services.extras["notice_id"] = stored.id
    # A publication may store two notices (the bundled one first): read them back once.
    await load_notice_history(services)
    logger.info("notice #%s of %s published by %s", stored.id, stored.notice_date, pending["staff"])
    _wake(context.application)
    people = len(plan.recipients)
    await edit_html(query, tr(lang, "published", date=stored.notice_date, id=stored.id,
                              people=people, queued=queued))


async def cancel(update: Update, context: CustomContext) -> None:
    """Drops a pending preview; nothing changes."""
    query, lang = update.callback_query, await user_language(update, context)
    assert query is not None and query.data is not None
    if not is_staff(update, context):
        _refuse(update, "a publish cancellation")
        await query.answer(tr(lang, "refused"), show_alert=True)
        return
    await query.answer()
    await context.services.store.kv_delete(PENDING_NS, query.data.split(":")[2])
    await edit_html(query, tr(lang, "cancelled"))


# -- keeping every instance current -------------------------------------------------------------


def _wake(application: Application) -> None:  # type: ignore[type-arg]
    broadcaster = application_services(application).extras.get("broadcaster")
    if isinstance(broadcaster, Broadcaster):
        broadcaster.wake()


async def sync_notice(application: Application) -> None:  # type: ignore[type-arg]
    """Load a newer notice another instance published; finish any interrupted queuing; fold
    due weekly digests."""
    services = application_services(application)
    store = services.store
    latest = await store.latest_notice()
    if HISTORY not in services.extras or (
        latest is not None
        and all(notice_id != latest.id for notice_id, _ in services.extras[HISTORY])
    ):
        await load_notice_history(services)
    if latest is not None and latest.id != services.extras.get("notice_id"):
        if latest.text.strip() != services.kb.notice.text.strip():
            kb = await asyncio.to_thread(KnowledgeBase.from_text, latest.text, latest.source)
            if kb.notice.date >= services.kb.notice.date:
                services.kb = kb
                logger.info("now answering from notice #%s of %s", latest.id, latest.notice_date)
        services.extras["notice_id"] = latest.id
    queued = await ensure_queued(store, digest_at(application))
    folded = await fold_digests(store)
    if queued or folded:
        logger.info("queued %d alerts after a restart, folded %d digests", queued, folded)
        _wake(application)


async def _sync_job(context: CustomContext) -> None:
    """The periodic job around sync_notice."""
    await sync_notice(context.application)


async def _digest_job(context: CustomContext) -> None:
    """At the digest time: fold each weekly subscriber's entries into one message and send."""
    folded = await fold_digests(application_services(context.application).store)
    logger.info("weekly digest: %d messages queued", folded)
    _wake(context.application)


async def _start(application: Application) -> None:  # type: ignore[type-arg]
    """Start-up: catch up with the store, start the sender and the jobs."""
    services = application_services(application)
    settings = services.settings
    await sync_notice(application)
    lease = timedelta(seconds=settings.broadcast_lease)
    broadcaster = Broadcaster(application.bot, services.store, settings.broadcast_rate, lease=lease)
    services.extras["broadcaster"] = broadcaster
    broadcaster.start()
    jobs = application.job_queue
    if jobs is None:
        logger.warning("no JobQueue: notices from other instances and digests wait for a restart")
        return
    jobs.run_repeating(_sync_job, interval=SYNC_INTERVAL, first=SYNC_INTERVAL, name="notice_sync")
    jobs.run_daily(
        _digest_job,
        time=settings.digest_time.replace(tzinfo=SHANGHAI),
        days=((settings.digest_weekday + 1) % 7,),  # PTB counts from Sunday = 0
        name="weekly_digest",
    )


async def _stop(application: Application) -> None:  # type: ignore[type-arg]
    """Shutdown: let sends in flight finish and stop the sender."""
    broadcaster = application_services(application).extras.pop("broadcaster", None)
    if isinstance(broadcaster, Broadcaster):
        await broadcaster.stop()


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/publish, .txt uploads, the pub: buttons, and the sender, sync and digest jobs."""
    application.add_handler(CommandHandler("publish", publish_help))
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.Document.FileExtension("txt"), receive_notice
        )
    )
    application.add_handler(CallbackQueryHandler(confirm, pattern=r"^pub:confirm:[0-9a-f]{12}$"))
    application.add_handler(CallbackQueryHandler(cancel, pattern=r"^pub:cancel:[0-9a-f]{12}$"))
    on_startup(application, _start)
    on_shutdown(application, _stop)


# -- the /item timeline ---------------------------------------------------------------------------


HISTORY = "notice_history"  # extras: every published notice, parsed, oldest first


def _parse_stored(services: Any, row: Any) -> Any:
    overrides = services.kb.enrichment.overrides
    return parse_notice(row.text, source=row.source, status_overrides=overrides)


async def load_notice_history(services: Any) -> list[Any]:
    """Read every published notice from the store and keep them, parsed, in memory.

    Called at start-up, after a publication by this instance, and by the periodic sync when
    it sees a notice id it does not know (published by another instance or the CLI: item
    cards there show the new timeline within SYNC_INTERVAL). Item cards read the list
    without a store round-trip."""
    stored = await services.store.list_notices()
    known: dict[int, Any] = dict(services.extras.get(HISTORY) or [])
    history = [(row.id, known.get(row.id) or _parse_stored(services, row)) for row in stored]
    services.extras[HISTORY] = history
    return [notice for _, notice in history]


async def notice_history(services: Any) -> list[Any]:
    """Every published notice, parsed (oldest first), from memory (loaded once if needed)."""
    history: list[tuple[int, Any]] | None = services.extras.get(HISTORY)
    if history is None:
        return await load_notice_history(services)
    return [notice for _, notice in history]


async def timeline_text(context: CustomContext, number: int, lang: str) -> str:
    """The item's status in each published notice ("" while only one notice exists)."""
    entries = item_timeline(await notice_history(context.services), number)
    if len(entries) < 2:
        return ""
    head = "<b>Timeline</b>" if lang == "en" else "<b>进展时间线</b>"
    lines = [
        f"{date_label(e.date, lang)} · {e.status.en if lang == 'en' else e.status.zh}"
        for e in entries
    ]
    return "\n\n" + head + "\n" + "\n".join(lines)
