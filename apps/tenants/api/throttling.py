"""Per-token throttling; DRF answers 429 with Retry-After."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """One bucket per API token (so two tokens of one person are limited separately); a
    request without a token is counted by client address."""

    scope = "token"

    def get_rate(self) -> str | None:
        # DRF binds THROTTLE_RATES when the class is defined; read the live settings instead so a
        # changed REST_FRAMEWORK (override_settings in tests, a reload) takes effect.
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from exc

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        ident = str(token.pk) if hasattr(token, "pk") else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
