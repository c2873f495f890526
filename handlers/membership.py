"""Noticing when a citizen blocks or unblocks the bot, so alerts are not sent into the void.

Telegram sends a `my_chat_member` update when a user blocks the bot in a private chat
(status "kicked") and again when they unblock it (status "member"). A blocked user is marked
inactive: the broadcast skips them. Unblocking (or writing to the bot again) reactivates them.
"""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated, Update
from telegram.constants import ChatType
from telegram.ext import Application, ChatMemberHandler

from handlers.common import CustomContext

logger = logging.getLogger(__name__)

GONE = {ChatMember.BANNED, ChatMember.LEFT}  # "kicked" is how a private block arrives
PRESENT = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER}


def blocked_change(change: ChatMemberUpdated) -> bool | None:
    """True if the bot was just blocked, False if just unblocked, None if neither."""
    before, after = change.old_chat_member.status, change.new_chat_member.status
    if after in GONE and before not in GONE:
        return True
    if after in PRESENT and before not in PRESENT:
        return False
    return None


async def track_block(update: Update, context: CustomContext) -> None:
    """Marks a private-chat user inactive when they block the bot, active when they unblock it."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    blocked = blocked_change(change)
    if blocked is None:
        return
    store = context.services.store
    user_id = change.chat.id
    if blocked:
        await store.set_active(user_id, False)
        logger.info("user %s blocked the bot: alerts paused", user_id)
    else:
        await store.upsert_user(user_id, change.chat.id)  # creates or reactivates
        await store.set_active(user_id, True)
        logger.info("user %s unblocked the bot: alerts resume", user_id)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The my_chat_member handler."""
    application.add_handler(ChatMemberHandler(track_block, ChatMemberHandler.MY_CHAT_MEMBER))
