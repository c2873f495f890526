"""Load and check the hand-written YAML that sits beside the notice.

Three files, all edited by staff: `enrichment.yaml` (English titles and summaries, colloquial
aliases, keyed by item number), `synonyms.yaml` (global zh/en synonym groups) and
`status_overrides.yaml` (where the status rules are wrong). `intents.yaml` holds the phrases
that mark contact questions, questions about the notice as a whole, greetings and topics the
notice does not cover. Every problem is reported as `file:line: what is wrong`, all at once, so
an editor can fix a file in one pass; a file that is not valid YAML is reported the same way.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.model import Status

DATA = Path(__file__).resolve().parent / "data"
ENRICHMENT = DATA / "enrichment.yaml"
SYNONYMS = DATA / "synonyms.yaml"
OVERRIDES = DATA / "status_overrides.yaml"
INTENTS = DATA / "intents.yaml"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CONTACT_TOPICS = ("phone", "email", "address", "how")
CUES = (
    "count", "counted", "when", "who", "why", "happened", "routine", "achievement",
    "unfinished", "reach", "channel", "notice", "inspection", "whole", "published", "summary",
    "accountability", "duration",
)
META_TOPICS = (
    "inspection", "period", "count", "progress", "next_steps", "publisher", "date", "overview",
)


class EnrichmentError(ValueError):
    """One or more problems in the YAML files, each as 'file:line: message'."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass(frozen=True, slots=True)
class AreaText:
    """English and short labels of one area."""

    en_title: str
    short_zh: str
    short_en: str


@dataclass(frozen=True, slots=True)
class ItemText:
    """Hand-written text about one item."""

    en_title: str
    en_summary: str
    aliases: tuple[str, ...]
    en_aliases: tuple[str, ...]
    line: int = 0


@dataclass(frozen=True, slots=True)
class Enrichment:
    """Everything the YAML files add to a notice."""

    areas: dict[int, AreaText] = field(default_factory=dict)
    items: dict[int, ItemText] = field(default_factory=dict)
    synonyms: tuple[tuple[str, ...], ...] = ()
    overrides: dict[int, tuple[Status, str]] = field(default_factory=dict)
    item_lines: dict[int, int] = field(default_factory=dict)
    area_lines: dict[int, int] = field(default_factory=dict)
    source: str = ""

    def check_items(self, numbers: Collection[int]) -> list[str]:
        """Problems of this enrichment against a notice's item numbers (unknown or missing)."""
        errors = []
        for number, line in sorted(self.item_lines.items()):
            if number not in numbers:
                errors.append(f"{self.source}:{line}: unknown item number {number}")
        for number in sorted(set(numbers) - set(self.items)):
            errors.append(f"{self.source}: item {number} has no enrichment (en_title, en_summary)")
        return errors


@dataclass(frozen=True, slots=True)
class Intents:
    """Regular expressions (already compiled) that mark what a question is about."""

    contact: dict[str, re.Pattern[str]]
    meta: dict[str, re.Pattern[str]]
    greeting: re.Pattern[str]
    filler: re.Pattern[str]
    out_of_scope: re.Pattern[str]
    out_of_scope_en: frozenset[str]
    stopwords_en: frozenset[str]
    words: frozenset[str] = frozenset()
    # Question-type and subject cues (see intents.yaml `cues`): combined by the matcher into
    # contact and meta answers; empty when the file has none.
    cues: dict[str, re.Pattern[str]] = field(default_factory=dict)
    # Each out_of_scope entry as written, with its line (for `check_out_of_scope`), and the
    # terms explicitly allowed to occur in the notice or an alias (`out_of_scope_allowed`).
    out_of_scope_entries: tuple[tuple[str, int], ...] = ()
    out_of_scope_allowed: frozenset[str] = frozenset()
    # Kinds of fact a question may ask for (see intents.yaml `details`): kind → (how a question
    # asks for it, how such a fact looks in an item's text; None: the notice never gives one).
    details: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = field(
        default_factory=dict
    )


# ---------------------------------------------------------------- reading YAML with lines


