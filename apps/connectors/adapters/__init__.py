"""Vendor adapters, registered by `Vendor` value: `adapter_class("okta")`.

One small module per vendor. Importing this package registers all of them.
"""

from __future__ import annotations

from .base import Adapter, CredentialField, Directory, Page

_REGISTRY: dict[str, type[Adapter]] = {}


def register(cls: type[Adapter]) -> type[Adapter]:
    if cls.vendor in _REGISTRY:
        raise ValueError(f"two adapters for vendor {cls.vendor!r}")
    _REGISTRY[cls.vendor] = cls
    return cls


def adapter_class(vendor: str) -> type[Adapter] | None:
    return _REGISTRY.get(vendor)


def polled_vendors() -> list[str]:
    return sorted(_REGISTRY)


from . import github, google_workspace, office365, okta  # noqa: E402  (they call register)

__all__ = [
    "Adapter",
    "CredentialField",
    "Directory",
    "Page",
    "adapter_class",
    "github",
    "google_workspace",
    "office365",
    "okta",
    "polled_vendors",
    "register",
]
