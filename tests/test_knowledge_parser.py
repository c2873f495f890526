"""The notice parser on the real notice, its quirks, and malformed variants."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from knowledge import Notice, NoticeParseError, parse_notice

NOTICE_PATH = next(
    (Path(__file__).resolve().parent.parent / "knowledge" / "data" / "notices").glob("*.txt")
)
TEXT = NOTICE_PATH.read_text(encoding="utf-8")
LINES = TEXT.split("\n")


def _line_of(fragment: str) -> int:
    """1-based number of the first line containing `fragment`."""
    return next(i for i, line in enumerate(LINES, start=1) if fragment in line)


def _without(fragment: str) -> str:
    return "\n".join(line for line in LINES if fragment not in line)


def _replace_line(fragment: str, new: str) -> str:
    return "\n".join(new if fragment in line else line for line in LINES)


@pytest.fixture(scope="module")
def notice() -> Notice:
    return parse_notice(TEXT, source=NOTICE_PATH.name)


class TestRealNotice:
    def test_header(self, notice: Notice) -> None:
        """Issuer, title and date come from the first lines and the last line."""
        assert notice.issuer == "中共眉山高新技术产业园区工作委员会"
        assert notice.title == "关于巡察集中整改进展情况的通报"
        assert notice.date == date(2025, 5, 28)

    def test_inspection(self, notice: Notice) -> None:
        """The inspection group, target, period and feedback date are read from the intro."""
        ins = notice.inspection
        assert ins.group == "市委第三巡察组"
        assert ins.target == "眉山高新区党工委"
        assert (ins.start, ins.end) == (date(2024, 3, 26), date(2024, 5, 12))
        assert ins.feedback_date == date(2024, 7, 23)

    def test_areas(self, notice: Notice) -> None:
        """Four areas with 23, 18, 7 and 4 items."""
        assert [len(area.items) for area in notice.areas] == [23, 18, 7, 4]
        assert notice.areas[0].title == "党中央决策部署在基层落实情况方面"

    def test_items(self, notice: Notice) -> None:
        """52 items numbered 1..52, titles from 关于“…”, text after the heading."""
        assert sorted(notice.items) == list(range(1, 53))
        assert notice.items[12].title == "污水处理能力已趋于饱和"
        assert notice.items[12].text == "园区污水处理厂三期项目已开工建设,目前推进顺利。"
        assert notice.items[6].title == "落实‘亩均论英雄’效果不佳"
        assert notice.items[12].line == _line_of("12.关于")

    def test_plans_and_contact(self, notice: Notice) -> None:
        """Three next-step plans and the three contact channels."""
        assert [plan.number for plan in notice.plans] == [1, 2, 3]
        assert notice.plans[0].title == "提高政治站位,落实全面从严治党要求"
        assert notice.contact.phone == "028-38183651"
        assert notice.contact.address == "眉山市东坡区金园东路10号"
        assert notice.contact.email == "631755679@qq.com"


class TestQuirks:
    def test_no_final_newline(self) -> None:
        """The real file ends without a newline; with one added the result is the same."""
        assert not TEXT.endswith("\n")
        assert parse_notice(TEXT + "\n").items == parse_notice(TEXT).items

    def test_double_yi(self, notice: Notice) -> None:
        """Item 37's "已已" is kept as written and still read as completed."""
        assert "园区已已制定" in notice.items[37].text
        assert notice.items[37].status.value == "completed"

    def test_item_without_final_full_stop(self, notice: Notice) -> None:
        """Item 35 ends without 。 and does not swallow item 36."""
        assert notice.items[35].text.endswith("并严格执行")
        assert notice.items[36].title == "招标代理费违规由中标人支付"

    def test_full_width_punctuation(self) -> None:
        """Full-width digits, dots and parentheses parse to the same items."""
        variant = (
            TEXT.replace("12.关于", "１２．关于")
            .replace("(二)群众", "（二）群众")
            .replace("电话028", "电话：028")
        )
        parsed = parse_notice(variant)
        assert parsed.items[12].title == "污水处理能力已趋于饱和"
        assert len(parsed.areas) == 4
        assert parsed.contact.phone == "028-38183651"


class TestMalformed:
    def test_empty_text(self) -> None:
        """Empty text fails at line 1 asking for the issuer."""
        with pytest.raises(NoticeParseError) as err:
            parse_notice("")
        assert err.value.line == 1
        assert "issuer" in err.value.expected

    def test_missing_title(self) -> None:
        """Without the title line, line 2 is reported as not a title."""
        with pytest.raises(NoticeParseError) as err:
            parse_notice(_without("关于巡察集中整改进展情况的通报"), source="n.txt")
        assert err.value.line == 2
        assert "title" in err.value.expected
        assert str(err.value).startswith("n.txt:2:")

    def test_missing_item(self) -> None:
        """A missing item 7 is reported on the line of item 8, expecting item 7."""
        with pytest.raises(NoticeParseError) as err:
            parse_notice(_without("7.关于“壮大"))
        assert err.value.line == _line_of("8.关于") - 1
        assert err.value.expected == "item 7"

    def test_out_of_order_item(self) -> None:
        """Item 13 numbered 31 is reported on its own line."""
        text = TEXT.replace("13.关于", "31.关于")
        with pytest.raises(NoticeParseError) as err:
            parse_notice(text)
        assert err.value.line == _line_of("13.关于")
        assert err.value.expected == "item 13"

    def test_missing_contact(self) -> None:
        """Without the contact line the error names the contact channels."""
        with pytest.raises(NoticeParseError) as err:
            parse_notice(_without("联系方式"))
        assert "contact channels" in err.value.expected

    def test_contact_without_email(self) -> None:
        """A contact line lacking the email names the missing channel and its line."""
        text = TEXT.replace(";电子邮箱:631755679@qq.com", "")
        with pytest.raises(NoticeParseError) as err:
            parse_notice(text)
        assert err.value.line == _line_of("联系方式")
        assert "电子邮箱" in err.value.expected

    def test_bad_date(self) -> None:
        """An impossible signature date is reported on the last line."""
        text = TEXT.replace("2025年5月28日", "2025年2月30日")
        with pytest.raises(NoticeParseError) as err:
            parse_notice(text)
        assert err.value.line == len(LINES)
        assert "date" in err.value.expected

    def test_bad_period(self) -> None:
        """An intro without the inspection period is reported on line 3."""
        text = _replace_line("根据市委统一部署", "根据市委统一部署,开展了巡察。")
        with pytest.raises(NoticeParseError) as err:
            parse_notice(text)
        assert err.value.line == 3
        assert "period" in err.value.expected
