"""The OpenAPI schema and its Swagger UI page, both behind sign-in (ASVS 13.4.5).

The schema answers a valid token or a signed-in session; anonymous callers get 401 in the error
format. The docs page is for people: it needs a signed-in session (anonymous visitors are sent
to sign in) and works offline under our CSP (`script-src 'self'; style-src 'self'`): Swagger UI's
files come from drf-spectacular-sidecar through our static files, and the start-up script is
served as a separate file by the split view, so the page holds no inline script or style.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.renderers import JSONRenderer

from .authentication import TenantTokenAuthentication
from .permissions import SignedInPrincipal, session_user_may_use_api_docs
from .throttling import TokenRateThrottle


class JsonErrorsMixin:
    """Errors in the API's JSON error format, whatever the view renders on success."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaView(JsonErrorsMixin, SpectacularAPIView):
    """OpenAPI 3 (YAML by default, `?format=json` for JSON)."""

    authentication_classes = [TenantTokenAuthentication, SessionAuthentication]
    permission_classes = [SignedInPrincipal]
    throttle_classes = [TokenRateThrottle]


class _SwaggerView(JsonErrorsMixin, SpectacularSwaggerSplitView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [SignedInPrincipal]
    throttle_classes = [TokenRateThrottle]
    url_name = "api-schema"
    template_name = "api/swagger_ui.html"
    title = "CASB API"

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        # drf-spectacular loosens COOP for OAuth pop-ups we do not use; keep our same-origin.
        if "Cross-Origin-Opener-Policy" in response:
            del response["Cross-Origin-Opener-Policy"]
        return response


_swagger = _SwaggerView.as_view()


def docs(request, *args, **kwargs):
    """Swagger UI for signed-in people; anonymous visitors go to the sign-in page first."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not session_user_may_use_api_docs(request.user):
        raise PermissionDenied("Complete multi-factor authentication first.")
    return _swagger(request, *args, **kwargs)
