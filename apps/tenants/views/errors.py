"""Error pages: HTML for the console, the API's one JSON error format under /api/."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

_TEXT = {
    400: ("bad_request", "The request could not be understood."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "Not found."),
    500: ("server_error", "Something went wrong on our side. It has been logged."),
}


def _error(request, status: int):
    code, message = _TEXT[status]
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return render(
        request, "errors/error.html", {"status": status, "message": message}, status=status
    )


def bad_request(request, exception=None):
    return _error(request, 400)


def permission_denied(request, exception=None):
    return _error(request, 403)


def page_not_found(request, exception=None):
    return _error(request, 404)


def server_error(request):
    return _error(request, 500)


@require_safe
def healthz(request):
    """Liveness and database reachability, for load balancers; no tenant data."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
