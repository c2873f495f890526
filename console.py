"""`python bot.py --console`: the real bot, in this terminal, as one local user, with no network.

The same Application and handlers as in Telegram (built by `bot.build_application`); only the
transport differs: `LocalBotAPI`, a `BaseRequest`, answers every Bot API call locally and
prints what the bot sends. Typed lines become message updates (`/commands` get their
bot_command entity); typing the number of a button shown as `[1] …` presses it (a callback
query). EOF (Ctrl-D, or the end of a pipe) or /quit ends the session. Data live in the SQLite
file under DATA_DIR (./data by default), so /lang and the rest persist between sessions.

`LocalBotAPI` is also the base of the tests' recording request (tests/auxil/request.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import itertools
import json
import re
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from settings import Settings

BOT_USER: dict[str, Any] = {
    "id": 1,
    "is_bot": True,
    "first_name": "Rectification bot",
    "username": "rectification_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
}
CONSOLE_USER_ID = 1000
QUIT = {"/quit", "/exit"}

# Methods whose result is a Message (the rest answer True, except the few listed below).
MESSAGE_METHODS = {
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
    "sendPhoto",
    "sendDocument",
    "sendAudio",
    "sendVoice",
    "sendVideo",
    "sendSticker",
    "sendLocation",
    "copyMessage",
    "forwardMessage",
}


class LocalBotAPI(BaseRequest):
    """Answers Bot API calls locally with Bot-API-shaped JSON; `on_call` sees each call.

    getMe returns BOT_USER; methods that return a Message get one with the text, keyboard and
    chat of the call; getUpdates returns no updates; everything else returns True."""

    def __init__(self, on_call: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.on_call = on_call
        self._message_ids = itertools.count(1)

    async def initialize(self) -> None:
        """Nothing to connect."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        result = self.result(name, params)
        if self.on_call is not None:
            self.on_call(name, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def result(self, name: str, params: dict[str, Any]) -> Any:
        """The `result` of a successful call of Bot API method `name`."""
        if name == "getMe":
            return BOT_USER
        if name == "getUpdates":
            return []
        if name in {"getMyCommands", "getChatAdministrators"}:
            return []
        if name == "getChat":
            return {"id": params.get("chat_id", 0), "type": "private"}
        if name in MESSAGE_METHODS:
            if name.startswith("edit") and "inline_message_id" in params:
                return True
            return self.message(name, params)
        return True

    def message(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """The Message a send or edit call produces."""
        chat_id = params.get("chat_id", CONSOLE_USER_ID)
        message_id = params.get("message_id") if name.startswith("edit") else None
        message: dict[str, Any] = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if int(chat_id) > 0 else "group"},
            "from": BOT_USER,
        }
        if "text" in params:
            message["text"] = params["text"]
        if "caption" in params:
            message["caption"] = params["caption"]
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message


_TAG = re.compile(r"<a\s+href=\"([^\"]*)\">(.*?)</a>|<[^>]+>", re.S)


