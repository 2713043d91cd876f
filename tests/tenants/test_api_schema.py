"""The OpenAPI schema and the docs page: behind sign-in, exact (validates with no warning),
every operation documents 401/403/404 in the error format, the docs work offline under CSP."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from apps.tenants.models import Role
from tests.role_matrix import token_key

SCHEMA = "/api/v1/schema/"
DOCS = "/api/v1/docs/"


def test_schema_needs_a_token_or_a_session(db):
    response = APIClient().get(SCHEMA)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Token realm="api"'


def test_schema_by_session(client, rita):
    client.force_login(rita)
    response = client.get(SCHEMA, {"format": "json"})
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_schema_documents_errors_and_the_token_scheme(rita, tenant_a):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {token_key(rita, tenant_a, Role.SECURITY_READER)}"
    )
    schema = client.get(SCHEMA, {"format": "json"}).json()
    scheme = schema["components"]["securitySchemes"]["tenantToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) >= 8
    error_ref = "#/components/schemas/Error"
    for path, method, op in operations:
        assert op["security"] == [{"tenantToken": []}], (path, method)
        for code in ("401", "403", "404"):
            content = op["responses"][code]["content"]["application/json"]["schema"]
            assert content == {"$ref": error_ref}, (path, method, code)
        if method in {"post", "patch", "put"}:
            assert {"400", "415"} <= set(op["responses"]), (path, method)
        assert "Retry-After" in op["responses"]["429"]["headers"]
    assert "/api/v1/schema/" not in schema["paths"] and "/api/v1/docs/" not in schema["paths"]
    # UUIDs in URLs.
    detail = schema["paths"]["/api/v1/members/{id}/"]["get"]["parameters"][0]
    assert detail["schema"] == {"type": "string", "format": "uuid"}


def test_schema_validates_without_warnings(db, tmp_path):
    """T15: `manage.py spectacular --validate --fail-on-warn` is clean."""
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/members/{id}/" in out.read_text()


# --- Docs page -------------------------------------------------------------------------------


def test_docs_send_anonymous_visitors_to_sign_in(db, client):
    response = client.get(DOCS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_docs_page_works_offline_under_csp(client, rita):
    client.force_login(rita)
    response = client.get(DOCS)
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    # No inline script or style, no style attribute, nothing from another origin.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and "style=" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    sources = re.findall(r"<script src=\"([^\"]+)\"", html)
    styles = re.findall(r"<link rel=\"stylesheet\" href=\"([^\"]+)\"", html)
    assert len(sources) == 3 and len(styles) == 2
    for url in sources[:2] + styles:
        assert url.startswith("/static/")
        assert finders.find(url.removeprefix("/static/")), f"{url} is not in our static files"
    # The start-up script is served by the same view, as a file.
    script = client.get(sources[2].replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    assert '"/api/v1/schema/' in script.content.decode()


def test_docs_need_mfa_where_a_tenant_requires_it(client, rita, tenant_a):
    tenant_a.require_mfa = True
    tenant_a.save(update_fields=["require_mfa"])
    client.force_login(rita)  # a password-only session
    assert client.get(DOCS).status_code == 403
    assert client.get(SCHEMA).status_code in (401, 403)


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_docs_are_read_only(client, rita, method):
    client.force_login(rita)
    assert getattr(client, method)(DOCS).status_code == 405
