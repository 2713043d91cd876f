"""OpenAPI details drf-spectacular cannot infer: the token scheme and the error answers.

Every operation documents 401, 403, 404 and 429 in the one error format (schemathesis reports
undocumented statuses otherwise), plus 400/415 where a body is read and 405 never (an
undocumented method is the 405 case by definition).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from .errors import ErrorSerializer

_ERRORS = {
    "400": "The request is invalid (`details` names the fields) or its JSON is malformed.",
    "401": "No token, or an invalid, revoked or expired one.",
    "403": "The token's role or its creator's current role does not allow this, or the tenant's "
    "access policy refuses the request.",
    "404": "No such object in the token's tenant (another tenant's object looks the same).",
    "409": "The change conflicts with the current state (e.g. removing the last global admin).",
    "415": "The body is not `application/json`.",
    "429": "Too many requests for this token; wait `Retry-After` seconds.",
}


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self) -> list[str]:
        codes = ["401", "403", "404", "429"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["400", "415"]
        elif self.method == "GET" and (
            getattr(self.view, "filterset_class", None)
            or self._is_list_view()
            or any(p.get("in") == "query" for p in super()._get_parameters())
        ):
            codes.append("400")  # a filter, parameter or page size that does not parse
        if self.method in ("PATCH", "DELETE", "POST") and getattr(self.view, "write_action", None):
            codes.append("409")
        return codes

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter.get("in") == "query":
                # django-filter and our paginator read `?x=` as "x not given", like a form does.
                parameter["allowEmptyValue"] = True
        return parameters

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in bodies:
                body = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                body["description"] = _ERRORS[code]
                bodies[code] = body
        return dict(sorted(bodies.items()))

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) == "429":
            headers["Retry-After"] = {
                "schema": {"type": "integer"},
                "description": "Seconds to wait before the next request.",
            }
        elif str(status_code) == "401":
            headers["WWW-Authenticate"] = {
                "schema": {"type": "string"},
                "description": 'Always `Token realm="api"`.',
            }
        return headers


class TenantTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <key>`; the key is created in the console and names one tenant."""

    target_class = "apps.tenants.api.authentication.TenantTokenAuthentication"
    name = "tenantToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "An API token created under Settings > API tokens, sent as "
                "`Authorization: Token <key>`. The token belongs to one tenant and acts with "
                "its role, never more than its creator's current role."
            ),
        }
