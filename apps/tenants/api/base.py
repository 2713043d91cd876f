"""Base viewset of the API: the tenant comes from the token, once per request.

Subclasses declare `read_action`/`write_action` and a `scoped_queryset()`; they may not
override `get_queryset` or `initial` (PostHog's rule: the base class owns scoping).

Order of refusals: no or bad token -> 401; tenant gate (status, networks, countries) -> 403;
a method the endpoint does not offer -> 405; an action the principal may not take -> 403;
too many requests -> 429; an object outside the tenant -> 404 (the scoped queryset has no
such row, exactly as for a missing one).
"""

from __future__ import annotations

from django.db.models import Model
from rest_framework import exceptions, viewsets

from ..gate import request_denial
from ..permissions import Action
from ..scoping import activate, deactivate
from .authentication import TenantTokenAuthentication
from .pagination import Pagination
from .permissions import TenantActionPermission
from .throttling import TokenRateThrottle

_SEALED = ("get_queryset", "initial", "finalize_response")


class TenantScopedViewSet(viewsets.GenericViewSet):
    # Declared here rather than inherited from settings, so a view can never end up with an
    # implicit AllowAny (T11) and the meta-test can read them.
    authentication_classes = [TenantTokenAuthentication]
    permission_classes = [TenantActionPermission]
    throttle_classes = [TokenRateThrottle]
    pagination_class = Pagination

    read_action: Action | None = Action.VIEW
    write_action: Action | None = None
    model: type[Model] | None = None  # what scoped_queryset() returns; read by the schema
    lookup_field = "id"
    lookup_value_converter = "uuid"  # /things/<uuid:id>/: a non-UUID never reaches the view

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
            if not self._offers(request.method):
                # Say 405 before checking the role: the answer is the same for every role.
                raise exceptions.MethodNotAllowed(request.method)
            self._scope_token = activate(token.tenant)
        super().initial(request, *args, **kwargs)

    def _offers(self, method: str) -> bool:
        name = method.lower()
        return name in self.http_method_names and hasattr(self, name)

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(self, "_scope_token", None) is not None:
            deactivate(self._scope_token)
            self._scope_token = None
        return super().finalize_response(request, response, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) and self.model is not None:
            # Schema generation has no token and so no tenant: an empty, query-free stand-in.
            return self.model._base_manager.none()
        if getattr(self.request, "tenant", None) is None:
            raise exceptions.NotAuthenticated()
        return self.scoped_queryset()

    def scoped_queryset(self):
        raise NotImplementedError
