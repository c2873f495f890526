"""`python -m knowledge ask|show|validate|publish` — the knowledge base from the command line.

`ask --json` is the interface the evaluation and other tools use: one JSON object per question,
one line each, in input order, flushed after each. Without `--json` the answer is printed as a
person would read it, in Chinese or English by the question's language.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import TextIO

from knowledge.matcher import Decision
from knowledge.model import Notice, Status


def _kb() -> object:
    from knowledge.base import KnowledgeBase

    return KnowledgeBase.load_default()


def decision_json(decision: Decision) -> str:
    """The one-line JSON form of a decision (issue 2's interface)."""
    return json.dumps(
        {
            "question": decision.question,
            "kind": decision.kind,
            "items": list(decision.items),
            "score": decision.score,
        },
        ensure_ascii=False,
    )


# ---------------------------------------------------------------- human-readable answers


def _contact_lines(notice: Notice, lang: str) -> list[str]:
    contact = notice.contact
    if lang == "en":
        return [
            "You can send opinions and suggestions to the publisher:",
            f"  Phone: {contact.phone}",
            f"  Postal address: {contact.address}",
            f"  Email: {contact.email}",
        ]
    return [
        contact.invitation or "如有意见建议,请及时反映。",
        f"  电话:{contact.phone}",
        f"  邮政地址:{contact.address}",
        f"  电子邮箱:{contact.email}",
    ]


def _status_text(status: Status, lang: str) -> str:
    return status.en if lang == "en" else status.zh


def render_item(kb: object, number: int, lang: str) -> list[str]:
    """An item in full: number, title, status with its evidence, the notice's words."""
    from knowledge.base import KnowledgeBase

    assert isinstance(kb, KnowledgeBase)
    item = kb.item(number)
    if lang == "en":
        return [
            f"Item {number}: {kb.en_title(number)}",
            f"  ({kb.area_title(item.area, 'en')})",
            f"Status: {_status_text(item.status, 'en')} — “{item.evidence}”",
            kb.en_summary(number),
            f"Notice text: 关于“{item.title}”的整改情况。{item.text}",
        ]
    return [
        f"第{number}项 关于“{item.title}”的整改情况",
        f"  ({item.area and kb.notice.areas[item.area - 1].numeral}){kb.area_title(item.area)}",
        f"状态:{_status_text(item.status, 'zh')}(依据:“{item.evidence}”)",
        f"通报原文:{item.text}",
    ]


def _meta_lines(notice: Notice, topic: str | None, lang: str) -> list[str]:
    ins = notice.inspection
    counts = notice.status_counts()
    en = lang == "en"
    period_zh = (f"{ins.start:%Y年%-m月%-d日}至{ins.end:%-m月%-d日}"
                 f",{ins.feedback_date:%-m月%-d日}反馈巡察意见")
    period_en = (f"{ins.start:%d %B %Y} to {ins.end:%d %B %Y}; feedback given on "
                 f"{ins.feedback_date:%d %B %Y}")
    if topic in ("inspection", "period"):
        if en:
            return [f"The {ins.group} ({ins.kind}) inspected {ins.target}: {period_en}."]
        return [f"{ins.group}对{ins.target}开展了{ins.kind}:{period_zh}。"]
    if topic == "count":
        areas = ";".join(
            f"({a.numeral}){a.title} {len(a.items)}项" for a in notice.areas
        )
        if en:
            return [f"The notice lists {notice.item_count} problems in {len(notice.areas)} areas."]
        return [f"通报列出{notice.item_count}个问题,分{len(notice.areas)}个方面:{areas}。"]
    if topic == "progress":
        done, doing, lasting = (counts[Status.COMPLETED], counts[Status.IN_PROGRESS],
                                counts[Status.LONG_TERM])
        if en:
            return [f"Of {notice.item_count} items: {done} completed, {doing} in progress, "
                    f"{lasting} long-term (as read from each item's text)."]
        return [f"{notice.item_count}项中:已完成{done}项,推进中{doing}项,长期坚持{lasting}项"
                "(按各项原文判断)。"]
    if topic == "next_steps":
        plans = [f"({i}){p.title}" for i, p in enumerate(notice.plans, start=1)]
        if en:
            return ["Next steps (section 三 of the notice):", *plans]
        return [notice.next_steps.text, *plans]
    if topic == "publisher":
        return [f"{'Published by' if en else '发布单位:'} {notice.issuer}"]
    if topic == "date":
        return [f"{'Published on' if en else '发布日期:'} {notice.date:%Y-%m-%d}"]
    if en:
        return [f"{notice.title} — {notice.item_count} items in {len(notice.areas)} areas.",
                f"Inspection: {ins.group}, {period_en}."]
    return [notice.title, notice.leadership.text[:200] + "…"]


def render(kb: object, decision: Decision) -> str:
    """The answer a person would read."""
    from knowledge.base import KnowledgeBase

    assert isinstance(kb, KnowledgeBase)
    lang = decision.lang
    en = lang == "en"
    notice = kb.notice
    if decision.kind == "item":
        return "\n".join(render_item(kb, decision.items[0], lang))
    if decision.kind == "ambiguous":
        head = "Did you mean one of these?" if en else "您问的可能是以下哪一项?"
        lines = [head]
        for number in decision.items:
            title = kb.en_title(number) if en else kb.item(number).title
            status = _status_text(kb.item(number).status, lang)
            lines.append(f"  {number}. {title} [{status}]")
        return "\n".join(lines)
    if decision.kind == "contact":
        return "\n".join(_contact_lines(notice, lang))
    if decision.kind == "meta":
        return "\n".join(_meta_lines(notice, decision.topic, lang))
    head = ("This notice does not cover that question." if en
            else "这份通报中没有找到与您问题相关的内容。")
    return "\n".join([head, *_contact_lines(notice, lang)])


# ---------------------------------------------------------------- commands


def _questions(args: list[str], stdin: TextIO) -> Iterable[str]:
    if args:
        yield from args
        return
    for line in stdin:
        yield line.rstrip("\r\n")


def cmd_ask(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from knowledge.base import KnowledgeBase

    kb = KnowledgeBase.load_default()
    for question in _questions(args.question, stdin):
        decision = kb.ask(question)
        out.write((decision_json(decision) if args.json else render(kb, decision)) + "\n")
        if not args.json:
            out.write("\n")
        out.flush()
    return 0


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    from knowledge.base import KnowledgeBase

    kb = KnowledgeBase.load_default()
    if args.number not in kb.notice.items:
        print(f"no item {args.number}: the notice has items 1-{kb.notice.item_count}",
              file=sys.stderr)
        return 1
    lang = "en" if args.en else "zh"
    lines = render_item(kb, args.number, lang)
    related = kb.related(args.number)
    lines.append(("Related items: " if args.en else "相关事项:") + ", ".join(map(str, related)))
    out.write("\n".join(lines) + "\n")
    return 0


def cmd_validate(out: TextIO) -> int:
    from knowledge.base import newest_notice
    from knowledge.enrich import (
        EnrichmentError,
        check_out_of_scope,
        check_overrides,
        load_enrichment,
        load_intents,
    )
    from knowledge.parser import NoticeParseError, parse_notice

    errors: list[str] = []
    path = newest_notice()
    notice = None
    try:
        notice = parse_notice(path.read_text(encoding="utf-8"), source=path.name)
    except NoticeParseError as exc:
        errors.append(str(exc))
    enrichment = None
    try:
        enrichment = load_enrichment()
    except EnrichmentError as exc:
        errors.extend(exc.errors)
    intents = None
    try:
        intents = load_intents()
    except EnrichmentError as exc:
        errors.extend(exc.errors)
    if notice is not None and enrichment is not None:
        errors.extend(enrichment.check_items(notice.items))
        if intents is not None:
            phrases = [a for e in enrichment.items.values() for a in e.aliases]
            phrases += [m for group in enrichment.synonyms for m in group]
            errors.extend(check_out_of_scope(intents, notice.text, phrases))
        errors.extend(check_overrides(enrichment.overrides, notice.items))
    if errors:
        for error in errors:
            print(error, file=sys.stderr)
        return 1
    assert notice is not None and enrichment is not None
    counts = notice.status_counts()
    aliases = sum(len(e.aliases) + len(e.en_aliases) for e in enrichment.items.values())
    out.write(
        f"{path.name}: {notice.item_count} items in {len(notice.areas)} areas "
        f"({', '.join(str(len(a.items)) for a in notice.areas)}), {len(notice.plans)} plans; "
        f"status {', '.join(f'{s.value} {n}' for s, n in counts.items())}\n"
        f"enrichment: {len(enrichment.items)} items, {aliases} aliases, "
        f"{len(enrichment.synonyms)} synonym groups, {len(enrichment.overrides)} overrides\n"
        "OK\n"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m knowledge`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "publish":
        try:
            from knowledge import publish  # written separately; imported only when asked for
        except ImportError:
            print("publish is not available: knowledge/publish.py is missing", file=sys.stderr)
            return 2
        result: int = publish.main(argv[1:])
        return result
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer questions (arguments, or one per line on stdin)")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.add_argument("question", nargs="*")
    show = sub.add_parser("show", help="show one item in full")
    show.add_argument("number", type=int)
    show.add_argument("--en", action="store_true", help="in English")
    sub.add_parser("validate", help="check the notice and the YAML files")
    sub.add_parser("publish", help="publish a new notice (see knowledge.publish)")
    args = parser.parse_args(argv)
    out = sys.stdout
    if args.command == "ask":
        return cmd_ask(args, out, sys.stdin)
    if args.command == "show":
        return cmd_show(args, out)
    return cmd_validate(out)
