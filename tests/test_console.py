"""`python bot.py --console` driven through a pipe: the real bot, no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from console import html_to_text

ROOT = Path(__file__).resolve().parent.parent


def run_console(lines: list[str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env |= {"DATA_DIR": str(tmp_path / "data"), "PYTHONIOENCODING": "utf-8"}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "--console", *args],
        input="".join(f"{line}\n" for line in lines),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class TestConsole:
    def test_question_button_and_progress(self, tmp_path):
        """A Chinese question, a button number and /progress are answered; EOF exits 0."""
        result = run_console(["污水处理厂扩建了吗", "1", "/progress"], tmp_path)
        out = result.stdout
        assert result.returncode == 0, result.stderr
        assert "第12项 · 污水处理能力已趋于饱和" in out  # the question
        assert "[1] 相关：第" in out
        pressed = out.split("[1] 相关：第", 1)[1].split("项", 1)[0]
        assert f"第{pressed}项 ·" in out.split("[1] 相关：第", 1)[1]  # the button's card
        assert "31/52" in out  # /progress
        assert "<b>" not in out  # HTML is turned into plain text

    def test_quit_and_persisted_language(self, tmp_path):
        """/lang en persists in the data dir: a second session answers in English."""
        first = run_console(["/lang en", "/quit", "never read"], tmp_path)
        assert first.returncode == 0 and "Language set to English." in first.stdout
        second = run_console(["/progress"], tmp_path)
        assert "Progress" in second.stdout and (tmp_path / "data").is_dir()

    def test_browse_edits_are_shown(self, tmp_path):
        """Browsing with numbers shows edited pages and item cards."""
        result = run_console(["/browse", "4", "1"], tmp_path)
        assert "(edited)" in result.stdout and "第49项" in result.stdout


class TestHtmlToText:
    def test_tags_and_entities(self):
        """Tags are dropped, entities unescaped, links keep their address."""
        html = '<b>a</b> &lt;b&gt; <a href="https://t.me/x">x</a>'
        assert html_to_text(html) == "a <b> x (https://t.me/x)"
