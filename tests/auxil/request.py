"""A Bot API transport for offline tests: records every call, answers like Telegram would.

It extends the console's `LocalBotAPI` (getMe, Message-shaped results for sends and edits, True
for the rest) with a record of the calls and with scripted failures::

    request = RecordingRequest()
    request.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    ...
    request.calls_of("sendMessage")[-1].params["text"]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from telegram.request import RequestData

from console import LocalBotAPI


@dataclass(frozen=True, slots=True)
class Call:
    """One Bot API call: the method name and its parameters (JSON-like values)."""

    method: str
    params: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data or url) of every inline button, row by row."""
        markup = self.params.get("reply_markup") or {}
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [
            (b["text"], b.get("callback_data") or b.get("url") or "")
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    @property
    def callback_data(self) -> list[str]:
        return [data for _, data in self.buttons]


class RecordingRequest(LocalBotAPI):
    """Records every call in `calls`; `fail(method, …)` scripts an error for the next calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self._failures: dict[str, list[tuple[int, str, dict[str, Any] | None]]] = {}

    def fail(
        self,
        method: str,
        code: int,
        description: str,
        *,
        times: int = 1,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail with this Bot API error (e.g. 403, or
        429 with parameters={"retry_after": 3})."""
        self._failures.setdefault(method, []).extend([(code, description, parameters)] * times)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        self.calls.append(Call(name, params))
        pending = self._failures.get(name)
        if pending:
            code, description, parameters = pending.pop(0)
            body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
            if parameters:
                body["parameters"] = parameters
            return code, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": self.result(name, params)}).encode()

    # -- accessors -------------------------------------------------------------------------
    def calls_of(self, method: str) -> list[Call]:
        """Every recorded call of `method`, oldest first."""
        return [call for call in self.calls if call.method == method]

    def last(self, method: str) -> Call:
        """The latest call of `method` (AssertionError if there was none)."""
        found = self.calls_of(method)
        assert found, f"no {method} call; calls were {[c.method for c in self.calls]}"
        return found[-1]

    def sent_texts(self) -> list[str]:
        """Texts of every sendMessage and editMessageText, in order."""
        return [c.text for c in self.calls if c.method in {"sendMessage", "editMessageText"}]

    def clear(self) -> None:
        """Forget the calls so far (e.g. the start-up calls)."""
        self.calls.clear()
