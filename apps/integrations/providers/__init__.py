"""The built-in integration providers; importing this package registers them (see
`apps.integrations.registry` for how to add one)."""

from . import connectors, destinations, discovery, icap, tokens

__all__ = ["connectors", "destinations", "discovery", "icap", "tokens"]
