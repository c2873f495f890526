"""Test kit for the feedback flow, on top of the shared harness (auxil.harness/request/updates).

Adds what only the feedback tests need: photo and document messages, a transport that serves
the files citizens "uploaded" to `getFile` and the file download (so the mailer's attachment
path runs for real), a real SMTP server (aiosmtpd) on 127.0.0.1, and a short way through the
form.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from telegram import Bot, Update
from telegram.request import RequestData

from auxil import updates
from auxil.harness import BotHarness
from auxil.request import Call, RecordingRequest

USER_ID = updates.USER_ID
WASTEWATER = "污水处理厂扩建一直没完工，雨天污水外溢，附近居民很受影响，希望尽快解决。"


class FileRequest(RecordingRequest):
    """A RecordingRequest that also serves uploaded files: getFile, then the download."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:
            self.calls.append(Call("download", {"path": url.rsplit("/", 1)[-1]}))
            return 200, self.files[url.rsplit("/", 1)[-1]]
        return await super().do_request(url, method, request_data, *args, **kwargs)

    def result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getFile":
            file_id = params["file_id"]
            size = len(self.files.get(file_id, b""))
            return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": size,
                    "file_path": file_id}  # fmt: skip
        return super().result(name, params)


def photo_update(bot: Bot, file_id: str, caption: str | None = None, **kw: Any) -> Update:
    """A photo message in the three sizes Telegram sends (the largest has `file_id`)."""
    sizes = [
        {"file_id": f"{file_id}-{w}", "file_unique_id": f"u{file_id}{w}", "width": w,
         "height": w, "file_size": w * 10}
        for w in (90, 320, 1280)
    ]  # fmt: skip
    sizes[-1]["file_id"] = file_id
    fields: dict[str, Any] = {"photo": sizes}
    if caption is not None:
        fields["caption"] = caption
    return updates.make_update(bot, message=updates.message(None, **fields, **kw))


def document_update(
    bot: Bot, file_id: str, name: str, *, size: int = 1000, mime: str = "application/pdf"
) -> Update:
    """A document message."""
    doc = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": name,
           "mime_type": mime, "file_size": size}  # fmt: skip
    return updates.make_update(bot, message=updates.message(None, document=doc))


def last_reply(calls: list[Call]) -> Call:
    """The last message the bot sent or edited among `calls`."""
    replies = BotHarness.replies(calls)
    assert replies, [c.method for c in calls]
    return replies[-1]


async def fill_form(
    bot: BotHarness,
    *,
    kind: str = "suggestion",
    text: str = WASTEWATER,
    item: int | None = 0,
    contact: str | None = None,
    start: str = "/feedback",
) -> Call:
    """Go through the form up to the preview; returns the preview message."""
    if start.startswith("/"):
        await bot.send(start)
    else:
        await bot.press(start)
    await bot.press(f"fb:kind:{kind}")
    calls = await bot.send(text)
    if item is not None and "fb:item:0" in last_reply(calls).callback_data:
        calls = await bot.press(f"fb:item:{item}")
    if contact is None:
        calls = await bot.press("fb:anon")
    else:
        calls = await bot.send(contact)
    preview = last_reply(calls)
    assert "fb:confirm" in preview.callback_data, preview.text
    return preview


# -- a real SMTP server --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        with self._lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def with_id(self, message_id: str) -> list[EmailMessage]:
        """The received messages with this Message-ID."""
        return [m for m in self.messages if m["Message-ID"] == message_id]


class SmtpServer:
    """aiosmtpd on 127.0.0.1:`port`, started and stopped at will (to simulate an outage)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, decode_data=False
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def env(self) -> dict[str, str]:
        """The settings that point the bot at this server."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port)}


async def wait_until(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 5.0
) -> None:
    """Poll `condition` until it is true (AssertionError after `within` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
