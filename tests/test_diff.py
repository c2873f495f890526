"""Diffing two notices item by item, the scopes a change concerns, and an item's timeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.diff import ChangeKind, changed_fragments, diff_notices, item_timeline
from knowledge.model import Notice, Status
from knowledge.parser import parse_notice

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "knowledge/data/notices/2025-05-28_meishan-hitech-zone-party-working-committee.txt"
FIXTURE = ROOT / "tests/data/followup_notice_TEST_FIXTURE.txt"


@pytest.fixture(scope="module")
def real_text() -> str:
    return REAL.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def real(real_text: str) -> Notice:
    return parse_notice(real_text, source=REAL.name)


@pytest.fixture(scope="module")
def followup() -> Notice:
    return parse_notice(FIXTURE.read_text(encoding="utf-8"), source=FIXTURE.name)


def _edited(text: str, old: str, new: str) -> Notice:
    assert text.count(old) == 1, old
    return parse_notice(text.replace(old, new))


class TestFixture:
    def test_is_marked_as_a_test_fixture(self, followup: Notice) -> None:
        """The synthetic follow-up says in its title and its text that it is not real."""
        assert "TEST FIXTURE" in followup.title
        assert "不是真实公文" in followup.text

    def test_is_dated_later_with_the_same_items(self, real: Notice, followup: Notice) -> None:
        """It is a later notice of the same 52 items."""
        assert followup.date.isoformat() == "2025-09-30" > real.date.isoformat()
        assert [i.title for i in followup.items.values()] == [i.title for i in real.items.values()]


class TestDiffAgainstFixture:
    def test_exactly_the_written_changes(self, real: Notice, followup: Notice) -> None:
        """Items 12, 13, 20 and the wording of 29 changed, nothing else."""
        diff = diff_notices(real, followup)
        assert [c.number for c in diff.changes] == [12, 13, 20, 29]
        assert all(c.kind is ChangeKind.CHANGED for c in diff.changes)
        assert diff.old_date.isoformat() == "2025-05-28"
        assert diff.new_date.isoformat() == "2025-09-30"

    def test_status_changes(self, real: Notice, followup: Notice) -> None:
        """12 and 20 went from in progress to completed; 13 and 29 kept their status."""
        by_number = {c.number: c for c in diff_notices(real, followup).changes}
        assert (by_number[12].old_status, by_number[12].new_status) == (
            Status.IN_PROGRESS, Status.COMPLETED
        )
        assert by_number[20].new_status is Status.COMPLETED
        assert not by_number[13].status_changed and not by_number[29].status_changed
        assert [c.number for c in diff_notices(real, followup).status_changes] == [12, 20]

    def test_text_changes_carry_the_new_words(self, real: Notice, followup: Notice) -> None:
        """Every change is a text change, and the wording shows the changed stretch."""
        by_number = {c.number: c for c in diff_notices(real, followup).changes}
        assert all(c.text_changed for c in by_number.values())
        assert by_number[29].wording() == [("训人次100人以上", "训人次150人以上")]
        assert "已完成选址" in by_number[13].item.text

    def test_same_notice_has_no_changes(self, real: Notice) -> None:
        """A notice compared with itself differs in nothing."""
        assert not diff_notices(real, real)


class TestScopes:
    def test_item_scope(self, real: Notice, followup: Notice) -> None:
        """An item subscription hears only of its item."""
        diff = diff_notices(real, followup)
        assert [c.number for c in diff.for_scope("item", 12)] == [12]
        assert diff.for_scope("item", 1) == ()

    def test_area_scope(self, real: Notice, followup: Notice) -> None:
        """Area 1 (items 1-23) has 12, 13, 20; area 2 (24-41) has 29; area 3 nothing."""
        diff = diff_notices(real, followup)
        assert [c.number for c in diff.for_scope("area", 1)] == [12, 13, 20]
        assert [c.number for c in diff.for_scope("area", 2)] == [29]
        assert diff.for_scope("area", 3) == ()

    def test_all_scope_and_union(self, real: Notice, followup: Notice) -> None:
        """'all' hears everything; several subscriptions hear each change once."""
        diff = diff_notices(real, followup)
        assert len(diff.for_scope("all", None)) == 4
        union = diff.for_scopes([("item", 12), ("area", 1), ("item", 29)])
        assert [c.number for c in union] == [12, 13, 20, 29]


class TestAddedRemovedRenumbered:
    def test_added_item(self, real_text: str, real: Notice) -> None:
        """An item 53 appended to the last area is reported as added."""
        newer = _edited(
            real_text, "三、下一步整改工作安排",
            "53.关于“测试新增问题”的整改情况。正在整改。\n三、下一步整改工作安排",
        )
        diff = diff_notices(real, newer)
        assert [(c.number, c.kind) for c in diff.changes] == [(53, ChangeKind.ADDED)]
        assert diff.for_scope("area", 4)[0].new_status is Status.IN_PROGRESS

    def test_removed_item(self, real_text: str, real: Notice) -> None:
        """Dropping the last item reports it as removed (under its old number)."""
        last = next(line for line in real_text.splitlines() if line.startswith("52."))
        newer = _edited(real_text, last + "\n", "")
        diff = diff_notices(real, newer)
        assert [(c.number, c.kind) for c in diff.changes] == [(52, ChangeKind.REMOVED)]
        assert diff.for_scope("item", 52)

    def test_renumbered_item_is_matched_by_title(self, real_text: str, real: Notice) -> None:
        """When item 50 disappears, old 51 and 52 are matched by title at 50 and 51."""
        lines = real_text.splitlines(keepends=True)
        text = "".join(line for line in lines if not line.startswith("50."))
        text = text.replace("51.关于", "50.关于").replace("52.关于", "51.关于")
        diff = diff_notices(real, parse_notice(text))
        kinds = [(c.number, c.kind, c.renumbered) for c in diff.changes]
        assert kinds == [
            (50, ChangeKind.CHANGED, True),
            (50, ChangeKind.REMOVED, False),
            (51, ChangeKind.CHANGED, True),
        ]
        moved = diff.changes[0]
        assert moved.old is not None and moved.old.number == 51
        assert moved.concerns("item", 51) and moved.concerns("item", 50)

    def test_reworded_title_at_same_number(self, real_text: str, real: Notice) -> None:
        """A slightly reworded problem title at the same number is the same item, changed."""
        newer = _edited(real_text, "电力设施建设进度滞后", "电力设施建设进度明显滞后")
        diff = diff_notices(real, newer)
        assert [(c.number, c.kind, c.title_changed) for c in diff.changes] == [
            (13, ChangeKind.CHANGED, True)
        ]


class TestFragments:
    def test_nearby_edits_merge(self) -> None:
        """Edits a few characters apart come back as one stretch."""
        assert changed_fragments("正在争取市级部门下放", "市级部门已下放") == [
            ("正在争取市级部门下放", "市级部门已下放")
        ]

    def test_identical_text_has_none(self) -> None:
        """No difference, no fragment."""
        assert changed_fragments("已完成", "已完成") == []


class TestTimeline:
    def test_two_notices(self, real: Notice, followup: Notice) -> None:
        """Item 12 in progress on 28 May, completed on 30 September, with each notice's words."""
        timeline = item_timeline([real, followup], 12)
        assert [(e.date.isoformat(), e.status) for e in timeline] == [
            ("2025-05-28", Status.IN_PROGRESS),
            ("2025-09-30", Status.COMPLETED),
        ]
        assert timeline[-1].text == followup.items[12].text

    def test_unchanged_item_still_has_an_entry_per_notice(
        self, real: Notice, followup: Notice
    ) -> None:
        """An item that did not change appears once per notice."""
        assert len(item_timeline([real, followup], 1)) == 2

    def test_unknown_item_and_no_notices(self, real: Notice) -> None:
        """No such item, or no notices: an empty timeline."""
        assert item_timeline([real], 99) == []
        assert item_timeline([], 1) == []

    def test_follows_renumbering(self, real_text: str, real: Notice) -> None:
        """Item 51 of a notice without old item 50 traces back to old item 52."""
        lines = real_text.splitlines(keepends=True)
        text = "".join(line for line in lines if not line.startswith("50."))
        text = text.replace("51.关于", "50.关于").replace("52.关于", "51.关于")
        text = text.replace("2025年5月28日", "2025年9月30日")
        newer = parse_notice(text)
        timeline = item_timeline([real, newer], 51)
        assert [e.text for e in timeline] == [real.items[52].text, newer.items[51].text]
