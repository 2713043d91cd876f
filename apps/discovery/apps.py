from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    name = "apps.discovery"
    label = "discovery"

    def ready(self) -> None:
        # Registers the discovery header-search providers (apps.tenants.search).
        from . import search  # noqa: F401
