"""The registry of built-in anomaly detections (one small module each; see `base`)."""

from __future__ import annotations

import importlib

from .base import Detector

DETECTORS: dict[str, type[Detector]] = {}

# Modules that register detections, imported once by `all_detectors()`.
MODULES = (
    "impossible_travel",
    "infrequent_country",
    "risky_ip",
    "mass_download",
    "mass_deletion",
    "failed_signins",
    "inbox_forwarding",
    "admin_new_country",
)


def register(cls: type[Detector]) -> type[Detector]:
    DETECTORS[cls.key] = cls
    return cls


def all_detectors() -> dict[str, type[Detector]]:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return DETECTORS


def detector(key: str) -> type[Detector] | None:
    return all_detectors().get(key)
