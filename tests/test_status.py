"""Item statuses: hand-checked labels for all 52 items, evidence, and the override path."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import Notice, Status, parse_notice
from knowledge.status import derive_status

NOTICE_PATH = next(
    (Path(__file__).resolve().parent.parent / "knowledge" / "data" / "notices").glob("*.txt")
)

# Read by hand from each item's text (the lead's judgement): completed work; unfinished concrete
# work (正在/推进中/力争…); standing commitments with nothing finished.
COMPLETED = {1, 2, 3, 4, 5, 22, 24, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39,
             40, 41, 42, 43, 45, 47, 48, 49, 50, 52}
IN_PROGRESS = {6, 11, 12, 13, 14, 17, 19, 20, 23, 44, 51}
LONG_TERM = {7, 8, 9, 10, 15, 16, 18, 21, 25, 46}
LABELS = (
    {n: Status.COMPLETED for n in COMPLETED}
    | {n: Status.IN_PROGRESS for n in IN_PROGRESS}
    | {n: Status.LONG_TERM for n in LONG_TERM}
)


@pytest.fixture(scope="module")
def notice() -> Notice:
    return parse_notice(NOTICE_PATH.read_text(encoding="utf-8"))


class TestLabels:
    def test_labels_cover_every_item_once(self) -> None:
        """The hand labels name each of the 52 items exactly once."""
        assert sorted(LABELS) == list(range(1, 53))
        assert len(COMPLETED) + len(IN_PROGRESS) + len(LONG_TERM) == 52

    @pytest.mark.parametrize("number", sorted(LABELS))
    def test_rules_match_hand_label(self, notice: Notice, number: int) -> None:
        """The rules give each item its hand-checked status."""
        assert notice.items[number].status == LABELS[number]

    def test_evidence_is_from_the_text(self, notice: Notice) -> None:
        """Every item's evidence is a non-empty substring of its own text."""
        for item in notice.items.values():
            assert item.evidence
            assert item.evidence in item.text
            assert not item.status_overridden


class TestRules:
    def test_unfinished_work_wins_over_done(self) -> None:
        """A text with both done and ongoing work is in progress, decided by the ongoing part."""
        status, evidence = derive_status("已完成一期工程,二期正在建设。")
        assert status is Status.IN_PROGRESS
        assert evidence == "二期正在建设"

    def test_tends_to_is_not_done(self) -> None:
        """已趋于 ("already tending to") does not count as completed work."""
        assert derive_status("能力已趋于饱和,持续关注。")[0] is Status.LONG_TERM

    def test_no_phrase_is_long_term(self) -> None:
        """A text with no deciding phrase is long-term, with its first clause as evidence."""
        assert derive_status("做好服务工作,确保质量。") == (Status.LONG_TERM, "做好服务工作")


class TestOverride:
    def test_override_replaces_status_and_evidence(self) -> None:
        """An override sets the status, keeps the reason as evidence, and is flagged."""
        text = NOTICE_PATH.read_text(encoding="utf-8")
        notice = parse_notice(text, status_overrides={12: (Status.COMPLETED, "三期已投运")})
        item = notice.items[12]
        assert item.status is Status.COMPLETED
        assert item.evidence == "三期已投运"
        assert item.status_overridden
        assert notice.items[13].status is Status.IN_PROGRESS
