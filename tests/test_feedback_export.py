"""The CSV export of all feedback: BOM for Excel, Chinese round-trip, formulas defused, CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.feedback_export import BOM, export_csv
from store import NewFeedback, Store, open_store

ROOT = Path(__file__).resolve().parents[1]
TEXT = "污水处理厂扩建进度慢，\n雨天外溢，“请尽快”处理, 谢谢"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'export.sqlite3'}")
    await s.open()
    await s.add_feedback(NewFeedback(4242, 4242, "complaint", 12, TEXT, "张先生", "+86 138"), [])
    await s.add_feedback(
        NewFeedback(5151, 5151, "other", None, "=HYPERLINK(1) 公式", None, None), []
    )
    yield s
    await s.close()


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


class TestCsv:
    async def test_starts_with_the_bom(self, store: Store) -> None:
        """The file starts with the UTF-8 byte-order mark so that Excel reads it as UTF-8."""
        data = await export_csv(store)
        assert data.startswith(BOM.encode("utf-8"))

    async def test_chinese_round_trips(self, store: Store) -> None:
        """Parsing the CSV gives back the Chinese text (commas, quotes, newline) and contact."""
        header, first, _ = rows(await export_csv(store))
        assert header[0].startswith("编号")
        assert first[2] == "投诉举报" and first[3] == "12" and first[4] == TEXT
        assert first[5:7] == ["张先生", "'+86 138"]

    async def test_oldest_first_without_telegram_ids(self, store: Store) -> None:
        """Rows are oldest first and no Telegram id is exported."""
        data = await export_csv(store)
        _, first, second = rows(data)
        assert first[0].endswith("-0001") and second[0].endswith("-0002")
        assert b"4242" not in data and b"5151" not in data

    async def test_formulas_are_defused(self, store: Store) -> None:
        """A text a spreadsheet would run as a formula is prefixed with an apostrophe."""
        *_, second = rows(await export_csv(store))
        assert second[4] == "'=HYPERLINK(1) 公式"


class TestCli:
    async def test_cli_writes_the_file(self, store: Store, tmp_path: Path) -> None:
        """`python -m services.feedback_export --database-url … -o FILE` writes the same CSV."""
        out = tmp_path / "out.csv"
        url = f"sqlite:///{tmp_path / 'export.sqlite3'}"
        command = [sys.executable, "-m", "services.feedback_export", "--database-url", url]
        result = await asyncio.to_thread(
            subprocess.run, [*command, "-o", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "2 feedback rows" in result.stderr
        assert out.read_bytes() == await export_csv(store)

    def test_cli_rejects_a_bad_url(self, tmp_path: Path) -> None:
        """An unusable database URL ends with an error, not a traceback."""
        result = subprocess.run(
            [sys.executable, "-m", "services.feedback_export", "--database-url", "mysql://x"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode != 0 and "unsupported store URL" in result.stderr
        assert "Traceback" not in result.stderr
