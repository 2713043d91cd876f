from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "apps.activities"
    label = "activities"

    def ready(self) -> None:
        # Registers this app's header-search providers (apps.tenants.search).
        from . import selectors  # noqa: F401
