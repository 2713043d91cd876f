"""Reads of content inspection data."""

from __future__ import annotations

import json

from apps.compliance import crypto

from .models import SAMPLES_PURPOSE, Match


def samples(match: Match) -> list[dict]:
    """A match's masked samples: [{"part", "start", "end", "evidence", "context",
    "confidence"}] (opened with the tenant key; never raw values)."""
    return json.loads(
        crypto.open_sealed(bytes(match.samples_sealed), SAMPLES_PURPOSE, match.tenant_id)
    )
