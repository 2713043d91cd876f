"""The built-in integration providers; importing this package registers them (see
`apps.integrations.registry` for how to add one)."""

from . import connectors, discovery, icap, tokens

__all__ = ["connectors", "discovery", "icap", "tokens"]
