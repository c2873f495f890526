"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests.

The real bot process (or python-telegram-bot's own ``Bot``) talks to it over HTTP exactly as it
would talk to ``https://api.telegram.org``: point ``TELEGRAM_BASE_URL`` at :attr:`FakeBotApi.root`
(``Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")`` for a bare client).

The server runs tornado in its own thread with its own event loop, so tests drive it from sync
and async code alike. Every method below is thread-safe.

Usage::

    with FakeBotApi() as api:                     # or: async with FakeBotApi() as api
        start_bot(env={"TELEGRAM_BASE_URL": api.root, ...})
        api.user_says(42, "污水厂扩建得怎么样了")
        reply = api.wait_for("sendMessage", chat_id=42, text="污水", timeout=10)
        api.user_presses(42, reply, "item:12")
        api.wait_for("editMessageText", chat_id=42, timeout=10)

Test-side API (the simulated users and the inspection of what the bot did):

* ``user_says(user_id, text, *, language_code="zh-hans", chat_type="private")`` queues a message
  (``bot_command`` entity added for ``/commands``); ``user_presses(user_id, message, data)`` a
  callback query on a message the bot sent; ``user_sends_document(user_id, filename, content)``
  a document that ``getFile`` and the file download serve; ``user_sends(user_id, **fields)`` any
  other message (sticker, location…); ``user_edits``; ``user_inline_query``;
  ``user_blocks_bot(user_id)`` a ``my_chat_member`` update, and later sends to that chat get 403;
  ``queue_update(dict)`` anything else.
* ``fail_next(method, chat_id, code=429, retry_after=1)`` makes the next matching call fail;
  ``block(chat_id)``/``unblock`` a silent block (403 without an update).
* ``calls(method=None, chat_id=None)`` every recorded request (decoded params, arrival time,
  outcome); ``messages_to(chat_id)`` the bot's messages in a chat, as they are now (after edits);
  ``wait_for(...)`` / ``await wait_for_async(...)`` the first call matching, waiting up to a
  timeout; ``wait_calls(n, ...)`` until n calls match; ``mark()`` a position for ``since=``.

Realism that catches bugs: HTML text (``parse_mode=HTML``) is validated like Telegram does (an
unescaped ``<`` or ``&`` or an unknown tag gives 400 "can't parse entities"), text over 4096
characters, callback data over 64 bytes, "message is not modified" edits, getUpdates while a
webhook is set (409) and two concurrent getUpdates (the older one gets 409), unknown methods 404.
MarkdownV2 is passed through unvalidated.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import tornado.httpclient
import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

__all__ = ["ApiError", "Call", "FakeBotApi"]

JSON = dict[str, Any]

# Form values PTB sends as raw strings (everything else it JSON-encodes); never json-decode these.
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_query_id", "url",
        "secret_token", "language_code", "next_offset", "switch_pm_text", "switch_pm_parameter",
        "file_id", "inline_message_id", "action", "emoji", "title", "description", "name",
        "short_description", "query", "ip_address", "message_effect_id",
        "business_connection_id", "address", "first_name", "last_name", "phone_number",
    }
)  # fmt: skip
# Update types delivered when allowed_updates is empty (Telegram's default).
_DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
     "tg-emoji", "code", "pre", "blockquote"}
)  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_MESSAGE_METHODS = ("sendMessage", "sendDocument", "sendPhoto", "copyMessage", "forwardMessage")


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        out: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def _error_for(code: int, retry_after: int = 1, description: str | None = None) -> ApiError:
    """The error Telegram gives for a status code, worded as Telegram words it."""
    if code == 429:
        return ApiError(
            429,
            description or f"Too Many Requests: retry after {retry_after}",
            {"retry_after": retry_after},
        )
    if code == 403:
        return ApiError(403, description or "Forbidden: bot was blocked by the user")
    if code == 400:
        return ApiError(400, description or "Bad Request: chat not found")
    if code == 409:
        return ApiError(409, description or "Conflict: terminated by other getUpdates request")
    return ApiError(code, description or "Internal Server Error")


@dataclass
class Call:
    """One request the bot made: method, decoded params, uploads, arrival time and outcome."""

    seq: int
    method: str
    params: JSON
    files: dict[str, tuple[str, bytes, str]]  # field -> (filename, content, content type)
    at: float  # time.monotonic() when it arrived
    wall: float  # time.time() when it arrived
    ok: bool = True
    result: Any = None  # the "result" answered (e.g. the Message dict) when ok
    error_code: int | None = None
    description: str | None = None

    @property
    def chat_id(self) -> Any:
        return _chat_key(self.params.get("chat_id"))

    @property
    def text(self) -> str:
        """The text or caption sent (raw, with any HTML tags)."""
        value = self.params.get("text", self.params.get("caption", ""))
        return value if isinstance(value, str) else str(value)

    @property
    def reply_markup(self) -> JSON | None:
        markup = self.params.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    def buttons(self) -> list[JSON]:
        """Inline keyboard buttons of this call's reply_markup, row after row."""
        markup = self.reply_markup or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def callback_data(self) -> list[str]:
        """The callback_data of every inline button, in order."""
        return [b["callback_data"] for b in self.buttons() if "callback_data" in b]


