"""Offline dispatch throughput of the full bot beside a bare echo bot, in the same run.

    python bench/bench_dispatch.py [--updates 1500] [--rounds 5]

Both Applications get the same pre-built update JSON (a realistic mix: questions in zh and en
of every decision kind, item/browse buttons, commands) through `Update.de_json` and
`application.process_update`, one after another, with a local Bot API transport that answers
every call (no network). The full bot is `bot.build_application` with its real SQLite store
and knowledge base; only the rate limiter is off (it paces calls to Telegram's limits on
purpose, which is not what this measures). Users are spread so the flood throttle lets them
through, as it would for a crowd of citizens.

Prints updates/s of each (median of the rounds), their ratio (target ≥ 0.5), and the RSS of
this process after the full bot has started.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import OFFLINE_TOKEN, build_application, start_offline, stop_offline  # noqa: E402
from console import BOT_USER, LocalBotAPI  # noqa: E402
from settings import Settings  # noqa: E402

QUESTIONS_ZH = [
    "污水处理厂扩建了吗",
    "电力设施建设进度",
    "食堂管理混乱怎么整改的",
    "招标",
    "你们电话多少",
    "一共有几个问题",
    "是谁巡察的",
    "今天天气怎么样",
    "人才公寓建好了吗",
    "欠薪问题解决了没有",
    "第一议题",
    "债务风险",
]
QUESTIONS_EN = [
    "What about power lines?",
    "Was the wastewater plant expanded?",
    "How can I contact the office?",
    "Who won the football match?",
    "canteen management",
]
COMMANDS = ["/progress", "/item 12", "/start", "/browse", "/contact", "/item 45"]
BUTTONS = [
    "item:13",
    "item:23",
    "browse:area:1:0",
    "browse:area:1:1",
    "browse:area:2:0",
    "browse:item:12:1",
    "browse:areas",
    "contact",
    "progress",
]


def rss_mib() -> float:
    """Resident set size of this process, in MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


DEVSET = ROOT / "tests" / "data" / "devset.yaml"


def questions() -> tuple[list[str], list[str]]:
    """Chinese and English questions: the matcher's development set (hundreds of real-looking
    questions of every kind) when present, else the short lists above."""
    if not DEVSET.is_file():
        return QUESTIONS_ZH, QUESTIONS_EN
    entries = yaml.safe_load(DEVSET.read_text(encoding="utf-8"))
    zh = [e["q"] for e in entries if e.get("lang") != "en"]
    en = [e["q"] for e in entries if e.get("lang") == "en"]
    return zh or QUESTIONS_ZH, en or QUESTIONS_EN


def workload(count: int, users: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` update dicts: ~60% questions, ~25% button presses, ~15% commands."""
    rng = random.Random(seed)
    questions_zh, questions_en = questions()
    result: list[dict[str, Any]] = []
    for i in range(count):
        user_id = 10_000 + i % users
        english = rng.random() < 0.25
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": "U",
            "language_code": "en" if english else "zh",
        }
        chat = {"id": user_id, "type": "private", "first_name": "U"}
        roll = rng.random()
        if roll < 0.25:
            bot_message = {
                "message_id": i + 1,
                "date": 0,
                "chat": chat,
                "from": BOT_USER,
                "text": "earlier",
            }
            query = {
                "id": str(i),
                "from": user,
                "chat_instance": "b",
                "data": rng.choice(BUTTONS),
                "message": bot_message,
            }
            result.append({"update_id": i, "callback_query": query})
            continue
        if roll < 0.40:
            text = rng.choice(COMMANDS)
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        else:
            text = rng.choice(questions_en if english else questions_zh)
            entities = []
        message = {"message_id": i + 1, "date": 0, "chat": chat, "from": user, "text": text}
        if entities:
            message["entities"] = entities
        result.append({"update_id": i, "message": message})
    return result


def echo_application() -> Application:  # type: ignore[type-arg]
    """The baseline: echo every text, answer every button, nothing else."""

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    async def answer(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()

    app = ApplicationBuilder().token(OFFLINE_TOKEN).request(LocalBotAPI()).updater(None).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(answer))
    return app


async def dispatch(app: Application, items: list[dict[str, Any]]) -> float:  # type: ignore[type-arg]
    """Updates per second for one pass over `items`."""
    started = time.perf_counter()
    for data in items:
        await app.process_update(Update.de_json(data, app.bot))
    return len(items) / (time.perf_counter() - started)


async def run(count: int, rounds: int, users: int) -> None:
    items = workload(count, users)
    with tempfile.TemporaryDirectory() as data_dir:
        env = {"DATA_DIR": data_dir, "USER_BURST": "8", "USER_RATE": "1"}
        settings = Settings.from_env(env, require_token=False)
        full = build_application(settings, request=LocalBotAPI(), updater=False, rate_limiter=False)
        await start_offline(full)
        rss = rss_mib()
        echo = echo_application()
        await echo.initialize()
        await dispatch(full, items[:100])  # warm-up: caches, SQLite pages, first-call costs
        await dispatch(echo, items[:100])
        full_rates, echo_rates = [], []
        for _ in range(rounds):
            # Fresh throttle buckets each round so every round sees the same admitted traffic.
            full.services.extras.pop("throttle", None)  # type: ignore[attr-defined]
            full_rates.append(await dispatch(full, items))
            echo_rates.append(await dispatch(echo, items))
        await echo.shutdown()
        await stop_offline(full)
    full_rate, echo_rate = statistics.median(full_rates), statistics.median(echo_rates)
    ratio = full_rate / echo_rate
    print(f"updates per round: {count} ({users} users), rounds: {rounds}")
    print(
        f"full bot : {full_rate:8.0f} updates/s (median; rounds {[round(r) for r in full_rates]})"
    )
    print(
        f"echo bot : {echo_rate:8.0f} updates/s (median; rounds {[round(r) for r in echo_rates]})"
    )
    verdict = "meets" if ratio >= 0.5 else "BELOW"
    print(f"ratio    : {ratio:.2f} ({verdict} the 0.5 target)")
    print(f"RSS after the full bot started: {rss:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--users", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(run(args.updates, args.rounds, args.users))


if __name__ == "__main__":
    main()
