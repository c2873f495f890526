"""`python -m knowledge ask|show|validate` as whole processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "knowledge", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


class TestAskJson:
    def test_arguments_one_line_each_in_order(self) -> None:
        """Each argument gives one JSON line, in order, with the interface's four keys."""
        result = _run("ask", "--json", "污水处理厂三期", "你好", "电话多少")
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 3
        answers = [json.loads(line) for line in lines]
        assert [a["question"] for a in answers] == ["污水处理厂三期", "你好", "电话多少"]
        assert [a["kind"] for a in answers] == ["item", "none", "contact"]
        assert answers[0]["items"] == [12]
        assert set(answers[0]) == {"question", "kind", "items", "score"}
        assert all(0.0 <= a["score"] <= 1.0 for a in answers)

    def test_stdin_lines(self) -> None:
        """Without arguments, every stdin line (even an empty one) is answered in order."""
        result = _run("ask", "--json", stdin="污水厂\n\nsewage plant\n招标\n")
        lines = result.stdout.splitlines()
        assert len(lines) == 4
        answers = [json.loads(line) for line in lines]
        assert [a["question"] for a in answers] == ["污水厂", "", "sewage plant", "招标"]
        assert answers[1]["kind"] == "none"
        assert answers[3]["kind"] == "ambiguous"

    def test_chinese_is_not_escaped(self) -> None:
        """JSON output keeps Chinese characters readable (ensure_ascii off)."""
        assert "污水厂" in _run("ask", "--json", "污水厂").stdout


class TestAskHuman:
    def test_item_answer_in_chinese(self) -> None:
        """A Chinese question gets the item, its status and the notice's words."""
        out = _run("ask", "污水处理厂三期").stdout
        assert "第12项" in out and "推进中" in out and "园区污水处理厂三期项目已开工建设" in out

    def test_none_answer_in_english_gives_contacts(self) -> None:
        """An uncovered English question says so and lists the contact channels."""
        out = _run("ask", "weather in Meishan tomorrow").stdout
        assert "does not cover" in out and "028-38183651" in out


class TestShowAndValidate:
    def test_show_item(self) -> None:
        """show N prints the item in full."""
        result = _run("show", "23")
        assert result.returncode == 0
        assert "人才公寓" in result.stdout

    def test_show_unknown_item(self) -> None:
        """show of a missing item fails with a message."""
        result = _run("show", "99")
        assert result.returncode == 1
        assert "no item 99" in result.stderr

    def test_validate_ok(self) -> None:
        """validate on the bundled files exits 0 and prints counts."""
        result = _run("validate")
        assert result.returncode == 0, result.stderr
        assert "52 items in 4 areas (23, 18, 7, 4)" in result.stdout

    def test_validate_reports_bad_enrichment(self, tmp_path: Path) -> None:
        """validate exits 1 with file:line errors when enrichment is broken."""
        code = (
            "import sys, knowledge.enrich as e, pathlib;"
            f"e.ENRICHMENT = pathlib.Path({str(tmp_path / 'enrichment.yaml')!r});"
            "e.load_enrichment.__defaults__ = (e.ENRICHMENT, e.SYNONYMS, e.OVERRIDES);"
            "from knowledge.cli import main; sys.exit(main(['validate']))"
        )
        (tmp_path / "enrichment.yaml").write_text("items:\n  1: {en_title: ''}\n",
                                                  encoding="utf-8")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                cwd=ROOT, timeout=60, check=False)
        assert result.returncode == 1
        assert "enrichment.yaml:2: item 1 en_title is empty" in result.stderr
