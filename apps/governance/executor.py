"""Carrying out one governance action through its app's connector (filled in by issue 4 work)."""

from __future__ import annotations


def execute(tenant, action_id: str) -> None:
    raise NotImplementedError("governance executor not built yet")
