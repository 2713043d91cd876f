"""Request middleware of the console and API."""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """Pages and API answers hold tenant data: tell browsers and proxies not to keep them
    (ASVS 14.3.2). Static files are served before this runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/static/"):
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, " + response.get("Cache-Control", "")
        return response
