from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "apps.alerts"
    label = "alerts"

    def ready(self) -> None:
        # Registers the alerts' header-search provider (apps.tenants.search).
        from . import search  # noqa: F401
