"""Validation of the hand-written YAML files: every problem named with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.enrich import (
    EnrichmentError,
    check_overrides,
    load_enrichment,
    load_intents,
)
from knowledge.model import Status

GOOD_ITEM = """\
  {n}:
    en_title: "Title {n}"
    en_summary: "Summary {n}."
    aliases: [别名{n}]
    en_aliases: [alias {n}]
"""


def _write(tmp_path: Path, enrichment: str, synonyms: str = "groups:\n  - [污水厂, sewage]\n",
           overrides: str = "overrides: {}\n") -> tuple[Path, Path, Path]:
    paths = (tmp_path / "enrichment.yaml", tmp_path / "synonyms.yaml",
             tmp_path / "status_overrides.yaml")
    for path, text in zip(paths, (enrichment, synonyms, overrides), strict=True):
        path.write_text(text, encoding="utf-8")
    return paths


def _errors(tmp_path: Path, *texts: str, **named: str) -> list[str]:
    with pytest.raises(EnrichmentError) as err:
        load_enrichment(*_write(tmp_path, *texts, **named))
    return err.value.errors


def _items(*numbers: int) -> str:
    return "items:\n" + "".join(GOOD_ITEM.format(n=n) for n in numbers)


class TestBundledFiles:
    def test_bundled_files_are_valid(self) -> None:
        """The committed YAML files load and cover the notice's 52 items exactly."""
        enrichment = load_enrichment()
        assert enrichment.check_items(range(1, 53)) == []
        assert check_overrides(enrichment.overrides, range(1, 53)) == []
        assert all(item.en_title and item.en_summary for item in enrichment.items.values())

    def test_bundled_intents_load(self) -> None:
        """The intent phrase file compiles, with every contact and meta topic present."""
        intents = load_intents()
        assert set(intents.contact) == {"phone", "email", "address", "how"}
        assert len(intents.meta) == 8


class TestEnrichmentErrors:
    def test_good_file_loads(self, tmp_path: Path) -> None:
        """A small correct file loads with its items and aliases."""
        enrichment = load_enrichment(*_write(tmp_path, _items(1, 2)))
        assert enrichment.items[2].aliases == ("别名2",)
        assert enrichment.item_lines[2] == 7

    def test_unknown_item_number(self, tmp_path: Path) -> None:
        """An item the notice does not have is named with its line."""
        enrichment = load_enrichment(*_write(tmp_path, _items(1, 99)))
        errors = enrichment.check_items([1, 2])
        assert "enrichment.yaml:7: unknown item number 99" in errors
        assert any("item 2 has no enrichment" in e for e in errors)

    def test_empty_field(self, tmp_path: Path) -> None:
        """An empty en_summary is reported on its own line."""
        text = _items(1).replace('"Summary 1."', '""')
        assert "enrichment.yaml:4: item 1 en_summary is empty" in _errors(tmp_path, text)

    def test_missing_field(self, tmp_path: Path) -> None:
        """A missing en_title is reported on the item's key line."""
        text = _items(1).replace('    en_title: "Title 1"\n', "")
        assert "enrichment.yaml:2: missing item 1 en_title" in _errors(tmp_path, text)

    def test_duplicate_alias_across_items(self, tmp_path: Path) -> None:
        """An alias used by two items is reported at its second use."""
        text = _items(1, 2).replace("[别名2]", "[别名1]")
        errors = _errors(tmp_path, text)
        assert errors == ["enrichment.yaml:10: item 2: duplicate alias '别名1' (already in item 1)"]

    def test_duplicate_english_alias_ignores_case(self, tmp_path: Path) -> None:
        """English aliases differing only in case are duplicates."""
        text = _items(1).replace("[alias 1]", "[Sewage Plant, sewage  plant]")
        assert any("duplicate alias 'sewage plant'" in e for e in _errors(tmp_path, text))

    def test_duplicate_item_key(self, tmp_path: Path) -> None:
        """The same item number twice is reported at the second key."""
        text = _items(1) + GOOD_ITEM.format(n=1).replace("别名1", "别名x").replace("alias 1", "x")
        assert any(e.startswith("enrichment.yaml:7: duplicate key '1'") for e in
                   _errors(tmp_path, text))

    def test_non_numeric_item_key(self, tmp_path: Path) -> None:
        """An item key that is not a number is reported."""
        text = _items(1).replace("  1:", "  one:")
        assert any("enrichment.yaml:2: an item number must be a positive whole number" in e
                   for e in _errors(tmp_path, text))

    def test_malformed_yaml(self, tmp_path: Path) -> None:
        """Invalid YAML gives a file:line error, not a traceback."""
        text = _items(1).replace("aliases: [别名1]", "aliases: [别名1")
        errors = _errors(tmp_path, text)
        assert len(errors) == 1
        assert errors[0].startswith("enrichment.yaml:")
        assert "invalid YAML" in errors[0]

    def test_empty_file(self, tmp_path: Path) -> None:
        """An empty enrichment file is reported as such."""
        assert "enrichment.yaml:1: the file is empty" in _errors(tmp_path, "")


class TestSynonymAndOverrideErrors:
    def test_duplicate_synonym(self, tmp_path: Path) -> None:
        """A member in two groups is reported at its second line."""
        synonyms = "groups:\n  - [污水厂, sewage]\n  - [Sewage, 废水]\n"
        errors = _errors(tmp_path, _items(1), synonyms)
        assert errors == ["synonyms.yaml:3: duplicate synonym 'Sewage' (already in group 1)"]

    def test_single_member_group(self, tmp_path: Path) -> None:
        """A group with one member is pointless and reported."""
        errors = _errors(tmp_path, _items(1), "groups:\n  - [污水厂]\n")
        assert any(e.startswith("synonyms.yaml:2: group 1 has a single member") for e in errors)

    def test_override_loads(self, tmp_path: Path) -> None:
        """A well-formed override becomes (status, reason)."""
        overrides = 'overrides:\n  12: {status: completed, reason: "三期已投运"}\n'
        enrichment = load_enrichment(*_write(tmp_path, _items(1), overrides=overrides))
        assert enrichment.overrides == {12: (Status.COMPLETED, "三期已投运")}
        assert check_overrides(enrichment.overrides, [1]) == [
            "status_overrides.yaml: override for unknown item number 12"
        ]

    def test_unknown_status(self, tmp_path: Path) -> None:
        """An unknown status is reported with its line and the known ones."""
        overrides = 'overrides:\n  12:\n    status: finished\n    reason: "x"\n'
        errors = _errors(tmp_path, _items(1), overrides=overrides)
        assert errors == [
            "status_overrides.yaml:3: unknown status 'finished' "
            "(known: completed, in_progress, long_term)"
        ]

    def test_override_without_reason(self, tmp_path: Path) -> None:
        """An override without a reason is rejected."""
        overrides = "overrides:\n  12: {status: completed}\n"
        errors = _errors(tmp_path, _items(1), overrides=overrides)
        assert errors == ["status_overrides.yaml:2: missing override 12 reason"]
