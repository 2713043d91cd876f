"""The scanner: all enabled types in one guarded regex pass plus a few anchor searches.

Built-in forms led by a digit, a capital or "+"/"(" share one alternation of named groups
behind one guard (types.GUARD), so a text is walked once whatever the number of types; forms
that start with a lowercase letter (emails, tokens, JWTs, IPv6, key blocks) are found from a
literal anchor with str.find and matched in a short window. When a candidate fails its
validator (or lacks a required context word) the other types sharing its lead are tried at the
same position, so a nine-digit number that is no passport can still be an SSN. Tenant-defined
types (a regex with optional keywords, or keywords alone) run as a second joined pass: they
may overlap built-in matches.

Results never hold raw values: evidence has every digit as `#` and every letter as `X`
(keeping separators, so a reader sees the shape), and the surrounding context (at most 100
characters in all) has every digit as `#`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from apps.dlp.detection.types import (
    ANCHOR,
    BUILTIN_TYPES,
    CONFIDENCE_NAMES,
    GUARD,
    HIGH,
    LOW,
    MEDIUM,
    SensitiveType,
)

CONTEXT_WINDOW = 50  # characters either side of a match searched for context words
CONTEXT_CHARS = 100  # at most this many characters of context are kept per match
MAX_MATCHES = 10  # matches kept per type (the count covers all)

_DIGIT_TO_HASH = str.maketrans("0123456789", "##########")
_ALNUM = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class CustomType:
    """A tenant-defined type: a regex (always case-insensitive) and/or a keyword list.

    With a regex, keywords act as context words (required when `keywords_required`); with
    keywords alone, each whole-word keyword occurrence is a match.
    """

    key: str
    label: str
    regex: str | None = None
    keywords: tuple[str, ...] = ()
    keywords_required: bool = False
    min_count: int = 1
    min_confidence: int = MEDIUM


@dataclass(frozen=True)
class Match:
    """One match: offsets in the scanned text, masked evidence and masked context."""

    start: int
    end: int
    evidence: str
    context: str
    confidence: str


@dataclass
class TypeResult:
    """What a scan found of one type: how many, the best confidence, a few matches."""

    key: str
    label: str
    count: int = 0
    confidence: str = "low"
    matches: list[Match] = field(default_factory=list)


def mask_digits(text: str) -> str:
    """`text` with every digit replaced by `#`."""
    return text.translate(_DIGIT_TO_HASH)


def mask_evidence(text: str) -> str:
    """A matched value with digits as `#` and letters as `X` (separators kept)."""
    return _ALNUM.sub("X", text.translate(_DIGIT_TO_HASH))


def masked_context(text: str, start: int, end: int) -> str:
    """At most CONTEXT_CHARS characters around text[start:end], match masked, digits `#`."""
    evidence = mask_evidence(text[start:end])[: CONTEXT_CHARS // 2]
    side = (CONTEXT_CHARS - len(evidence)) // 2
    before = text[max(0, start - side) : start]
    after = text[end : end + side]
    return (mask_digits(before) + evidence + mask_digits(after)).replace("\n", " ")


def _joined(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<t{i}>{p})" for i, p in enumerate(patterns)))


def _joined_by_lead(types: list[SensitiveType]) -> tuple[re.Pattern[str] | None, dict[str, int]]:
    """One pattern for all non-anchored forms, grouped under their leads; group -> type."""
    by_lead: dict[str, list[str]] = {}
    owner: dict[str, int] = {}
    for index, kind in enumerate(types):
        for number, (lead, body) in enumerate(kind.forms):
            if lead == ANCHOR:
                continue
            name = f"t{index}_{number}"
            owner[name] = index
            by_lead.setdefault(lead, []).append(f"(?P<{name}>{body})")
    if not by_lead:
        return None, owner
    joined = "|".join(f"{lead}(?:{'|'.join(bodies)})" for lead, bodies in by_lead.items())
    return re.compile(f"{GUARD}(?:{joined})"), owner


class Engine:
    """A compiled scanner over the given built-in and tenant-defined types.

    `overrides` maps a built-in key to (min_count, min_confidence) for a tenant's thresholds.
    """

    def __init__(
        self,
        *,
        types: Iterable[SensitiveType] = BUILTIN_TYPES,
        custom: Iterable[CustomType] = (),
        overrides: dict[str, tuple[int, int]] | None = None,
        max_matches: int = MAX_MATCHES,
    ) -> None:
        self.types = list(types)
        self.max_matches = max_matches
        self.thresholds = {t.key: (t.min_count, t.min_confidence) for t in self.types}
        self.labels = {t.key: t.label for t in self.types}
        self.pattern, self._owner = _joined_by_lead(self.types)
        # Each type's non-anchored forms alone, to retry a position a candidate failed at
        # (anchored forms are left to the anchor pass, so nothing is counted twice).
        self.singles = [
            re.compile("|".join(f"{lead}(?:{body})" for lead, body in t.forms if lead != ANCHOR))
            for t in self.types
        ]
        leads = [{lead for lead, _ in t.forms if lead != ANCHOR} for t in self.types]
        self._alternates = [
            [j for j in range(len(self.types)) if j != i and leads[i] & leads[j]]
            for i in range(len(self.types))
        ]
        self.anchored = [  # (type index, pattern of its anchored forms) for anchor-found types
            (index, re.compile("|".join(body for lead, body in t.forms if lead == ANCHOR)))
            for index, t in enumerate(self.types)
            if t.anchor
        ]
        self._context = [_context_regex(t.context) for t in self.types]
        self.custom = list(custom)
        custom_patterns = []
        for kind in self.custom:
            self.thresholds[kind.key] = (kind.min_count, kind.min_confidence)
            self.labels[kind.key] = kind.label
            custom_patterns.append(_custom_regex(kind))
        self.custom_pattern = _joined(custom_patterns) if custom_patterns else None
        self._custom_context = [
            _context_regex(k.keywords) if k.regex else None for k in self.custom
        ]
        for key, value in (overrides or {}).items():
            self.thresholds[key] = value
        self._specs = [  # what _confirm needs per type, unpacked once per candidate
            (
                t.validator,
                t.base,
                t.weak,
                bool(t.context),
                t.context_required,
                self.thresholds[t.key][1],
            )
            for t in self.types
        ]

    def scan(self, text: str) -> dict[str, TypeResult]:
        """Results per type that met its thresholds, keyed by type key."""
        # key -> hits (start, end, confidence, type index or -1); see _confirm for the sign
        found: dict[str, list[tuple[int, int, int, int]]] = {}
        if self.pattern is not None:
            self._scan_builtin(text, found)
        for index, pattern in self.anchored:
            self._scan_anchored(text, index, pattern, found)
        if self.custom_pattern is not None:
            self._scan_custom(text, found)
        return self._results(text, found)

    def _scan_builtin(self, text: str, found: dict) -> None:
        types, singles, owner = self.types, self.singles, self._owner
        alternates = self._alternates
        for match in self.pattern.finditer(text):
            index = owner.get(match.lastgroup)
            if index is None:
                index = _first_group(match, owner)
            start, end = match.span()
            hit = self._confirm(text, index, start, end)
            if hit is None:  # try the other types sharing a lead at this position
                for other in alternates[index]:
                    candidate = singles[other].match(text, start)
                    if candidate is None:
                        continue
                    hit = self._confirm(text, other, start, candidate.end())
                    if hit is not None:
                        index, end = other, candidate.end()
                        break
            if hit is not None:
                found.setdefault(types[index].key, []).append((start, end, hit, index))

    def _scan_anchored(self, text: str, index: int, pattern: re.Pattern[str], found: dict) -> None:
        """Matches of an anchored type, tried in a short window around each anchor."""
        kind = self.types[index]
        anchor, before, after = kind.anchor, kind.anchor_before, kind.anchor_after
        again = kind.anchor_again_within
        hits = found.setdefault(kind.key, [])
        position = text.find(anchor)
        floor = 0
        while position != -1:
            if again and text.find(anchor, position + 1, position + 1 + again) == -1:
                position = text.find(anchor, position + 1)
                continue
            if before:
                start = max(floor, position - before)
                match = pattern.search(text, start, position + after)
                if match is not None and match.start() > position:
                    match = None
            else:
                match = pattern.match(text, position)
            if match is None:
                position = text.find(anchor, position + 1)
                continue
            start, end = match.span()
            hit = self._confirm(text, index, start, end)
            if hit is not None:
                hits.append((start, end, hit, index))
            floor = end
            position = text.find(anchor, max(end, position + 1))
        if not hits:
            del found[kind.key]

    def _confirm(self, text: str, index: int, start: int, end: int) -> int | None:
        """The confidence of text[start:end] as type `index`, or None if it is not one.

        A negative value -c means "at least c, context words not looked for yet": when the
        match counts whatever its context (c already meets the type's minimum and no word is
        required), the window search waits until a result needs the exact confidence (the
        matches shown, the best confidence), which is a small share of a busy text's matches.
        """
        validator, confidence, weak, has_context, required, minimum = self._specs[index]
        value = text[start:end]
        if validator is not None and not validator(value):
            return None
        if weak is not None and weak(value):
            confidence -= 1
        if not has_context:
            return confidence
        if not required and confidence >= minimum:
            return -confidence
        if self._has_context(text, index, start, end):
            return min(HIGH, confidence + 1)
        return None if required else max(LOW, confidence)

    def _has_context(self, text: str, index: int, start: int, end: int) -> bool:
        low = start - CONTEXT_WINDOW
        window = text[low if low > 0 else 0 : end + CONTEXT_WINDOW].lower()
        return self._context[index].search(window) is not None

    def _resolve(self, text: str, hit: tuple[int, int, int, int]) -> int:
        """The exact confidence of a hit (searching context words if it was left pending)."""
        start, end, confidence, index = hit
        if confidence > 0:
            return confidence
        raised = self._has_context(text, index, start, end)
        return min(HIGH, -confidence + 1) if raised else -confidence

    def _scan_custom(self, text: str, found: dict) -> None:
        for match in self.custom_pattern.finditer(text):
            index = _first_group(match, None)
            kind = self.custom[index]
            start, end = match.span()
            context = self._custom_context[index]
            if context is None:  # keywords alone: each occurrence is a match
                confidence = MEDIUM
            else:
                window = text[max(0, start - CONTEXT_WINDOW) : end + CONTEXT_WINDOW]
                if context.search(window.lower()):
                    confidence = HIGH
                elif kind.keywords_required:
                    continue
                else:
                    confidence = MEDIUM
            found.setdefault(kind.key, []).append((start, end, confidence, -1))

    def _results(self, text: str, found: dict) -> dict[str, TypeResult]:
        results = {}
        for key, hits in found.items():
            min_count, min_confidence = self.thresholds[key]
            kept = [hit for hit in hits if abs(hit[2]) >= min_confidence]
            if not kept or len(kept) < min_count:
                continue
            result = TypeResult(key=key, label=self.labels[key], count=len(kept))
            best = LOW
            for hit in kept:  # stop at the first high: the rest cannot raise the best
                if abs(hit[2]) + (hit[2] < 0) > best:
                    best = max(best, self._resolve(text, hit))
                if best == HIGH:
                    break
            result.confidence = CONFIDENCE_NAMES[best]
            for hit in kept[: self.max_matches]:
                start, end = hit[0], hit[1]
                result.matches.append(
                    Match(
                        start=start,
                        end=end,
                        evidence=mask_evidence(text[start:end]),
                        context=masked_context(text, start, end),
                        confidence=CONFIDENCE_NAMES[self._resolve(text, hit)],
                    )
                )
            results[key] = result
        return results


def _first_group(match: re.Match[str], owner: dict[str, int] | None) -> int:
    """The type index of the top-level group that matched (lastgroup may be a nested name)."""
    for name, value in match.groupdict().items():
        if value is None:
            continue
        if owner is not None and name in owner:
            return owner[name]
        if owner is None and name[0] == "t" and name[1:].isdigit():
            return int(name[1:])
    raise AssertionError("a joined pattern matched with no top-level group")


def _context_regex(words: Iterable[str]) -> re.Pattern[str] | None:
    words = [w for w in words if w]
    if not words:
        return None
    # Searched in a lowercased window: re.IGNORECASE alternations are several times slower.
    return re.compile("|".join(re.escape(w.lower()) for w in words))


def _custom_regex(kind: CustomType) -> str:
    """A tenant type's pattern, case-insensitive, its own groups made non-capturing."""
    if kind.regex:
        compiled = re.compile(kind.regex)  # raises re.error for the caller to report
        if compiled.groups:
            raise ValueError("custom regexes may use only non-capturing groups (?:...)")
        return f"(?i:{kind.regex})"
    if not kind.keywords:
        raise ValueError("a custom type needs a regex or keywords")
    words = "|".join(re.escape(w) for w in kind.keywords)
    return rf"(?i:(?<!\w)(?:{words})(?!\w))"
