"""python-telegram-bot persistence in the store: conversations and drafts survive restarts.

`StorePersistence(store)` keeps PTB's user_data, chat_data, conversation states (and, if asked
for, bot_data and callback_data) as JSON documents in the store's key/value table, one row per
user, chat or conversation key, so several instances sharing a PostgreSQL store never overwrite
each other's rows with a stale whole-table copy.

Namespaces: "user_data" and "chat_data" (key: the id as text), "bot_data" and "callback_data"
(key "data"), "conversations:<name>" (key: the conversation key as a JSON list, e.g. "[42, 42]").

When PTB writes: every `update_interval` seconds (only what changed since the last run) and at
shutdown. `update_*` write through to the store at once (unchanged values are skipped, so a run
is cheap), and `flush` has nothing left to do. To survive a SIGKILL right after a step, add
`add_write_through(application)`: a last-group handler that writes the update's conversation
state and user/chat data before the next update is handled.

Limits: values must be JSON-serialisable (tuples come back as lists). PTB reads conversation
states once, at `Application.initialize()`; with `refresh=True` user/chat data are re-read
before every callback, which is what a second instance needs, but a conversation that moves to
another instance mid-flow is only seen there after its restart (route a chat to one instance).
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    BasePersistence,
    CallbackContext,
    PersistenceInput,
    TypeHandler,
)

from store.base import Store

Data = dict[Any, Any]
ConversationKey = tuple[int | str, ...]
CallbackData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]

# After every other group, so it sees the states and data the handlers just set.
WRITE_THROUGH_GROUP = 1_000_000

_SINGLE = "data"


def _text(value: Any, what: str) -> str:
    """Canonical JSON of `value`, with a message naming what could not be stored."""
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what} cannot be persisted: it must be JSON-serialisable ({exc})"
        ) from exc


def _conversation_key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(", ", ": "))


class StorePersistence(BasePersistence[Data, Data, Data]):
    """PTB's BasePersistence over `Store.kv_*`. By default bot_data and callback_data are not
    kept (they tend to hold live objects); user_data, chat_data and conversations are.

    The store may still be closed when PTB first asks for data: it is opened then (a second
    `open()` from post_init does nothing). Closing it stays with the owner, after shutdown.
    """

    def __init__(
        self,
        store: Store,
        store_data: PersistenceInput | None = None,
        update_interval: float = 60,
        refresh: bool = False,
    ) -> None:
        super().__init__(
            store_data=store_data or PersistenceInput(bot_data=False, callback_data=False),
            update_interval=update_interval,
        )
        self.store = store
        self.refresh = refresh
        self._opened = False
        # (namespace, key) -> JSON text last read or written: unchanged values are not rewritten.
        self._known: dict[tuple[str, str], str] = {}

    async def _store(self) -> Store:
        if not self._opened:
            await self.store.open()
            self._opened = True
        return self.store

    async def _load(self, namespace: str) -> dict[str, Any]:
        items = await (await self._store()).kv_items(namespace)
        for key, value in items.items():
            self._known[(namespace, key)] = _text(value, f"{namespace}[{key}]")
        return items

    async def _write(self, namespace: str, key: str, value: Any) -> None:
        text = _text(value, f"{namespace}[{key}]")
        if self._known.get((namespace, key)) == text:
            return
        await (await self._store()).kv_set(namespace, key, json.loads(text))
        self._known[(namespace, key)] = text

    async def _drop(self, namespace: str, key: str) -> None:
        await (await self._store()).kv_delete(namespace, key)
        self._known.pop((namespace, key), None)

    async def _refresh(self, namespace: str, key: str, data: Data) -> None:
        """Replace `data` in place with the stored document, if another instance changed it."""
        value = await (await self._store()).kv_get(namespace, key)
        if value is None:
            return
        text = _text(value, f"{namespace}[{key}]")
        if self._known.get((namespace, key)) == text:
            return
        self._known[(namespace, key)] = text
        data.clear()
        data.update(value)

    # -- user and chat data ------------------------------------------------------------------
    async def get_user_data(self) -> dict[int, Data]:
        """Every stored user_data, by user id."""
        return {int(key): value for key, value in (await self._load("user_data")).items()}

    async def get_chat_data(self) -> dict[int, Data]:
        """Every stored chat_data, by chat id."""
        return {int(key): value for key, value in (await self._load("chat_data")).items()}

    async def update_user_data(self, user_id: int, data: Data) -> None:
        """Write one user's data (skipped if unchanged)."""
        await self._write("user_data", str(user_id), data)

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        """Write one chat's data (skipped if unchanged)."""
        await self._write("chat_data", str(chat_id), data)

    async def drop_user_data(self, user_id: int) -> None:
        """Forget one user's data."""
        await self._drop("user_data", str(user_id))

    async def drop_chat_data(self, chat_id: int) -> None:
        """Forget one chat's data."""
        await self._drop("chat_data", str(chat_id))

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        """With refresh=True, re-read this user's data (another instance may have changed it)."""
        if self.refresh:
            await self._refresh("user_data", str(user_id), user_data)

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        """With refresh=True, re-read this chat's data (another instance may have changed it)."""
        if self.refresh:
            await self._refresh("chat_data", str(chat_id), chat_data)

    # -- bot data --------------------------------------------------------------------------------
    async def get_bot_data(self) -> Data:
        """The stored bot_data, or an empty dict."""
        if not self.store_data.bot_data:
            return {}
        value = (await self._load("bot_data")).get(_SINGLE)
        return dict(value) if isinstance(value, dict) else {}

    async def update_bot_data(self, data: Data) -> None:
        """Write bot_data (skipped if unchanged)."""
        await self._write("bot_data", _SINGLE, data)

    async def refresh_bot_data(self, bot_data: Data) -> None:
        """With refresh=True, re-read bot_data."""
        if self.refresh and self.store_data.bot_data:
            await self._refresh("bot_data", _SINGLE, bot_data)

    # -- callback data -------------------------------------------------------------------------
    async def get_callback_data(self) -> CallbackData | None:
        """The stored arbitrary-callback-data cache, or None."""
        if not self.store_data.callback_data:
            return None
        value = (await self._load("callback_data")).get(_SINGLE)
        if value is None:
            return None
        buttons, mapping = value
        return [tuple(entry) for entry in buttons], dict(mapping)

    async def update_callback_data(self, data: CallbackData) -> None:
        """Write the arbitrary-callback-data cache (skipped if unchanged)."""
        await self._write("callback_data", _SINGLE, deepcopy(data))

    # -- conversations -------------------------------------------------------------------------
    async def get_conversations(self, name: str) -> dict[ConversationKey, object]:
        """The stored states of conversation handler `name`, by conversation key."""
        items = await self._load(f"conversations:{name}")
        return {tuple(json.loads(key)): state for key, state in items.items()}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Write one conversation's state at once; None (conversation ended) deletes it."""
        namespace, text_key = f"conversations:{name}", _conversation_key(key)
        if new_state is None:
            await self._drop(namespace, text_key)
            return
        await self._write(namespace, text_key, new_state)

    async def flush(self) -> None:
        """Nothing is buffered: every update_* has already reached the store."""


async def write_through(update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Writes this update's conversation states and user/chat data to the store right away."""
    application = context.application
    if application.persistence is None:
        return
    if isinstance(update, Update):
        # PTB marks them only after the last group; this handler runs in the last group.
        application.mark_data_for_update_persistence(
            chat_ids=update.effective_chat.id if update.effective_chat else None,
            user_ids=update.effective_user.id if update.effective_user else None,
        )
    await application.update_persistence()


def add_write_through(
    application: Application[Any, Any, Any, Any, Any, Any], group: int = WRITE_THROUGH_GROUP
) -> None:
    """Register `write_through` after every other handler group."""
    application.add_handler(TypeHandler(object, write_through, block=True), group=group)
