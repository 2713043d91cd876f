"""The risk score (spec 5.6): 0-10, 10 the least risky, a weighted average of four group scores.

Each scored attribute gives 0-10 (`Attribute.score`). A group's score is the weighted average of
its known attributes (attribute weights, default medium); with "count N/A as negative", unknown
attributes count as 0 instead of being left out. The total is the weighted average of the group
scores (group weights, default medium) over groups that have a score. An app with no scored
attribute at all is unscored (None). A tenant's override replaces the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from .attributes import DEFAULT_LEVEL, GROUPS, SCORED

# Weight of each importance level (0 ignored .. 4 very high).
LEVEL_WEIGHT = {0: 0.0, 1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0}


@dataclass(frozen=True)
class Weights:
    """A tenant's score metric: levels per group and per attribute, and the N/A rule."""

    groups: dict
    attributes: dict
    na_negative: bool = False

    @classmethod
    def default(cls) -> Weights:
        return cls(groups={}, attributes={}, na_negative=False)

    @classmethod
    def of(cls, settings) -> Weights:
        """From a DiscoverySettings row (or None for the defaults)."""
        if settings is None:
            return cls.default()
        return cls(
            groups=dict(settings.group_weights or {}),
            attributes=dict(settings.attribute_weights or {}),
            na_negative=settings.na_negative,
        )

    def group(self, group: str) -> float:
        return LEVEL_WEIGHT.get(int(self.groups.get(group, DEFAULT_LEVEL)), 0.0)

    def attribute(self, key: str) -> float:
        return LEVEL_WEIGHT.get(int(self.attributes.get(key, DEFAULT_LEVEL)), 0.0)


@dataclass(frozen=True)
class Score:
    total: float | None  # rounded to one decimal; None = unscored
    groups: dict[str, float | None]
    overridden: bool = False

    @property
    def level(self) -> str:
        """high / medium / low risk (a low score is a high risk), or unscored."""
        if self.total is None:
            return "unscored"
        if self.total < 4:
            return "high"
        if self.total < 7:
            return "medium"
        return "low"


def score(
    attributes: dict,
    weights: Weights | None = None,
    *,
    override: float | None = None,
    today: date | None = None,
) -> Score:
    """The score of an app with these catalog attributes under `weights`."""
    weights = weights or Weights.default()
    today = today or datetime.now(UTC).date()
    sums: dict[str, list[float]] = {group: [0.0, 0.0] for group in GROUPS}
    for attribute in SCORED:
        weight = weights.attribute(attribute.key)
        if not weight:
            continue
        value = attributes.get(attribute.key)
        points = attribute.score(value, today) if value is not None else None
        if points is None:
            if not weights.na_negative:
                continue
            points = 0.0
        sums[attribute.group][0] += points * weight
        sums[attribute.group][1] += weight
    groups = {g: (total / weight if weight else None) for g, (total, weight) in sums.items()}
    numerator = denominator = 0.0
    for group, value in groups.items():
        weight = weights.group(group)
        if value is None or not weight:
            continue
        numerator += value * weight
        denominator += weight
    total = round(numerator / denominator, 1) if denominator else None
    groups = {group: (round(v, 1) if v is not None else None) for group, v in groups.items()}
    if override is not None:
        return Score(total=round(float(override), 1), groups=groups, overridden=True)
    return Score(total=total, groups=groups)