def _chat_key(value: Any) -> Any:
    """Chat ids arrive as ints or numeric strings; compare them as ints."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _decode_value(name: str, raw: str) -> Any:
    if name in _STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _html_to_text(text: str) -> str:
    """Validate Telegram HTML and return the visible text; raise ApiError(400) like Telegram."""
    stack: list[str] = []
    out: list[str] = []
    pos = 0

    def check_entities(chunk: str, offset: int) -> None:
        if "<" in chunk:
            at = offset + chunk.index("<")
            raise ApiError(
                400,
                "Bad Request: can't parse entities: Unsupported start tag at byte offset "
                f"{len(text[:at].encode())}",
            )
        for m in re.finditer("&", chunk):
            if not _ENTITY.match(chunk, m.start()):
                at = offset + m.start()
                raise ApiError(
                    400,
                    "Bad Request: can't parse entities: Can't find end of the entity starting "
                    f"at byte offset {len(text[:at].encode())}",
                )

    for m in _TAG.finditer(text):
        check_entities(text[pos : m.start()], pos)
        out.append(text[pos : m.start()])
        closing, tag = m.group(1), m.group(2).lower()
        if tag not in _HTML_TAGS:
            raise ApiError(
                400,
                f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}" at byte '
                f"offset {len(text[: m.start()].encode())}",
            )
        if closing:
            if not stack or stack[-1] != tag:
                raise ApiError(
                    400,
                    f'Bad Request: can\'t parse entities: Unexpected end tag "{tag}" at byte '
                    f"offset {len(text[: m.start()].encode())}",
                )
            stack.pop()
        else:
            stack.append(tag)
        pos = m.end()
    check_entities(text[pos:], pos)
    out.append(text[pos:])
    if stack:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1]}"',
        )
    return html.unescape("".join(out))


def _command_entities(text: str) -> list[JSON]:
    """A bot_command entity for a leading /command, as Telegram adds it."""
    m = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?", text)
    if not m:
        return []
    return [
        {"type": "bot_command", "offset": 0, "length": len(m.group(0).encode("utf-16-le")) // 2}
    ]


class FakeBotApi:
    """The fake Bot API server and the simulated users' side of it (see the module docstring)."""

    def __init__(
        self,
        *,
        token: str | None = None,
        bot_id: int | None = None,
        bot_username: str = "rectification_test_bot",
        bot_name: str = "整改查询 Test Bot",
    ) -> None:
        # token=None accepts any token; bot_id defaults to the token's number (or 123456).
        self.token = token
        if bot_id is None:
            bot_id = int(token.split(":")[0]) if token else 123456
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.blocked: set[int] = set()  # chats whose every send answers 403
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._updates: list[JSON] = []  # queued, not yet confirmed (getUpdates) / delivered
        self._update_ids = itertools.count(1)
        self._last_update_seq = 0  # len(self._calls) when the last update was queued
        self._message_ids: dict[Any, itertools.count[int]] = {}
        self._messages: dict[Any, dict[int, JSON]] = {}  # chat -> message_id -> message
        self._bot_messages: dict[Any, list[int]] = {}  # chat -> ids of messages the bot sent
        self._users: dict[int, JSON] = {}
        self._chats: dict[Any, JSON] = {}
        self._files: dict[str, tuple[str, bytes, str]] = {}  # file_id -> name, content, mime
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._failures: list[tuple[str, Any, ApiError]] = []
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._allowed_updates: list[str] = []
        self.webhook: JSON = {}  # url, secret_token, allowed_updates, ...
        self._webhook_error: tuple[int, str] | None = None
        self._poller: asyncio.Future[None] | None = None  # the pending getUpdates' conflict
        self._waiters: set[asyncio.Future[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._stopped = threading.Event()
        self._deliverer: asyncio.Task[None] | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def root(self) -> str:
        """The server root for TELEGRAM_BASE_URL, e.g. http://127.0.0.1:41234."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeBotApi:
        """Start the server thread; returns once it accepts connections."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
                self.port = sockets[0].getsockname()[1]
                app = tornado.web.Application(
                    [
                        (r"/bot([^/]+)/([A-Za-z]+)", _MethodHandler, {"api": self}),
                        (r"/file/bot([^/]+)/(.+)", _FileHandler, {"api": self}),
                    ],
                    log_function=lambda _handler: None,  # 4xx answers are the point, not noise
                )
                self._server = tornado.httpserver.HTTPServer(app, max_buffer_size=60 << 20)
                self._server.add_sockets(sockets)
                self._deliverer = loop.create_task(self._deliver_webhooks())
            except BaseException as exc:  # reported to the starting thread
                errors.append(exc)
                loop.close()
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(asyncio.sleep(0))
                loop.close()
                self._stopped.set()

        self._thread = threading.Thread(target=run, name="fakebotapi", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Bot API server did not start within 10 s")
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        """Stop the server and its thread (idempotent)."""
        loop, self._loop = self._loop, None
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.stop()
                await self._server.close_all_connections()

        fut = asyncio.run_coroutine_threadsafe(shutdown(), loop)
        with contextlib.suppress(Exception):
            fut.result(5)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        if self._thread.is_alive():
            raise RuntimeError("fake Bot API server thread did not stop within 10 s")

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeBotApi:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *_: object) -> None:
        await asyncio.to_thread(self.stop)

    # ------------------------------------------------------------------ the users' side
    def _user(self, user_id: int, language_code: str | None = None) -> JSON:
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
                self._users[user_id] = user
            if language_code is not None:
                user["language_code"] = language_code
            return dict(user)

    def _chat(self, chat_id: Any, chat_type: str = "private", user: JSON | None = None) -> JSON:
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                chat = {"id": chat_id, "type": chat_type}
                if chat_type == "private":
                    chat["first_name"] = (user or {}).get("first_name", f"User{chat_id}")
                else:
                    chat["title"] = f"Group {chat_id}"
                self._chats[chat_id] = chat
            return dict(chat)

    def _next_message_id(self, chat_id: Any) -> int:
        with self._lock:
            return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def queue_update(self, update: JSON) -> JSON:
        """Queue a raw update (update_id assigned if missing) and return it."""
        with self._changed:
            update = dict(update)
            update.setdefault("update_id", next(self._update_ids))
            self._updates.append(update)
            self._last_update_seq = len(self._calls)
            self._changed.notify_all()
        self._wake()
        return update

    def _user_message(
        self,
        user_id: int,
        fields: JSON,
        *,
        language_code: str | None,
        chat_type: str,
        chat_id: Any = None,
    ) -> JSON:
        user = self._user(user_id, language_code)
        if chat_id is None:
            chat_id = user_id if chat_type == "private" else -1000000000000 - user_id
        chat = self._chat(chat_id, chat_type, user)
        message = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            **fields,
        }
        with self._lock:
            self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        return message

    def user_says(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = "zh-hans",
        chat_type: str = "private",
        chat_id: Any = None,
    ) -> JSON:
        """Queue a text message (bot_command entity for /commands); returns the update."""
        fields: JSON = {"text": text}
        entities = _command_entities(text)
        if entities:
            fields["entities"] = entities
        message = self._user_message(
            user_id, fields, language_code=language_code, chat_type=chat_type, chat_id=chat_id
        )
        return self.queue_update({"message": message})

    def user_sends(
        self,
        user_id: int,
        *,
        language_code: str | None = "zh-hans",
        chat_type: str = "private",
        chat_id: Any = None,
        **fields: Any,
    ) -> JSON:
        """Queue any other message, e.g. ``user_sends(1, sticker={...})``; returns the update."""
        message = self._user_message(
            user_id, fields, language_code=language_code, chat_type=chat_type, chat_id=chat_id
        )
        return self.queue_update({"message": message})

    def add_file(self, filename: str, content: bytes, mime_type: str = "text/plain") -> str:
        """Store a file that getFile and the download URL serve; returns its file_id."""
        with self._lock:
            file_id = f"FILE{next(self._file_ids):06d}"
            self._files[file_id] = (filename, bytes(content), mime_type)
            return file_id

    def user_sends_document(
        self,
        user_id: int,
        filename: str,
        content: bytes | str,
        *,
        caption: str | None = None,
        mime_type: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> JSON:
        """Queue a document message; its file can be fetched with getFile; returns the update."""
        data = content.encode() if isinstance(content, str) else content
        if mime_type is None:
            mime_type = "text/plain" if filename.endswith(".txt") else "application/octet-stream"
        file_id = self.add_file(filename, data, mime_type)
        fields: JSON = {
            "document": {
                "file_id": file_id,
                "file_unique_id": "U" + file_id,
                "file_name": filename,
                "mime_type": mime_type,
                "file_size": len(data),
            }
        }
        if caption is not None:
            fields["caption"] = caption
        message = self._user_message(
            user_id, fields, language_code=language_code, chat_type="private"
        )
        return self.queue_update({"message": message})

    def user_edits(self, user_id: int, message: JSON | Call | int, new_text: str) -> JSON:
        """Queue an edited_message update for a message the user sent earlier."""
        msg = self._find_message(user_id, message)
        edited = {**msg, "text": new_text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        if entities := _command_entities(new_text):
            edited["entities"] = entities
        with self._lock:
            self._messages[msg["chat"]["id"]][msg["message_id"]] = edited
        return self.queue_update({"edited_message": edited})

    def user_presses(
        self,
        user_id: int,
        message: JSON | Call | int,
        callback_data: str,
        *,
        force: bool = False,
    ) -> JSON:
        """Queue a callback_query for a button on a message the bot sent; returns the update.

        ``message`` is a recorded Call, a message dict or a message_id in the user's private
        chat. The button must be on the message as it is now, unless ``force`` (forged data).
        """
        msg = self._find_message(user_id, message)
        data = [
            b.get("callback_data")
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        if not force and callback_data not in data:
            raise ValueError(
                f"message {msg['message_id']} has no button {callback_data!r}; it has {data}"
            )
        query = {
            "id": str(next(self._query_ids)),
            "from": self._user(user_id),
            "message": msg,
            "chat_instance": f"ci{msg['chat']['id']}",
            "data": callback_data,
        }
        return self.queue_update({"callback_query": query})

    def user_inline_query(self, user_id: int, query: str, *, offset: str = "") -> JSON:
        """Queue an inline_query update (``@bot query`` typed in any chat)."""
        update = {
            "inline_query": {
                "id": str(next(self._query_ids)),
                "from": self._user(user_id),
                "query": query,
                "offset": offset,
                "chat_type": "private",
            }
        }
        return self.queue_update(update)

    def user_blocks_bot(self, user_id: int) -> JSON:
        """Queue a my_chat_member 'kicked' update; sends to that chat get 403 from now on."""
        with self._lock:
            self.blocked.add(user_id)
        return self._membership_update(user_id, "member", "kicked")

    def user_unblocks_bot(self, user_id: int) -> JSON:
        """Queue a my_chat_member 'member' update; sends to that chat work again."""
        with self._lock:
            self.blocked.discard(user_id)
        return self._membership_update(user_id, "kicked", "member")

    def _membership_update(self, user_id: int, old: str, new: str) -> JSON:
        """Queue a my_chat_member update moving the bot from status `old` to `new`."""
        user = self._user(user_id)

        def member(status: str) -> JSON:
            extra = {"until_date": 0} if status == "kicked" else {}
            return {"status": status, "user": self.bot_user, **extra}

        update = {
            "my_chat_member": {
                "chat": self._chat(user_id, "private", user),
                "from": user,
                "date": int(time.time()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            }
        }
        return self.queue_update(update)

    def _find_message(self, user_id: int, message: JSON | Call | int) -> JSON:
        if isinstance(message, Call):
            if not message.ok or not isinstance(message.result, dict):
                raise ValueError(f"call {message.method} #{message.seq} returned no message")
            message = message.result
        if isinstance(message, int):
            chat_id, message_id = user_id, message
        else:
            chat_id, message_id = message["chat"]["id"], message["message_id"]
        with self._lock:
            found = self._messages.get(chat_id, {}).get(message_id)
            if found is None:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            return json.loads(json.dumps(found))

    # ------------------------------------------------------------------ failures
    def block(self, chat_id: int) -> None:
        """Sends to this chat answer 403 from now on, without an update (a silent block)."""
        with self._lock:
            self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Sends to this chat work again."""
        with self._lock:
            self.blocked.discard(chat_id)

    def fail_next(
        self,
        method: str,
        chat_id: Any = None,
        code: int = 429,
        retry_after: int = 1,
        *,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of method (to chat_id, or any chat if None) fail."""
        error = _error_for(code, retry_after, description)
        with self._lock:
            self._failures.extend([(method, _chat_key(chat_id), error)] * times)

    # ------------------------------------------------------------------ inspection
    def mark(self) -> int:
        """A position in the call log, to pass as ``since=`` to wait_for/calls."""
        with self._lock:
            return len(self._calls)

    def calls(
        self, method: str | None = None, chat_id: Any = None, *, since: int = 0
    ) -> list[Call]:
        """Recorded calls, oldest first, optionally only one method and/or chat."""
        key = _chat_key(chat_id)
        with self._lock:
            return [
                c
                for c in self._calls[since:]
                if (method is None or c.method == method) and (chat_id is None or c.chat_id == key)
            ]

    def messages_to(self, chat_id: Any) -> list[JSON]:
        """Messages the bot sent to a chat, in order, as they are now (after edits)."""
        key = _chat_key(chat_id)
        with self._lock:
            chat = self._messages.get(key, {})
            return [json.loads(json.dumps(chat[i])) for i in self._bot_messages.get(key, [])]

    def updates_pending(self) -> int:
        """Updates queued and not yet confirmed by getUpdates or delivered to the webhook."""
        with self._lock:
            return len(self._updates)

    def _matcher(
        self,
        what: str | Callable[[Call], bool] | None,
        chat_id: Any,
        text: str | None,
        ok: bool | None,
    ) -> Callable[[Call], bool]:
        key = _chat_key(chat_id)

        def match(c: Call) -> bool:
            if callable(what) and not what(c):
                return False
            if isinstance(what, str) and c.method != what:
                return False
            if chat_id is not None and c.chat_id != key:
                return False
            if text is not None and text not in c.text:
                return False
            return ok is None or c.ok == ok

        return match

    def _describe(self, what: Any, chat_id: Any, text: str | None, since: int) -> str:
        recent = self.calls(since=since)
        # getUpdates dominates a polling bot's log and says nothing.
        shown = [
            f"{c.method}(chat={c.chat_id!r}, text={c.text[:80]!r}, ok={c.ok})"
            for c in recent
            if c.method != "getUpdates"
        ][-15:]
        return (
            f"no call matching method/predicate={what!r} chat_id={chat_id!r} text~={text!r} "
            f"since #{since}; calls seen since then: {shown or 'none'}"
        )

    def wait_for(
        self,
        what: str | Callable[[Call], bool] | None = None,
        *,
        chat_id: Any = None,
        text: str | None = None,
        timeout: float = 10.0,
        since: int | None = None,
        ok: bool | None = None,
    ) -> Call:
        """Wait up to timeout s for a call matching method or predicate, chat and text substring.

        ``since`` defaults to the position of the most recent user action (``user_says``,
        ``user_presses``, …), so it waits for the bot's answer to it; pass ``since=0`` to
        match anything recorded so far, or a value from ``mark()``.
        """
        match = self._matcher(what, chat_id, text, ok)
        deadline = time.monotonic() + timeout
        with self._changed:
            start = self._last_update_seq if since is None else since
            checked = start
            while True:
                for c in self._calls[checked:]:
                    if match(c):
                        return c
                checked = len(self._calls)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
        raise AssertionError(f"after {timeout} s, " + self._describe(what, chat_id, text, start))

    async def wait_for_async(self, *args: Any, **kwargs: Any) -> Call:
        """wait_for without blocking the caller's event loop."""
        return await asyncio.to_thread(self.wait_for, *args, **kwargs)

    def wait_calls(
        self,
        n: int,
        what: str | Callable[[Call], bool] | None = None,
        *,
        chat_id: Any = None,
        text: str | None = None,
        timeout: float = 10.0,
        since: int = 0,
        ok: bool | None = None,
    ) -> list[Call]:
        """Wait up to timeout s until at least n calls match; returns all matching calls."""
        match = self._matcher(what, chat_id, text, ok)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self._calls[since:] if match(c)]
                if len(found) >= n:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
        raise AssertionError(
            f"after {timeout} s only {len(found)} of {n} calls match; "
            + self._describe(what, chat_id, text, since)
        )

    # ------------------------------------------------------------------ server internals
    def _wake(self) -> None:
        """Wake long-polling getUpdates and the webhook deliverer (from any thread)."""
        loop = self._loop
        if loop is None:
            return

        def wake() -> None:
            for fut in list(self._waiters):
                if not fut.done():
                    fut.set_result(None)

        with contextlib.suppress(RuntimeError):  # loop closed
            loop.call_soon_threadsafe(wake)

    async def _wait_change(self, at_most: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, at_most)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)

    def _record(self, method: str, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> Call:
        with self._changed:
            call = Call(
                seq=len(self._calls),
                method=method,
                params=params,
                files=files,
                at=time.monotonic(),
                wall=time.time(),
            )
            self._calls.append(call)
            return call

    def _finish(self, call: Call, result: Any = None, error: ApiError | None = None) -> None:
        with self._changed:
            if error is None:
                call.ok, call.result = True, result
            else:
                call.ok, call.error_code, call.description = False, error.code, error.description
            self._changed.notify_all()

    def _injected_failure(self, method: str, chat_id: Any) -> ApiError | None:
        with self._lock:
            for i, (m, chat, error) in enumerate(self._failures):
                if m == method and (chat is None or chat == chat_id):
                    del self._failures[i]
                    return error
            if chat_id in self.blocked and method not in {"getChat", "answerCallbackQuery"}:
                return _error_for(403)
        return None

    async def _handle(self, method: str, params: JSON, call: Call) -> Any:
        """Answer one Bot API method; raise ApiError for error answers."""
        if method != "getUpdates":
            failure = self._injected_failure(method, _chat_key(params.get("chat_id")))
            if failure is not None:
                raise failure
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            if method not in self._simple:
                raise ApiError(404, "Not Found")
            return json.loads(json.dumps(self._simple[method]))
        result = handler(params, call)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    # Methods answered with a constant after being recorded.
    _simple: ClassVar[dict[str, Any]] = {
        "sendChatAction": True,
        "answerCallbackQuery": True,
        "answerInlineQuery": True,
        "setChatMenuButton": True,
        "getChatMenuButton": {"type": "commands"},
        "setMyDescription": True,
        "setMyShortDescription": True,
        "setMyName": True,
        "getMyName": {"name": ""},
        "getMyDescription": {"description": ""},
        "getMyShortDescription": {"short_description": ""},
        "setMyDefaultAdministratorRights": True,
        "deleteMessage": True,
        "deleteMessages": True,
        "close": True,
        "logOut": True,
        "setMessageReaction": True,
        "pinChatMessage": True,
        "unpinChatMessage": True,
    }

    def _m_getMe(self, _params: JSON, _call: Call) -> JSON:
        return dict(self.bot_user)

    async def _m_getUpdates(self, params: JSON, call: Call) -> list[JSON]:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        # A newer getUpdates terminates the pending one, as on Telegram.
        if self._poller is not None and not self._poller.done():
            self._poller.set_result(None)
            for fut in list(self._waiters):
                if not fut.done():
                    fut.set_result(None)
        conflict: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._poller = conflict
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        if "allowed_updates" in params and params["allowed_updates"] is not None:
            self._allowed_updates = list(params["allowed_updates"])
        deadline = time.monotonic() + timeout
        while True:
            if conflict.done():
                raise _error_for(409)
            with self._lock:
                if offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self._updates = [u for u in self._updates if self._allowed(u)]
                batch = self._updates[:limit]
            left = deadline - time.monotonic()
            if batch or left <= 0:
                if self._poller is conflict:
                    self._poller = None
                return batch
            await self._wait_change(min(left, 0.5))

    def _allowed(self, update: JSON) -> bool:
        kind = next(k for k in update if k != "update_id")
        allowed = self.webhook.get("allowed_updates") if self.webhook else None
        allowed = allowed or self._allowed_updates
        return kind in allowed if allowed else kind not in _DEFAULT_EXCLUDED

    def _m_setWebhook(self, params: JSON, _call: Call) -> bool:
        url = params.get("url") or ""
        with self._lock:
            if params.get("drop_pending_updates"):
                self._updates.clear()
            if not url:
                self.webhook = {}
            else:
                self.webhook = {
                    "url": url,
                    "secret_token": params.get("secret_token") or "",
                    "allowed_updates": list(params.get("allowed_updates") or []),
                    "max_connections": params.get("max_connections") or 40,
                }
            self._webhook_error = None
        self._wake()
        return True

    def _m_deleteWebhook(self, params: JSON, _call: Call) -> bool:
        with self._lock:
            self.webhook = {}
            if params.get("drop_pending_updates"):
                self._updates.clear()
        self._wake()
        return True

    def _m_getWebhookInfo(self, _params: JSON, _call: Call) -> JSON:
        with self._lock:
            info: JSON = {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self.webhook:
                info["max_connections"] = self.webhook["max_connections"]
                if self.webhook["allowed_updates"]:
                    info["allowed_updates"] = self.webhook["allowed_updates"]
            if self._webhook_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
            return info

    async def _deliver_webhooks(self) -> None:
        """POST queued updates, in order, to the webhook while one is set (Telegram retries)."""
        client = tornado.httpclient.AsyncHTTPClient()
        while True:
            with self._lock:
                hook = dict(self.webhook)
                pending = [u for u in self._updates if self._allowed(u)] if hook else []
            if not pending:
                await self._wait_change(0.5)
                continue
            update = pending[0]
            headers = {"Content-Type": "application/json"}
            if hook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            error: str | None = None
            try:
                response = await client.fetch(
                    hook["url"],
                    method="POST",
                    body=json.dumps(update),
                    headers=headers,
                    request_timeout=10,
                    raise_error=False,
                )
                if not 200 <= response.code < 300:
                    error = f"Wrong response from the webhook: {response.code} {response.reason}"
            except Exception as exc:  # connection refused etc.: retry, as Telegram does
                error = f"Connection failed: {exc}"
            with self._lock:
                if error is None:
                    self._updates = [u for u in self._updates if u is not update]
                    continue
                self._webhook_error = (int(time.time()), error)
            await asyncio.sleep(0.2)

    # -- messages
    def _store_bot_message(self, chat_id: Any, fields: JSON, params: JSON) -> JSON:
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(chat_id, str) and not chat_id.startswith("@"):
            raise ApiError(400, "Bad Request: chat not found")
        chat = self._chat(
            chat_id, "private" if isinstance(chat_id, int) and chat_id > 0 else "group"
        )
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": dict(self.bot_user),
            **fields,
        }
        markup = self._check_markup(params.get("reply_markup"))
        if markup is not None:
            message["reply_markup"] = markup
        with self._lock:
            self._messages.setdefault(chat_id, {})[message["message_id"]] = message
            self._bot_messages.setdefault(chat_id, []).append(message["message_id"])
        return json.loads(json.dumps(message))

    @staticmethod
    def _check_markup(markup: Any) -> JSON | None:
        """Validate an inline keyboard; only inline keyboards are echoed in messages."""
        if isinstance(markup, str) and markup:
            markup = json.loads(markup)
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        for row in markup["inline_keyboard"]:
            for button in row:
                if not button.get("text"):
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    @staticmethod
    def _visible_text(text: Any, parse_mode: Any, *, caption: bool = False) -> str:
        text = "" if text is None else str(text)
        if str(parse_mode or "").upper() == "HTML":
            text = _html_to_text(text)
        if not caption and not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        limit = 1024 if caption else 4096
        if len(text) > limit:
            raise ApiError(
                400,
                "Bad Request: message caption is too long"
                if caption
                else "Bad Request: message is too long",
            )
        return text

    def _m_sendMessage(self, params: JSON, _call: Call) -> JSON:
        text = self._visible_text(params.get("text"), params.get("parse_mode"))
        return self._store_bot_message(_chat_key(params.get("chat_id")), {"text": text}, params)

    def _media_fields(self, params: JSON, call: Call, kind: str) -> JSON:
        fields: JSON = {}
        if params.get("caption"):
            fields["caption"] = self._visible_text(
                params["caption"], params.get("parse_mode"), caption=True
            )
        source = params.get(kind)
        if kind in call.files:
            name, content, mime = call.files[kind]
        elif (
            isinstance(source, str) and source.startswith("attach://") and source[9:] in call.files
        ):
            name, content, mime = call.files[source[9:]]
        elif isinstance(source, str) and source in self._files:
            name, content, mime = self._files[source]
        else:
            name, content, mime = (f"{kind}.bin", str(source).encode(), "application/octet-stream")
        file_id = self.add_file(name, content, mime)
        base = {"file_id": file_id, "file_unique_id": "U" + file_id, "file_size": len(content)}
        if kind == "photo":
            fields["photo"] = [{**base, "width": 800, "height": 600}]
        else:
            fields["document"] = {**base, "file_name": name, "mime_type": mime}
        return fields

    def _m_sendDocument(self, params: JSON, call: Call) -> JSON:
        fields = self._media_fields(params, call, "document")
        return self._store_bot_message(_chat_key(params.get("chat_id")), fields, params)

    def _m_sendPhoto(self, params: JSON, call: Call) -> JSON:
        fields = self._media_fields(params, call, "photo")
        return self._store_bot_message(_chat_key(params.get("chat_id")), fields, params)

    def _copy(self, params: JSON, *, forward: bool) -> JSON:
        source = self._messages.get(_chat_key(params.get("from_chat_id")), {}).get(
            int(params.get("message_id") or 0)
        )
        if source is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        keep = ("text", "caption", "document", "photo", "sticker", "location", "voice")
        fields = {k: source[k] for k in keep if k in source}
        if forward:
            fields["forward_origin"] = {
                "type": "user",
                "sender_user": source.get("from"),
                "date": source["date"],
            }
        message = self._store_bot_message(_chat_key(params.get("chat_id")), fields, params)
        return message if forward else {"message_id": message["message_id"]}

    def _m_copyMessage(self, params: JSON, _call: Call) -> JSON:
        return self._copy(params, forward=False)

    def _m_forwardMessage(self, params: JSON, _call: Call) -> JSON:
        return self._copy(params, forward=True)

    def _edit(self, params: JSON, fields: JSON) -> JSON | bool:
        if params.get("inline_message_id"):
            return True
        chat_id = _chat_key(params.get("chat_id"))
        message_id = int(params.get("message_id") or 0)
        with self._lock:
            message = self._messages.get(chat_id, {}).get(message_id)
            if message is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            if message.get("from", {}).get("id") != self.bot_user["id"]:
                raise ApiError(400, "Bad Request: message can't be edited")
            markup = self._check_markup(params.get("reply_markup"))
            new = {k: v for k, v in message.items() if k not in ("reply_markup", "edit_date")}
            new.update(fields)
            if markup is not None:
                new["reply_markup"] = markup
            same = all(new.get(k) == message.get(k) for k in ("text", "caption", "reply_markup"))
            if same:
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            new["edit_date"] = int(time.time())
            self._messages[chat_id][message_id] = new
            return json.loads(json.dumps(new))

    def _m_editMessageText(self, params: JSON, _call: Call) -> JSON | bool:
        text = self._visible_text(params.get("text"), params.get("parse_mode"))
        return self._edit(params, {"text": text})

    def _m_editMessageCaption(self, params: JSON, _call: Call) -> JSON | bool:
        caption = self._visible_text(params.get("caption"), params.get("parse_mode"), caption=True)
        return self._edit(params, {"caption": caption})

    def _m_editMessageReplyMarkup(self, params: JSON, _call: Call) -> JSON | bool:
        return self._edit(params, {})

    def _m_getFile(self, params: JSON, _call: Call) -> JSON:
        file_id = str(params.get("file_id") or "")
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        name, content, _mime = stored
        suffix = name.rsplit(".", 1)[-1] if "." in name else "bin"
        return {
            "file_id": file_id,
            "file_unique_id": "U" + file_id,
            "file_size": len(content),
            "file_path": f"documents/{file_id}.{suffix}",
        }

    def file_content(self, file_path: str) -> bytes | None:
        """The bytes served at /file/bot<token>/<file_path>, or None."""
        file_id = file_path.rsplit("/", 1)[-1].split(".", 1)[0]
        with self._lock:
            stored = self._files.get(file_id)
        return stored[1] if stored else None

    # -- commands and chats
    @staticmethod
    def _scope_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _m_setMyCommands(self, params: JSON, _call: Call) -> bool:
        commands = params.get("commands") or []
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))) or not c.get(
                "description"
            ):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        with self._lock:
            self._commands[self._scope_key(params)] = list(commands)
        return True

    def _m_getMyCommands(self, params: JSON, _call: Call) -> list[JSON]:
        with self._lock:
            return list(self._commands.get(self._scope_key(params), []))

    def _m_deleteMyCommands(self, params: JSON, _call: Call) -> bool:
        with self._lock:
            self._commands.pop(self._scope_key(params), None)
        return True

    def commands(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        """The command menu set for a language (and scope), as getMyCommands answers it."""
        key = json.dumps(scope or {"type": "default"}, sort_keys=True), language_code
        with self._lock:
            return list(self._commands.get(key, []))

    def _m_getChat(self, params: JSON, _call: Call) -> JSON:
        chat_id = _chat_key(params.get("chat_id"))
        with self._lock:
            chat = self._chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }


class _MethodHandler(tornado.web.RequestHandler):
    """/bot<token>/<method>: decode params (query, JSON, form, multipart), record, answer."""

    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    def check_xsrf_cookie(self) -> None:  # an API, not a browser form
        return None

    def _params(self) -> tuple[JSON, dict[str, tuple[str, bytes, str]]]:
        params: JSON = {}
        for name, values in self.request.query_arguments.items():
            params[name] = _decode_value(name, values[-1].decode())
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and self.request.body:
            body = json.loads(self.request.body)
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: parameters must be a JSON object")
            params.update(body)
        else:
            for name, values in self.request.body_arguments.items():
                params[name] = _decode_value(name, values[-1].decode())
        files: dict[str, tuple[str, bytes, str]] = {}
        for name, uploads in self.request.files.items():
            upload = uploads[-1]
            files[name] = (upload.filename, upload.body, upload.content_type)
            params.setdefault(name, {"filename": upload.filename, "size": len(upload.body)})
        return params, files

    async def get(self, token: str, method: str) -> None:
        await self.post(token, method)

    async def post(self, token: str, method: str) -> None:
        api = self.api
        if api.token is not None and token != api.token:
            self._answer(ApiError(401, "Unauthorized").body(), 401)
            return
        try:
            params, files = self._params()
        except (ValueError, ApiError) as exc:
            error = exc if isinstance(exc, ApiError) else ApiError(400, f"Bad Request: {exc}")
            self._answer(error.body(), error.code)
            return
        call = api._record(method, params, files)
        try:
            result = await api._handle(method, params, call)
        except ApiError as error:
            api._finish(call, error=error)
            self._answer(error.body(), error.code)
            return
        api._finish(call, result=result)
        self._answer({"ok": True, "result": result}, 200)

    def _answer(self, body: JSON, status: int) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        with contextlib.suppress(tornado.iostream.StreamClosedError):
            self.finish(json.dumps(body, ensure_ascii=False))

    def on_connection_close(self) -> None:  # the client gave up (e.g. killed): nothing to do
        return None


class _FileHandler(tornado.web.RequestHandler):
    """/file/bot<token>/<file_path>: the file download."""

    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    def get(self, token: str, file_path: str) -> None:
        if self.api.token is not None and token != self.api.token:
            raise tornado.web.HTTPError(401)
        content = self.api.file_content(file_path)
        if content is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(content)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (for the bot's webhook listener)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
