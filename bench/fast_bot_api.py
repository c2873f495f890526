"""A minimal, fast Bot API stub for benchmarks: raw asyncio HTTP/1.1 with keep-alive.

    python bench/fast_bot_api.py     # prints its root URL; close stdin to stop it

Unlike tests/fakebotapi.py (tornado, validates and records every call, about 150 requests/s),
this answers as fast as one core allows so that a benchmark measures the client, not the
server: `getMe` returns a bot user, `sendMessage` a valid Message echoing the chat, text and
keyboard (what Telegram returns, so the client parses a realistic reply), anything else `true`.
It counts sendMessage calls per chat; when stdin closes it prints one JSON line
{"sends": N, "unique": M, "first": t0, "last": t1} (monotonic seconds of the first and last
sendMessage) and exits. Run it in its own process so it does not share the client's GIL.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from urllib.parse import parse_qsl

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}

sends: Counter[int] = Counter()
times: list[float] = []
ids = itertools.count(1)


def answer(method: str, body: bytes, content_type: str) -> bytes:
    if content_type.startswith("application/json"):
        params = json.loads(body or b"{}")
    else:
        params = dict(parse_qsl(body.decode()))
    if method == "getMe":
        result: object = BOT_USER
    elif method == "sendMessage":
        chat_id = int(params["chat_id"])
        sends[chat_id] += 1
        now = time.monotonic()
        if not times:
            times.append(now)
        times[1:] = [now]
        message = {
            "message_id": next(ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        markup = params.get("reply_markup")
        if markup:
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        result = message
    else:
        result = True
    return json.dumps({"ok": True, "result": result}).encode()


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            payload = answer(path.rsplit("/", 1)[-1], body, headers.get("content-type", ""))
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(payload), payload)
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the client closes our stdin
    server.close()
    first, last = (times[0], times[-1]) if times else (0.0, 0.0)
    report = {"sends": sum(sends.values()), "unique": len(sends), "first": first, "last": last}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
