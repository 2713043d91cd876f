"""The API's one error format: {"error": {"code", "message", "details"?}}."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": "invalid", "message": "The request is invalid.", "details": response.data}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        body = {"code": getattr(detail, "code", code) or code, "message": str(detail) or code}
    response.data = {"error": body}
    return response