def html_to_text(text: str) -> str:
    """Telegram HTML as plain terminal text: tags dropped, links shown with their address."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return f"{match.group(2)} ({match.group(1)})"
        return ""

    return html.unescape(_TAG.sub(replace, text))


class Console:
    """One local user talking to the Application; prints what the bot sends."""

    def __init__(self, out: TextIO, language: str = "zh") -> None:
        self.out = out
        self.language = language
        self.buttons: list[dict[str, Any]] = []  # the last keyboard's buttons, in order
        self.keyboard_message: dict[str, Any] | None = None
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1_000_000)

    # -- what the bot sends -------------------------------------------------------------
    def on_call(self, name: str, params: dict[str, Any]) -> None:
        """Print one Bot API call the way a chat client would show it."""
        if name in {"sendMessage", "editMessageText"}:
            marker = "" if name == "sendMessage" else "(edited) "
            self.print(f"\n{marker}{html_to_text(str(params.get('text', '')))}")
            self.show_keyboard(params)
        elif name == "answerCallbackQuery" and params.get("text"):
            self.print(f"[{html_to_text(str(params['text']))}]")
        elif name in {"sendPhoto", "sendDocument", "sendVoice", "sendVideo", "sendAudio"}:
            caption = html_to_text(str(params.get("caption", "")))
            self.print(f"\n({name.removeprefix('send').lower()} sent) {caption}".rstrip())
        elif name == "answerInlineQuery":
            self.print(f"({len(params.get('results', []))} inline results)")

    def show_keyboard(self, params: dict[str, Any]) -> None:
        markup = params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        if not rows:
            return
        self.buttons = [button for row in rows for button in row]
        self.keyboard_message = {
            "message_id": params.get("message_id") or next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": BOT_USER,
            "text": params.get("text", ""),
            "reply_markup": markup,
        }
        for number, button in enumerate(self.buttons, start=1):
            url = f" → {button['url']}" if "url" in button else ""
            self.print(f"  [{number}] {button['text']}{url}")

    def print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # -- what the user types ----------------------------------------------------------------
    @property
    def user(self) -> dict[str, Any]:
        return {
            "id": CONSOLE_USER_ID,
            "is_bot": False,
            "first_name": "Console",
            "language_code": self.language,
        }

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": CONSOLE_USER_ID, "type": "private", "first_name": "Console"}

    def update_for(self, line: str) -> dict[str, Any]:
        """The update a typed line becomes: a button press for a listed number, else a message."""
        if line.isdigit() and self.keyboard_message and 1 <= int(line) <= len(self.buttons):
            button = self.buttons[int(line) - 1]
            if "callback_data" in button:
                return {
                    "update_id": next(self._update_ids),
                    "callback_query": {
                        "id": str(next(self._update_ids)),
                        "from": self.user,
                        "chat_instance": "console",
                        "data": button["callback_data"],
                        "message": self.keyboard_message,
                    },
                }
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.user,
            "text": line,
        }
        if line.startswith("/"):
            command = line.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": next(self._update_ids), "message": message}

    async def feed(self, application: Application, line: str) -> None:  # type: ignore[type-arg]
        """Turn one typed line into an update and let the application handle it."""
        data = self.update_for(line)
        button = data.get("callback_query")
        if (
            button is None
            and line.isdigit()
            and self.buttons
            and 1 <= int(line) <= len(self.buttons)
        ):
            url = self.buttons[int(line) - 1].get("url")
            if url:
                self.print(f"(opens {url})")
                return
        await application.process_update(Update.de_json(data, application.bot))


async def session(settings: Settings, stdin: TextIO, out: TextIO, language: str = "zh") -> None:
    """Run the console until EOF or /quit."""
    from bot import build_application, start_offline, stop_offline

    console = Console(out, language)
    # The person at the terminal runs the bot: they are staff (so /unanswered works and the
    # flood throttle does not trip on a pasted script).
    settings = dataclasses.replace(settings, admin_ids=settings.admin_ids | {CONSOLE_USER_ID})
    application = build_application(settings, request=LocalBotAPI(console.on_call), updater=False)
    await start_offline(application)  # the job queue (timeouts, digests) runs as in production
    try:
        interactive = stdin.isatty()
        if interactive:
            console.print(
                "Console mode: type a question, a /command, or a button's number. "
                "/quit or Ctrl-D to leave."
            )
        await console.feed(application, "/start")
        while True:
            if interactive:
                print("\n> ", end="", file=out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            line = line.strip()
            if line in QUIT:
                break
            if line:
                await console.feed(application, line)
    finally:
        await stop_offline(application)


def run(settings: Settings, language: str = "zh") -> int:
    """Entry point of `python bot.py --console`; returns the exit code."""
    try:
        asyncio.run(session(settings, sys.stdin, sys.stdout, language))
    except KeyboardInterrupt:
        print(file=sys.stdout)
    return 0
