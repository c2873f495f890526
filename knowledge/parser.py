"""Parse the text of a rectification notice into a `Notice`.

The layout is the one these notices share: issuer, title, an introduction naming the inspection,
section 一 (leadership), section 二 with areas （一）… and items "N.关于“…”的整改情况。…",
section 三 (next steps, plans （一）…), the invitation with the contact channels, issuer, date.
Every fact is taken from the text by pattern; a text that does not fit raises
`NoticeParseError` naming the line and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from knowledge.model import (
    Area,
    Contact,
    Inspection,
    Item,
    Notice,
    Plan,
    Section,
    Status,
)
from knowledge.status import derive_status

_NUMERALS = "一二三四五六七八九十"
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_SECTION = re.compile(rf"^([{_NUMERALS}]+)、\s*(.+)$")
_SUBHEAD = re.compile(rf"^\(([{_NUMERALS}]+)\)\s*(.+)$")
_ITEM = re.compile(
    r"^(\d+)\s*[.、]\s*关于\s*[“\"「『‘'](.+?)[”\"」』’']\s*的整改情况\s*[。.]?\s*(.*)$"
)
_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_PERIOD = re.compile(
    r"(\d{4})年(\d{1,2})月(\d{1,2})日至(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日\s*[,，]?\s*"
    r"([^,，。;；]+?巡察组)对([^,，。;；]+?)开展了([^,，。;；]*?巡察)"
)
_AUTHORITY = re.compile(r"根据([^,，。;；]+?)统一部署")
_FEEDBACK = re.compile(
    r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日\s*[,，]\s*[^,，。;；]*?巡察组向[^,，。;；]+?反馈了巡察意见"
)
_PHONE = re.compile(r"电话\s*[:：]?\s*([0-9][0-9\-—– ]{6,}[0-9])")
_ADDRESS = re.compile(r"(?:邮政地址|通讯地址|地址)\s*[:：]\s*([^;；。,，]+)")
_EMAIL = re.compile(r"(?:电子邮箱|邮箱|电子邮件)\s*[:：]?\s*([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


class NoticeParseError(ValueError):
    """The text is not a notice of the expected layout."""

    def __init__(self, line: int, expected: str, found: str = "", source: str = "") -> None:
        self.line = line
        self.expected = expected
        self.found = found
        self.source = source
        where = f"{source}:{line}" if source else f"line {line}"
        shown = found if len(found) <= 40 else found[:40] + "…"
        message = f"{where}: expected {expected}"
        if found:
            message += f", found {shown!r}"
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class _Line:
    number: int  # 1-based line number in the source
    raw: str  # the text as written (stripped)
    norm: str  # full-width ASCII folded to half-width (same length as raw)


def _lines(text: str) -> list[_Line]:
    result = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip().lstrip("\ufeff")
        if stripped:
            result.append(_Line(number, stripped, stripped.translate(_FULLWIDTH)))
    return result


def _numeral(text: str) -> int:
    """一..十 → 1..10 (the notices never need more)."""
    if text == "十":
        return 10
    if len(text) == 2 and text[0] == "十":
        return 10 + _NUMERALS.index(text[1]) + 1
    return _NUMERALS.index(text) + 1


def _to_date(year: str | int, month: str, day: str, line: int, source: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError as exc:
        raise NoticeParseError(line, "a valid date", f"{year}-{month}-{day}", source) from exc


class _Cursor:
    """Walks the lines, producing errors that say where and what."""

    def __init__(self, lines: list[_Line], source: str) -> None:
        self.lines = lines
        self.pos = 0
        self.source = source

    def peek(self) -> _Line | None:
        return self.lines[self.pos] if self.pos < len(self.lines) else None

    def take(self, expected: str) -> _Line:
        line = self.peek()
        if line is None:
            last = self.lines[-1].number if self.lines else 0
            raise NoticeParseError(last + 1, expected, "end of text", self.source)
        self.pos += 1
        return line

    def error(self, line: _Line, expected: str) -> NoticeParseError:
        return NoticeParseError(line.number, expected, line.raw, self.source)


def parse_notice(
    text: str,
    source: str = "",
    status_overrides: Mapping[int, tuple[Status, str]] | None = None,
) -> Notice:
    """Parse a whole notice. `status_overrides` maps item number → (status, reason)."""
    overrides = status_overrides or {}
    cur = _Cursor(_lines(text), source)

    issuer = cur.take("the issuer's name on the first line").raw
    title_line = cur.take("the notice's title (关于…的通报)")
    if "关于" not in title_line.norm:
        raise cur.error(title_line, "the notice's title (关于…的通报)")
    title = title_line.raw

    intro_line = cur.take("the introduction naming the inspection")
    inspection = _parse_inspection(intro_line, cur)

    sections: dict[int, tuple[_Line, list[_Line]]] = {}
    current: int | None = None
    while (line := cur.peek()) is not None:
        match = _SECTION.match(line.norm)
        if match and not _ITEM.match(line.norm):
            current = _numeral(match.group(1))
            sections[current] = (line, [])
        elif current is None:
            raise cur.error(line, "section 一、… after the introduction")
        else:
            sections[current][1].append(line)
        cur.pos += 1

    for number, expected in ((1, "section 一、 (leadership)"), (2, "section 二、 (items)"),
                             (3, "section 三、 (next steps)")):
        if number not in sections:
            last = cur.lines[-1] if cur.lines else _Line(0, "", "")
            raise NoticeParseError(last.number, expected, "", source)

    heading1, body1 = sections[1]
    leadership = Section(
        heading=_SECTION.match(heading1.norm).group(2),  # type: ignore[union-attr]
        text="\n".join(line.raw for line in body1),
        line=heading1.number,
    )
    areas, items = _parse_items(sections[2], cur, overrides)
    next_steps, plans, contact, closing_lines = _parse_next_steps(sections[3], cur)

    # The last two lines after the invitation: issuer (again) and the date.
    if not closing_lines:
        raise NoticeParseError(
            sections[3][0].number, "the signature and date at the end", "", source
        )
    date_line = closing_lines[-1]
    date_match = _DATE.fullmatch(date_line.norm.strip())
    if not date_match:
        raise cur.error(date_line, "the date (YYYY年M月D日) on the last line")
    year, month, day = date_match.groups()
    notice_date = _to_date(year, month, day, date_line.number, source)

    return Notice(
        issuer=issuer,
        title=title,
        date=notice_date,
        intro=intro_line.raw,
        inspection=inspection,
        leadership=leadership,
        areas=areas,
        items=items,
        next_steps=next_steps,
        plans=plans,
        contact=contact,
        source=source,
        text=text,
    )


def _parse_inspection(line: _Line, cur: _Cursor) -> Inspection:
    period = _PERIOD.search(line.norm)
    if not period:
        raise cur.error(line, "the inspection period (YYYY年M月D日至M月D日,…巡察组对…开展了…巡察)")
    y1, m1, d1, y2, m2, d2, group, target, kind = period.groups()
    start = _to_date(y1, m1, d1, line.number, cur.source)
    end = _to_date(y2 or y1, m2, d2, line.number, cur.source)
    feedback = _FEEDBACK.search(line.norm)
    if not feedback:
        raise cur.error(line, "the feedback date (M月D日,…巡察组向…反馈了巡察意见)")
    fy, fm, fd = feedback.groups()
    feedback_date = _to_date(fy or end.year, fm, fd, line.number, cur.source)
    authority = _AUTHORITY.search(line.norm)
    return Inspection(
        group=group,
        target=target,
        kind=kind,
        start=start,
        end=end,
        feedback_date=feedback_date,
        authority=authority.group(1) if authority else "",
    )


def _parse_items(
    section: tuple[_Line, list[_Line]],
    cur: _Cursor,
    overrides: Mapping[int, tuple[Status, str]],
) -> tuple[tuple[Area, ...], dict[int, Item]]:
    heading, body = section
    areas: list[tuple[_Line, str, str, list[int]]] = []
    raw_items: list[tuple[_Line, int, str, list[str]]] = []
    for line in body:
        sub = _SUBHEAD.match(line.norm)
        item = _ITEM.match(line.norm)
        if sub and not item:
            expected_numeral = _NUMERALS[len(areas)] if len(areas) < len(_NUMERALS) else "?"
            if _numeral(sub.group(1)) != len(areas) + 1:
                raise cur.error(line, f"area ({expected_numeral})")
            areas.append((line, sub.group(1), sub.group(2).strip(), []))
        elif item:
            if not areas:
                raise cur.error(line, "an area heading (一)… before the first item")
            number = int(item.group(1))
            expected = len(raw_items) + 1
            if number != expected:
                raise cur.error(line, f"item {expected}")
            title = line.raw[item.start(2) : item.end(2)].strip()
            rest = line.raw[item.start(3) :].strip()
            areas[-1][3].append(number)
            raw_items.append((line, len(areas), title, [rest] if rest else []))
        elif raw_items:
            # A rectification text that runs over more than one line.
            raw_items[-1][3].append(line.raw)
        else:
            raise cur.error(line, "an area heading (一)… or item 1.关于“…”的整改情况")
    if not raw_items:
        raise NoticeParseError(
            heading.number, "at least one item 1.关于“…”的整改情况", "", cur.source
        )

    items: dict[int, Item] = {}
    for line, area, title, parts in raw_items:
        number = len(items) + 1
        text = "".join(parts)
        if not text:
            raise cur.error(line, f"the rectification text of item {number}")
        if number in overrides:
            status, evidence = overrides[number]
            overridden = True
        else:
            status, evidence = derive_status(text)
            overridden = False
        items[number] = Item(
            number=number,
            area=area,
            title=title,
            text=text,
            status=status,
            evidence=evidence,
            status_overridden=overridden,
            line=line.number,
        )
    area_objs = tuple(
        Area(number=i, numeral=numeral, title=title, items=tuple(numbers), line=line.number)
        for i, (line, numeral, title, numbers) in enumerate(areas, start=1)
    )
    for area_obj in area_objs:
        if not area_obj.items:
            raise NoticeParseError(
                area_obj.line, f"items under area ({area_obj.numeral})", "", cur.source
            )
    return area_objs, items


def _parse_next_steps(
    section: tuple[_Line, list[_Line]], cur: _Cursor
) -> tuple[Section, tuple[Plan, ...], Contact, list[_Line]]:
    heading, body = section
    intro: list[str] = []
    plans: list[Plan] = []
    contact: Contact | None = None
    closing: list[_Line] = []
    for line in body:
        if contact is not None:
            closing.append(line)
            continue
        sub = _SUBHEAD.match(line.norm)
        if "联系方式" in line.norm or _EMAIL.search(line.norm):
            contact = _parse_contact(line, cur)
        elif sub:
            number = _numeral(sub.group(1))
            if number != len(plans) + 1:
                raise cur.error(line, f"plan ({_NUMERALS[len(plans)]})")
            body_text = line.raw[sub.start(2) :].strip()
            plan_title, _, plan_text = body_text.partition("。")
            plans.append(Plan(number, plan_title.strip(), plan_text.strip(), line.number))
        elif not plans:
            intro.append(line.raw)
        else:
            raise cur.error(line, f"plan ({_NUMERALS[len(plans)]}) or the contact channels")
    if contact is None:
        raise NoticeParseError(
            (body[-1] if body else heading).number,
            "the contact channels (联系方式:电话…;邮政地址:…;电子邮箱:…)",
            "",
            cur.source,
        )
    next_steps = Section(
        heading=_SECTION.match(heading.norm).group(2),  # type: ignore[union-attr]
        text="\n".join(intro),
        line=heading.number,
    )
    return next_steps, tuple(plans), contact, closing


def _parse_contact(line: _Line, cur: _Cursor) -> Contact:
    phone = _PHONE.search(line.norm)
    address = _ADDRESS.search(line.norm)
    email = _EMAIL.search(line.norm)
    missing = [
        name
        for name, found in (("电话 (phone)", phone), ("邮政地址 (address)", address),
                            ("电子邮箱 (email)", email))
        if not found
    ]
    if missing or phone is None or address is None or email is None:
        raise cur.error(line, "contact channels " + ", ".join(missing))
    invitation = line.raw.split("联系方式")[0].strip()
    return Contact(
        phone=phone.group(1).strip(),
        address=line.raw[address.start(1) : address.end(1)].strip(),
        email=email.group(1),
        invitation=invitation,
    )
