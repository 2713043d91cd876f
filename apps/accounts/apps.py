from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Registers this app's header-search providers (apps.tenants.search).
        from . import selectors  # noqa: F401