class _Reader:
    """Turns a YAML node tree into Python values, collecting 'file:line' errors."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.errors: list[str] = []

    def error(self, node: yaml.Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.errors.append(f"{self.name}:{line}: {message}")

    def root(self) -> yaml.Node | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            self.errors.append(f"{self.name}:1: cannot read: {exc.strerror or exc}")
            return None
        except UnicodeDecodeError:
            self.errors.append(f"{self.name}:1: not UTF-8 text")
            return None
        try:
            node = yaml.compose(text, Loader=_Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            problem = exc.problem or exc.context or "invalid YAML"
            self.errors.append(f"{self.name}:{line}: invalid YAML: {problem}")
            return None
        except yaml.YAMLError as exc:
            self.errors.append(f"{self.name}:1: invalid YAML: {exc}")
            return None
        if node is None:
            self.errors.append(f"{self.name}:1: the file is empty")
        return node

    def mapping(self, node: yaml.Node | None, what: str) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping")
            return
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    self.error(key, f"duplicate key {key.value!r} in {what}")
                    continue
                seen.add(key.value)
            yield key, value

    def child(self, node: yaml.Node | None, name: str) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == name:
                    found: yaml.Node = value
                    return found
        return None

    def number(self, node: yaml.Node, what: str) -> int | None:
        if isinstance(node, yaml.ScalarNode) and re.fullmatch(r"\d{1,4}", node.value.strip()):
            return int(node.value)
        self.error(node, f"{what} must be a positive whole number, found {_show(node)}")
        return None

    def text(self, node: yaml.Node | None, what: str, parent: yaml.Node) -> str:
        if node is None:
            self.error(parent, f"missing {what}")
            return ""
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            self.error(node, f"{what} must be text, found {_show(node)}")
            return ""
        value = " ".join(str(node.value).split())
        if not value:
            self.error(node, f"{what} is empty")
        return value

    def texts(
        self, node: yaml.Node | None, what: str, parent: yaml.Node
    ) -> list[tuple[str, yaml.Node]]:
        if node is None:
            self.error(parent, f"missing {what}")
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{what} must be a list, found {_show(node)}")
            return []
        result = []
        for element in node.value:
            value = self.text(element, f"an entry of {what}", node)
            if value:
                result.append((value, element))
        return result


def _show(node: yaml.Node | None) -> str:
    if node is None:
        return "nothing"
    if isinstance(node, yaml.ScalarNode):
        return repr(node.value) if node.value else "an empty value"
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


def _alias_key(alias: str) -> str:
    return " ".join(alias.lower().split())


# ---------------------------------------------------------------- the files


def load_enrichment(
    enrichment: Path = ENRICHMENT, synonyms: Path = SYNONYMS, overrides: Path = OVERRIDES
) -> Enrichment:
    """Read and check all three files; raises `EnrichmentError` listing every problem."""
    errors: list[str] = []
    areas, items, item_lines, area_lines = _read_enrichment(enrichment, errors)
    groups = _read_synonyms(synonyms, errors)
    status = _read_overrides(overrides, errors)
    if errors:
        raise EnrichmentError(errors)
    return Enrichment(
        areas=areas,
        items=items,
        synonyms=groups,
        overrides=status,
        item_lines=item_lines,
        area_lines=area_lines,
        source=enrichment.name,
    )


def _read_enrichment(
    path: Path, errors: list[str]
) -> tuple[dict[int, AreaText], dict[int, ItemText], dict[int, int], dict[int, int]]:
    reader = _Reader(path)
    root = reader.root()
    areas: dict[int, AreaText] = {}
    items: dict[int, ItemText] = {}
    item_lines: dict[int, int] = {}
    area_lines: dict[int, int] = {}
    if root is not None:
        for key, _value in reader.mapping(root, "the file"):
            if not (isinstance(key, yaml.ScalarNode) and key.value in ("areas", "items")):
                reader.error(key, f"unknown section {_show(key)} (expected areas, items)")
        areas_node = reader.child(root, "areas")
        if areas_node is not None:
            for key, value in reader.mapping(areas_node, "areas"):
                number = reader.number(key, "an area number")
                if number is None:
                    continue
                if not 1 <= number <= 10:
                    reader.error(key, f"unknown area number {number}")
                    continue
                area_lines[number] = key.start_mark.line + 1
                areas[number] = AreaText(
                    *(reader.text(reader.child(value, name), f"area {number} {name}", key)
                      for name in ("en_title", "short_zh", "short_en"))
                )
                fields = {"en_title", "short_zh", "short_en"}
                _unknown_fields(reader, value, fields, f"area {number}")
        items_node = reader.child(root, "items")
        if items_node is None:
            reader.error(root, "missing the items section")
        else:
            owner: dict[str, int] = {}
            for key, value in reader.mapping(items_node, "items"):
                number = reader.number(key, "an item number")
                if number is None:
                    continue
                if number == 0:
                    reader.error(key, "unknown item number 0")
                    continue
                item_lines[number] = key.start_mark.line + 1
                items[number] = _read_item(reader, number, key, value, owner)
    errors.extend(reader.errors)
    return areas, items, item_lines, area_lines


_ITEM_FIELDS = {"en_title", "en_summary", "aliases", "en_aliases"}


def _unknown_fields(reader: _Reader, node: yaml.Node, allowed: set[str], what: str) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value not in allowed:
                reader.error(key, f"{what}: unknown field {key.value!r}")
    else:
        reader.error(node, f"{what} must be a mapping")


def _read_item(
    reader: _Reader, number: int, key: yaml.Node, value: yaml.Node, owner: dict[str, int]
) -> ItemText:
    what = f"item {number}"
    _unknown_fields(reader, value, _ITEM_FIELDS, what)
    en_title = reader.text(reader.child(value, "en_title"), f"{what} en_title", key)
    en_summary = reader.text(reader.child(value, "en_summary"), f"{what} en_summary", key)
    lists: dict[str, list[str]] = {}
    for name in ("aliases", "en_aliases"):
        kept: list[str] = []
        for alias, node in reader.texts(reader.child(value, name), f"{what} {name}", key):
            alias_key = _alias_key(alias)
            if alias_key in owner:
                other = owner[alias_key]
                where = "this item" if other == number else f"item {other}"
                reader.error(node, f"{what}: duplicate alias {alias!r} (already in {where})")
                continue
            owner[alias_key] = number
            kept.append(alias)
        lists[name] = kept
    return ItemText(
        en_title=en_title,
        en_summary=en_summary,
        aliases=tuple(lists["aliases"]),
        en_aliases=tuple(lists["en_aliases"]),
        line=key.start_mark.line + 1,
    )


def _read_synonyms(path: Path, errors: list[str]) -> tuple[tuple[str, ...], ...]:
    reader = _Reader(path)
    root = reader.root()
    groups: list[tuple[str, ...]] = []
    if root is not None:
        groups_node = reader.child(root, "groups")
        if groups_node is None:
            reader.error(root, "missing the groups list")
        elif not isinstance(groups_node, yaml.SequenceNode):
            reader.error(groups_node, "groups must be a list of lists")
        else:
            owner: dict[str, int] = {}
            for index, group in enumerate(groups_node.value, start=1):
                members = reader.texts(group, f"group {index}", groups_node)
                if len(members) == 1:
                    reader.error(group, f"group {index} has a single member: nothing is a synonym")
                kept = []
                for member, node in members:
                    member_key = _alias_key(member)
                    if member_key in owner:
                        reader.error(
                            node,
                            f"duplicate synonym {member!r} (already in group {owner[member_key]})",
                        )
                        continue
                    owner[member_key] = index
                    kept.append(member)
                if kept:
                    groups.append(tuple(kept))
    errors.extend(reader.errors)
    return tuple(groups)


def _read_overrides(path: Path, errors: list[str]) -> dict[int, tuple[Status, str]]:
    if not path.exists():
        return {}
    reader = _Reader(path)
    root = reader.root()
    result: dict[int, tuple[Status, str]] = {}
    if root is not None:
        node = reader.child(root, "overrides")
        if node is None:
            reader.error(root, "missing the overrides mapping (write `overrides: {}` when empty)")
        elif not (isinstance(node, yaml.MappingNode) and not node.value):
            for key, value in reader.mapping(node, "overrides"):
                number = reader.number(key, "an item number")
                if number is None:
                    continue
                _unknown_fields(reader, value, {"status", "reason"}, f"override {number}")
                status_node = reader.child(value, "status")
                status_text = reader.text(status_node, f"override {number} status", key)
                reason_node = reader.child(value, "reason")
                reason = reader.text(reason_node, f"override {number} reason", key)
                try:
                    status = Status(status_text)
                except ValueError:
                    if status_text:
                        known = ", ".join(s.value for s in Status)
                        reader.error(
                            status_node, f"unknown status {status_text!r} (known: {known})"
                        )
                    continue
                if reason:
                    result[number] = (status, reason)
    errors.extend(reader.errors)
    return result


def check_overrides(overrides: dict[int, tuple[Status, str]], numbers: Collection[int],
                    path: Path = OVERRIDES) -> list[str]:
    """Overrides naming items the notice does not have."""
    return [
        f"{path.name}: override for unknown item number {number}"
        for number in sorted(overrides)
        if number not in numbers
    ]


def load_intents(path: Path = INTENTS) -> Intents:
    """Read the intent phrase lists; raises `EnrichmentError` on problems."""
    reader = _Reader(path)
    root = reader.root()

    def pattern(node: yaml.Node | None, what: str) -> re.Pattern[str]:
        parts = [value for value, _ in reader.texts(node, what, root or node)] if node else []
        if node is None:
            reader.error(root, f"missing {what}")
        combined = "|".join(f"(?:{part})" for part in parts) or r"(?!x)x"
        try:
            return re.compile(combined)
        except re.error:
            pass
        # Only when something is wrong: compile each part alone to name the bad one.
        good = []
        for part in parts:
            try:
                re.compile(part)
            except re.error as exc:
                reader.error(node, f"{what}: bad pattern {part!r}: {exc}")
                continue
            good.append(f"(?:{part})")
        return re.compile("|".join(good) or r"(?!x)x")

    def topics(name: str, allowed: tuple[str, ...]) -> dict[str, re.Pattern[str]]:
        node = reader.child(root, name)
        result = {}
        for key, value in reader.mapping(node, name):
            topic = key.value if isinstance(key, yaml.ScalarNode) else ""
            if topic not in allowed:
                reader.error(key, f"unknown {name} topic {topic!r} (known: {', '.join(allowed)})")
                continue
            result[topic] = pattern(value, f"{name}.{topic}")
        return result

    contact = topics("contact", CONTACT_TOPICS) if root is not None else {}
    meta = topics("meta", META_TOPICS) if root is not None else {}
    cues: dict[str, re.Pattern[str]] = {}
    if root is not None and reader.child(root, "cues") is not None:
        cues = topics("cues", CUES)
    details: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {}
    details_node = reader.child(root, "details") if root is not None else None
    for key, value in reader.mapping(details_node, "details") if details_node else ():
        kind = key.value if isinstance(key, yaml.ScalarNode) else "?"
        ask_node = reader.child(value, "ask")
        found_node = reader.child(value, "found")
        ask = pattern(ask_node, f"details.{kind}.ask")
        has_found = found_node is not None and bool(reader.texts(found_node, "found", value))
        details[kind] = (ask, pattern(found_node, f"details.{kind}.found") if has_found else None)
    greeting = pattern(reader.child(root, "greeting"), "greeting") if root is not None else None
    filler = pattern(reader.child(root, "filler"), "filler") if root is not None else None
    if filler is not None:
        # Longest first: the weight of each character depends on the extent of the match, and
        # an alternation takes the first alternative that matches (怎么 before 怎么处理).
        terms = sorted({t for part in _alternatives(filler.pattern) for t in _alternatives(
            part[3:-1] if part.startswith("(?:") and part.endswith(")") else part)},
            key=len, reverse=True)
        filler = re.compile("|".join(terms))
    oos_node = reader.child(root, "out_of_scope") if root is not None else None
    oos = pattern(oos_node, "out_of_scope") if root is not None else None
    entries: tuple[tuple[str, int], ...] = ()
    allowed: frozenset[str] = frozenset()
    if root is not None and oos_node is not None:
        entries = tuple((value, node.start_mark.line + 1)
                        for value, node in reader.texts(oos_node, "out_of_scope", root))
    allowed_node = reader.child(root, "out_of_scope_allowed") if root is not None else None
    if root is not None and allowed_node is not None:
        allowed = frozenset(v for v, _ in reader.texts(allowed_node, "out_of_scope_allowed", root))
    words: dict[str, frozenset[str]] = {}
    for name in ("out_of_scope_en", "stopwords_en", "words"):
        node = reader.child(root, name) if root is not None else None
        values = reader.texts(node, name, root) if root is not None else []
        words[name] = frozenset(v.lower() for v, _ in values)
    if reader.errors or greeting is None or filler is None or oos is None:
        raise EnrichmentError(reader.errors or [f"{path.name}:1: incomplete"])
    return Intents(
        contact=contact,
        meta=meta,
        greeting=greeting,
        filler=filler,
        out_of_scope=oos,
        out_of_scope_en=words["out_of_scope_en"],
        stopwords_en=words["stopwords_en"],
        words=words["words"],
        cues=cues,
        out_of_scope_entries=entries,
        out_of_scope_allowed=allowed,
        details=details,
    )


def _alternatives(pattern: str) -> list[str]:
    """The top-level `|` alternatives of a regular expression."""
    parts, depth, start, escaped = [], 0, 0, False
    for i, char in enumerate(pattern):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return [part for part in parts if part]


def check_out_of_scope(
    intents: Intents, notice_text: str, aliases: Collection[str], source: str = INTENTS.name
) -> list[str]:
    """Out-of-scope terms that occur in the notice's own text or in an alias.

    Such a term would turn real questions about an item into `none` (路线 inside 铁路线), so
    it is an error unless listed under `out_of_scope_allowed`. Texts are compared folded.
    """
    from knowledge.normalize import fold

    texts = [("the notice text", fold(notice_text))]
    texts += [(f"alias {alias!r}", fold(alias)) for alias in aliases]
    errors = []
    for entry, line in intents.out_of_scope_entries:
        for term in _alternatives(entry):
            try:
                compiled = re.compile(term)
            except re.error:
                continue  # reported by load_intents
            for where, text in texts:
                found = compiled.search(text)
                allowed = intents.out_of_scope_allowed
                if found is None or not found.group() or found.group() in allowed:
                    continue
                errors.append(
                    f"{source}:{line}: out_of_scope term {term!r} occurs in {where} "
                    f"({found.group()!r}); remove it or list it under out_of_scope_allowed"
                )
                break
    return errors
