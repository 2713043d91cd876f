"""The API's one error format: {"error": {"code", "message", "details"?}}.

Every refusal the API gives (400, 401, 403, 404, 405, 409, 415, 429) goes through
`exception_handler`; Django-level errors under /api/ (an unknown path, a 500) are answered in the
same shape by `apps.tenants.views.errors`. `ErrorSerializer` describes the shape in the schema.
"""

from __future__ import annotations

import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    """The request is valid but clashes with the current state (e.g. the last global admin)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def _as_api_exception(exc: Exception) -> Exception:
    # DRF converts these itself, but after we could read their code; convert first.
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def exception_handler(exc, context):
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's handler500 answers in the same format
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        details = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
        body = {"code": "invalid", "message": "The request is invalid.", "details": details}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        body = {"code": getattr(detail, "code", None) or code, "message": str(detail) or code}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["details"] = {"retry_after": math.ceil(exc.wait)}
    response.data = {"error": body}
    return response


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. `not_found`, `throttled`.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    details = serializers.JSONField(
        required=False, help_text="Field errors (400) or extra facts such as `retry_after` (429)."
    )


class ErrorSerializer(serializers.Serializer):
    """Schema of every error answer."""

    error = ErrorBodySerializer()
