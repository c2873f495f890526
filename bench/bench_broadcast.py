"""Benchmark: one publication broadcast to many subscribers against a local Bot API stub.

    python bench/bench_broadcast.py [--subscribers 10000] [--rate 100] [--runs 3]
                                    [--server fast|fake] [--limiter]

Builds a SQLite store with N subscribers (all items), publishes the synthetic follow-up
notice (tests/data/followup_notice_TEST_FIXTURE.txt, a test fixture) over the bundled one,
then runs the real sender (services/broadcast.py) with BROADCAST_RATE raised to `--rate`
against a Bot API over HTTP on 127.0.0.1 in its own process. By default that is
bench/fast_bot_api.py (raw asyncio HTTP/1.1 with keep-alive, thousands of requests/s, so the
sender is what is measured); `--server fake` uses tests/fakebotapi.py (tornado, records and
validates everything, but serves only about 150 requests/s, so rates above ~120/s measure
that server, not the sender). `--limiter` sends through an ExtBot with the AIORateLimiter
bot.py configures for this BROADCAST_RATE, to show it does not cap the broadcast.

Prints, per run and as the median of the runs: the queue build time (diff, reach and one
outbox row per subscriber), messages/s achieved as a ratio of the configured rate (target
>= 0.95), whether every subscriber got exactly one message, and peak memory (max RSS) of the
sending process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from telegram import Bot  # noqa: E402
from telegram.ext import ExtBot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot import broadcast_rate_limiter  # noqa: E402
from knowledge import KnowledgeBase  # noqa: E402
from knowledge.publish import commit_publication, load_candidate, plan_publication  # noqa: E402
from services.broadcast import Broadcaster  # noqa: E402
from store import open_store  # noqa: E402
from store.sqlite import SQLiteStore  # noqa: E402

FIXTURE = ROOT / "tests/data/followup_notice_TEST_FIXTURE.txt"
TOKEN = "123456:BENCH"
FAKE_SERVER = """
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


def start_server(kind: str) -> tuple[subprocess.Popen[str], str]:
    if kind == "fast":
        command = [sys.executable, str(ROOT / "bench" / "fast_bot_api.py")]
    else:
        command = [sys.executable, "-c", FAKE_SERVER, str(ROOT / "tests")]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


async def run_once(
    subscribers: int, rate: float, server_kind: str, limiter: bool
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    store = open_store(f"sqlite:///{workdir / 'bench.sqlite3'}")
    assert isinstance(store, SQLiteStore)
    await store.open()
    await populate(store, subscribers)
    current = KnowledgeBase.load_default().notice
    candidate = load_candidate(FIXTURE.read_text(encoding="utf-8"), FIXTURE.name)

    start = time.perf_counter()
    plan = await plan_publication(store, current, candidate.notice)
    _, queued = await commit_publication(
        store, plan, candidate, None, datetime.now(UTC) + timedelta(days=7)
    )
    build = time.perf_counter() - start

    server, root = start_server(server_kind)
    assert server.stdout is not None and server.stdin is not None
    request = HTTPXRequest(connection_pool_size=256)
    if limiter:
        bot: Bot = ExtBot(
            TOKEN, base_url=f"{root}/bot", request=request,
            rate_limiter=broadcast_rate_limiter(rate),
        )
    else:
        bot = Bot(TOKEN, base_url=f"{root}/bot", request=request)
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
    # Steady-state rate as the server saw it (first to last message), and end to end.
    span = seen["last"] - seen["first"] if "last" in seen else 0.0
    return {
        "build": build,
        "queued": queued,
        "sent": sender.sent,
        "elapsed": elapsed,
        "ratio": sender.sent / elapsed / rate,
        "server_ratio": ((seen["sends"] - 1) / span / rate) if span > 0 else float("nan"),
        "exactly_once": seen["sends"] == seen["unique"] == subscribers,
        "received": seen["sends"],
    }


async def run(subscribers: int, rate: float, runs: int, server_kind: str, limiter: bool) -> int:
    rss_before = rss_mb()
    results = []
    for i in range(runs):
        r = await run_once(subscribers, rate, server_kind, limiter)
        results.append(r)
        print(
            f"run {i + 1}: build {r['build']:.2f} s, {r['sent']} sent in {r['elapsed']:.2f} s "
            f"= {r['sent'] / r['elapsed']:.1f} msg/s, ratio {r['ratio']:.3f} "
            f"(server-side {r['server_ratio']:.3f}), one each {r['exactly_once']}",
            flush=True,
        )
    build = statistics.median(r["build"] for r in results)
    ratio = statistics.median(r["ratio"] for r in results)
    exactly_once = all(r["exactly_once"] for r in results)
    print(f"subscribers            {subscribers}")
    print(f"server                 {server_kind}; AIORateLimiter {'on' if limiter else 'off'}")
    print(f"queue build            {build:.2f} s median of {runs} ({results[0]['queued']} rows)")
    print(f"configured rate        {rate:.0f} msg/s")
    print(f"achieved               {ratio * rate:.1f} msg/s median of {runs}")
    print(f"ratio to the limit     {ratio:.3f} (target >= 0.95)")
    print(f"one message each       {exactly_once} (received {[r['received'] for r in results]})")
    print(f"peak RSS               {rss_mb():.0f} MB (at start {rss_before:.0f} MB)")
    return 0 if ratio >= 0.95 and exactly_once else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0, help="BROADCAST_RATE for the run")
    parser.add_argument("--runs", type=int, default=1, help="runs; medians are reported")
    parser.add_argument("--server", choices=("fast", "fake"), default="fast")
    parser.add_argument("--limiter", action="store_true", help="send through AIORateLimiter")
    args = parser.parse_args()
    return asyncio.run(run(args.subscribers, args.rate, args.runs, args.server, args.limiter))


if __name__ == "__main__":
    sys.exit(main())
