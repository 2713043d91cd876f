from django.apps import AppConfig


class DlpConfig(AppConfig):
    name = "apps.dlp"
    label = "dlp"

    def ready(self) -> None:
        # Registers the Files header-search provider (apps.tenants.search).
        from . import search  # noqa: F401
