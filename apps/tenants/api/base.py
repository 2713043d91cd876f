"""Base viewset of the API: the tenant comes from the token, once per request.

Subclasses declare `read_action`/`write_action` and a `scoped_queryset()`; they may not
override `get_queryset` or `initial` (PostHog's rule: the base class owns scoping).
"""

from __future__ import annotations

from rest_framework import exceptions, viewsets

from ..gate import request_denial
from ..permissions import Action
from ..scoping import activate, deactivate

_SEALED = ("get_queryset", "initial", "finalize_response")


class TenantScopedViewSet(viewsets.GenericViewSet):
    read_action: Action | None = Action.VIEW
    write_action: Action | None = None
    lookup_field = "id"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in _SEALED:
            if name in cls.__dict__:
                raise TypeError(f"{cls.__name__} may not override {name}; use scoped_queryset()")

    def initial(self, request, *args, **kwargs):
        self._scope_token = None
        self.perform_authentication(request)
        token = request.auth
        if token is not None:
            request.tenant = token.tenant
            denial = request_denial(request, token.tenant)
            if denial is not None:
                raise exceptions.PermissionDenied(denial.message, code=denial.code)
            self._scope_token = activate(token.tenant)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(self, "_scope_token", None) is not None:
            deactivate(self._scope_token)
            self._scope_token = None
        return super().finalize_response(request, response, *args, **kwargs)

    def get_queryset(self):
        if getattr(self.request, "tenant", None) is None:
            raise exceptions.NotAuthenticated()
        return self.scoped_queryset()

    def scoped_queryset(self):
        raise NotImplementedError
