"""Benchmark: one publication broadcast to many subscribers against the local fake Bot API.

    python bench/bench_broadcast.py [--subscribers 10000] [--rate 100]

Builds a SQLite store with N subscribers (all items), publishes the synthetic follow-up
notice (tests/data/followup_notice_TEST_FIXTURE.txt, a test fixture) over the bundled one,
then runs the real sender (services/broadcast.py) with BROADCAST_RATE raised to `--rate`
against tests/fakebotapi.py over HTTP on 127.0.0.1, in its own process (in-process, its thread
would compete with the sender for the GIL; on its own it serves about 150 requests/s, so
rates above ~120/s measure the fake server, not the sender). Prints the queue build time
(diff, reach and one outbox row per subscriber), messages/s achieved as a ratio of the
configured rate (target >= 0.95), whether every subscriber got exactly one message, and
peak memory of the sending process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from telegram import Bot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from knowledge import KnowledgeBase  # noqa: E402
from knowledge.publish import commit_publication, load_candidate, plan_publication  # noqa: E402
from services.broadcast import Broadcaster  # noqa: E402
from store import open_store  # noqa: E402
from store.sqlite import SQLiteStore  # noqa: E402

FIXTURE = ROOT / "tests/data/followup_notice_TEST_FIXTURE.txt"
TOKEN = "123456:BENCH"
SERVER = """
import json, sys
sys.path[:0] = [sys.argv[1]]
from fakebotapi import FakeBotApi
with FakeBotApi() as api:
    print(api.root, flush=True)
    sys.stdin.read()
    chats = [c.chat_id for c in api.calls("sendMessage") if c.ok]
    print(json.dumps({"sends": len(chats), "unique": len(set(chats))}), flush=True)
"""


def rss_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def populate(store: SQLiteStore, n: int) -> None:
    """N users, each following all items, a third of them in English (set-up, not measured)."""
    db = store._conn  # bulk set-up straight into the tables
    now = datetime.now(UTC).isoformat()
    await db.execute("BEGIN")
    await db.executemany(
        "INSERT INTO users (user_id, chat_id, language, frequency, active, created_at) "
        "VALUES (?, ?, ?, 'immediate', 1, ?)",
        [(uid, uid, "en" if uid % 3 == 0 else None, now) for uid in range(1, n + 1)],
    )
    await db.executemany(
        "INSERT INTO subscriptions (user_id, chat_id, scope, target, created_at) "
        "VALUES (?, ?, 'all', NULL, ?)",
        [(uid, uid, now) for uid in range(1, n + 1)],
    )
    await db.execute("COMMIT")


async def run(subscribers: int, rate: float) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    store = open_store(f"sqlite:///{workdir / 'bench.sqlite3'}")
    assert isinstance(store, SQLiteStore)
    await store.open()
    await populate(store, subscribers)
    current = KnowledgeBase.load_default().notice
    candidate = load_candidate(FIXTURE.read_text(encoding="utf-8"), FIXTURE.name)
    rss_before = rss_mb()

    start = time.perf_counter()
    plan = await plan_publication(store, current, candidate.notice)
    _, queued = await commit_publication(
        store, plan, candidate, None, datetime.now(UTC) + timedelta(days=7)
    )
    build = time.perf_counter() - start

    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measurement
        [sys.executable, "-c", SERVER, str(ROOT / "tests")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    root = server.stdout.readline().strip()
    bot = Bot(TOKEN, base_url=f"{root}/bot", request=HTTPXRequest(connection_pool_size=256))
    await bot.initialize()
    sender = Broadcaster(bot, store, rate=rate)
    start = time.perf_counter()
    await sender.drain()
    elapsed = time.perf_counter() - start
    await bot.shutdown()
    server.stdin.close()
    seen = json.loads(server.stdout.readline())
    server.wait()
    await store.close()

    achieved = sender.sent / elapsed
    ratio = achieved / rate
    exactly_once = seen["sends"] == seen["unique"] == subscribers
    print(f"subscribers            {subscribers}")
    print(f"queue build            {build:.2f} s ({queued} rows: diff, reach, one row each)")
    print(f"configured rate        {rate:.0f} msg/s")
    print(f"sent                   {sender.sent} in {elapsed:.2f} s = {achieved:.1f} msg/s")
    print(f"ratio to the limit     {ratio:.3f} (target >= 0.95)")
    print(f"one message each       {exactly_once} ({seen['sends']} received by the fake API)")
    print(f"peak RSS               {rss_mb():.0f} MB (before the publication {rss_before:.0f} MB)")
    return 0 if ratio >= 0.95 and exactly_once else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0, help="BROADCAST_RATE for the run")
    args = parser.parse_args()
    return asyncio.run(run(args.subscribers, args.rate))


if __name__ == "__main__":
    sys.exit(main())
