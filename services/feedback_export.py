"""All feedback as a CSV file that Excel opens correctly (UTF-8 with a byte-order mark).

Used by the staff command `/feedback_export` and, on the server, by

    python -m services.feedback_export [--database-url URL] [-o FILE]

which writes to FILE or to standard output. The export is for the office: it has the contact
details citizens chose to give, but no Telegram ids. Cells that a spreadsheet would run as a
formula (starting with = + - @) are prefixed with an apostrophe.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from services.mailer import KIND_ZH, shanghai_time

if TYPE_CHECKING:
    from store.base import Feedback, Store

BOM = "\ufeff"
COLUMNS = (
    "编号 reference",
    "时间 time (Asia/Shanghai)",
    "类型 kind",
    "事项 item",
    "内容 text",
    "联系人 name",
    "电话 phone",
    "附件 attachments",
    "语言 language",
    "状态 state",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A cell's text, defused if a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def feedback_rows(feedback: Sequence[Feedback]) -> list[list[str]]:
    """One row of cells per feedback, in the order given."""
    return [
        [
            _cell(f.reference),
            _cell(f"{shanghai_time(f.created_at):%Y-%m-%d %H:%M:%S}"),
            _cell(KIND_ZH.get(f.kind, f.kind)),
            _cell(f.item or ""),
            _cell(f.text),
            _cell(f.contact_name),
            _cell(f.contact_phone),
            _cell(len(f.attachments)),
            _cell(f.language),
            _cell(f.state),
        ]
        for f in feedback
    ]


def to_csv(feedback: Sequence[Feedback]) -> bytes:
    """The CSV file's bytes: BOM, header, one line per feedback, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(feedback_rows(feedback))
    return (BOM + buffer.getvalue()).encode("utf-8")


async def export_csv(store: Store) -> bytes:
    """All feedback in the store, oldest first, as CSV bytes."""
    return to_csv(list(reversed(await store.list_feedback())))


async def _main(database_url: str, output: str | None) -> int:
    from store import open_store

    store = open_store(database_url)
    await store.open()
    try:
        feedback = list(reversed(await store.list_feedback()))
    finally:
        await store.close()
    data = to_csv(feedback)
    if output and output != "-":
        await asyncio.to_thread(Path(output).write_bytes, data)
        print(f"wrote {len(feedback)} feedback rows to {output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: export all feedback of the configured (or given) database."""
    parser = argparse.ArgumentParser(
        prog="python -m services.feedback_export", description="Export all feedback as CSV."
    )
    parser.add_argument("--database-url", help="default: DATABASE_URL from the environment/.env")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    url = args.database_url
    if not url:
        from settings import Settings, SettingsError

        try:
            url = Settings.load(require_token=False).database_url
        except SettingsError as exc:
            parser.error(str(exc))
    try:
        return asyncio.run(_main(url, args.output))
    except ValueError as exc:  # e.g. a DATABASE_URL the store cannot use
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
