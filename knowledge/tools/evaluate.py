"""Score the matcher on a labelled question set and list its mistakes.

Each entry: `{q, expect: item|ambiguous|contact|meta|none, items: [..], lang: zh|en|hant|mixed,
tag}`. Run `python -m knowledge.tools.evaluate tests/data/devset.yaml [--errors]`; with several
sets and `--table`, one Markdown table of their figures (README's).
The categories and thresholds are issue 2's; tests/test_matcher_quality.py asserts them.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.matcher import Decision

# category → minimum share of correct answers
THRESHOLDS = {
    "item zh": 0.97,
    "item en": 0.92,
    "item hant/mixed": 0.95,
    "out of scope → none": 0.95,
    "contact + meta": 0.95,
}
MAX_WRONG_ITEM = 0.01  # wrong `item` answers, as a share of all questions


@dataclass
class Report:
    """Per-category counts and the list of mistakes."""

    total: int = 0
    wrong_item: int = 0
    right: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)

    def rate(self, category: str) -> float:
        return self.right[category] / self.count[category] if self.count[category] else 1.0

    def failures(self) -> list[str]:
        """Categories below their threshold (empty when all hold)."""
        failed = [
            f"{c}: {self.rate(c):.1%} < {t:.0%}"
            for c, t in THRESHOLDS.items()
            if self.rate(c) < t
        ]
        if self.total and self.wrong_item / self.total > MAX_WRONG_ITEM:
            failed.append(f"wrong item: {self.wrong_item / self.total:.1%} > {MAX_WRONG_ITEM:.0%}")
        return failed

    def summary(self) -> str:
        lines = []
        for category in sorted(self.count):
            threshold = THRESHOLDS.get(category)
            mark = f" (≥{threshold:.0%})" if threshold else ""
            lines.append(
                f"{category:24} {self.right[category]:4}/{self.count[category]:<4} "
                f"{self.rate(category):6.1%}{mark}"
            )
        share = self.wrong_item / self.total if self.total else 0.0
        lines.append(f"{'wrong item (of all)':24} {self.wrong_item:4}/{self.total:<4} {share:6.1%} "
                     f"(≤{MAX_WRONG_ITEM:.0%})")
        return "\n".join(lines)


def load(path: Path) -> list[dict[str, Any]]:
    """The entries of a question-set file."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader",
                                                                      yaml.SafeLoader))
    entries = data["questions"] if isinstance(data, dict) else data
    return list(entries)


def categories(entry: dict[str, Any]) -> list[str]:
    """The threshold categories (and the finer tag category) an entry counts in."""
    expect, lang = entry["expect"], entry.get("lang", "zh")
    result = []
    if expect in ("item", "ambiguous"):
        result.append("item zh" if lang == "zh" else "item en" if lang == "en"
                      else "item hant/mixed")
    elif expect == "none":
        result.append("out of scope → none")
    else:
        result.append("contact + meta")
    result.append(f"  tag {entry.get('tag', '?')}")
    return result


def correct(entry: dict[str, Any], decision: Decision) -> bool:
    """Whether a decision answers an entry rightly (issue 2's rules)."""
    expect = entry["expect"]
    wanted = set(entry.get("items") or [])
    if expect == "item":
        return decision.kind == "item" and bool(decision.items[0] in wanted)
    if expect == "ambiguous":
        if decision.kind == "ambiguous":
            return bool(wanted & set(decision.items))
        return decision.kind == "item" and bool(decision.items[0] in wanted)
    return bool(decision.kind == expect)


def evaluate(entries: Iterable[dict[str, Any]], ask: Callable[[str], Decision]) -> Report:
    """Run every question through `ask` and count."""
    report = Report()
    for entry in entries:
        decision = ask(entry["q"])
        ok = correct(entry, decision)
        report.total += 1
        for category in categories(entry):
            report.count[category] += 1
            report.right[category] += ok
        if decision.kind == "item" and not ok:
            report.wrong_item += 1
        if not ok:
            report.errors.append(
                f"[{entry['expect']} {entry.get('items') or ''} {entry.get('lang')}/"
                f"{entry.get('tag')}] {entry['q']!r} → {decision.kind} {list(decision.items)} "
                f"{decision.topic or ''} {decision.score:.2f}"
            )
    return report


_ROWS = {
    "item zh": "item, Chinese (≥97%)",
    "item en": "item, English (≥92%)",
    "item hant/mixed": "item, traditional/mixed (≥95%)",
    "out of scope → none": "out of scope → none (≥95%)",
    "contact + meta": "contact + meta (≥95%)",
}


def table(reports: dict[str, Report]) -> str:
    """A Markdown table of several sets' figures, one column per set (README's)."""
    def cell(report: Report, category: str) -> str:
        return f"{report.rate(category):.1%}" if report.count[category] else "–"

    lines = ["| | " + " | ".join(reports) + " |", "| --- |" + " --- |" * len(reports)]
    for category, label in _ROWS.items():
        lines.append(f"| {label} | " + " | ".join(cell(r, category) for r in reports.values())
                     + " |")
    lines.append("| wrong item, of all (≤1%) | " + " | ".join(
        f"{r.wrong_item / r.total:.1%}" if r.total else "–" for r in reports.values()) + " |")
    lines.append("| questions | " + " | ".join(str(r.total) for r in reports.values()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", type=Path, nargs="+", metavar="path")
    parser.add_argument("--errors", action="store_true", help="list every mistake")
    parser.add_argument("--table", action="store_true",
                        help="one Markdown table of all the sets' figures")
    args = parser.parse_args(argv)
    from knowledge.base import KnowledgeBase

    kb = KnowledgeBase.load_default()
    reports = {path.stem: evaluate(load(path), kb.ask) for path in args.paths}
    if args.table:
        print(table(reports))
        return 0
    status = 0
    for name, report in reports.items():
        if len(reports) > 1:
            print(f"== {name}")
        print(report.summary())
        if args.errors:
            print("\n".join(report.errors))
        failed = report.failures()
        if failed:
            print("BELOW THRESHOLD: " + "; ".join(failed))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
