"""The sender of each kind of destination (see `apps.integrations.delivery.Sender`)."""

from __future__ import annotations

from .delivery import DeliveryError
from .models import Destination, DestinationKind


class _Unavailable:
    """A destination whose kind has no sender in this build: every push fails in words."""

    batch_size = 1

    def __init__(self, reason: str):
        self.reason = reason

    def send(self, items) -> None:
        raise DeliveryError(self.reason)


def sender_for(destination: Destination, tenant):
    if destination.kind == DestinationKind.WEBHOOK:
        from .webhooks import WebhookSender

        return WebhookSender(destination, tenant.slug)
    return _Unavailable(f"no sender for {destination.get_kind_display()} yet")
