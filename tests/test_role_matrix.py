"""T6/T7: the role matrix. Every URL of the resolver (console and API) x method x principal
must answer what tests/role_matrix.py says; a URL without a row fails the meta-test.

Also checked on every cell: a refused request leaves the object unchanged, and nothing of
tenant A's objects appears in any answer to charlie (tenant B).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from apps.tenants.models import Role
from tests import role_matrix as rm


@dataclass(frozen=True)
class Endpoint:
    name: str  # namespace:name
    route: str  # for messages
    kwargs: tuple[str, ...]
    callback: object


def _walk(patterns, namespace: str = "", prefix: str = "") -> Iterator[Endpoint]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _walk(entry.url_patterns, ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            name = f"{namespace}{entry.name}" if entry.name else f"<unnamed {route}>"
            kwargs = tuple(_kwarg_names(route))
            yield Endpoint(name, route, kwargs, entry.callback)


def _kwarg_names(route: str) -> list[str]:
    names = re.findall(r"<(?:\w+:)?(\w+)>", route)  # path() converters
    names += re.findall(r"\(\?P<(\w+)>", route)  # re_path() groups
    return names


def endpoints() -> list[Endpoint]:
    return list(_walk(get_resolver().url_patterns))


def is_api(endpoint: Endpoint) -> bool:
    return endpoint.route.startswith("api/")


# --- Meta-tests: the table covers the resolver, and nothing else ---------------------------


def test_every_url_has_a_row():
    names = [e.name for e in endpoints()]
    unnamed = [n for n in names if n.startswith("<unnamed")]
    assert not unnamed, f"every URL pattern needs a name (the matrix is keyed by it): {unnamed}"
    missing = sorted(set(names) - set(rm.EXPECTED))
    assert not missing, f"URL names with no row in tests/role_matrix.py: {missing}"
    stale = sorted(set(rm.EXPECTED) - set(names))
    assert not stale, f"rows in tests/role_matrix.py for URLs that no longer exist: {stale}"


def test_every_row_is_complete():
    by_name = {e.name: e for e in endpoints()}
    for name, row in rm.EXPECTED.items():
        if name not in by_name:
            continue
        methods = rm.API_METHODS if is_api(by_name[name]) else rm.CONSOLE_METHODS
        assert set(row) == set(methods), f"{name}: needs exactly {methods}"
        for method, cells in row.items():
            assert len(cells) == len(rm.PRINCIPALS), f"{name} {method}: one value per principal"


def test_every_object_kwarg_has_a_builder():
    missing = [
        f"{e.name} <{kwarg}>"
        for e in endpoints()
        for kwarg in e.kwargs
        if kwarg != "tenant_slug" and rm.builder_for(e.name, kwarg) is None
    ]
    assert not missing, f"add a @builds(...) in tests/role_matrix.py for: {missing}"


def test_api_views_deny_by_default():
    """T11: every DRF view under /api/ names its permission classes; none is AllowAny."""
    checked = 0
    for endpoint in endpoints():
        view_class = getattr(endpoint.callback, "cls", None)
        if not is_api(endpoint) or view_class is None:
            continue
        checked += 1
        classes = view_class.permission_classes
        assert classes, endpoint.name
        assert AllowAny not in classes, f"{endpoint.name} allows anyone"
    print(f"\nT11: {checked} API views, 0 implicit AllowAny")
    assert checked >= 6


# --- The matrix -----------------------------------------------------------------------------


@pytest.fixture
def world(tenant_a, tenant_b, alice, sam, rita, charlie):
    users = {"alice": alice, "sam": sam, "rita": rita, "charlie": charlie}
    return rm.World(tenant_a=tenant_a, tenant_b=tenant_b, users=users)


@pytest.fixture
def keys(world):
    """One token per person, with the highest role they may give it."""
    a, b = world.tenant_a, world.tenant_b
    return {
        "rita": rm.token_key(world.users["rita"], a, Role.SECURITY_READER),
        "sam": rm.token_key(world.users["sam"], a, Role.SECURITY_ADMIN),
        "alice": rm.token_key(world.users["alice"], a, Role.GLOBAL_ADMIN),
        "charlie": rm.token_key(world.users["charlie"], b, Role.GLOBAL_ADMIN),
    }


def _build(world, endpoint: Endpoint):
    kwargs, built = {}, None
    for kwarg in endpoint.kwargs:
        if kwarg == "tenant_slug":
            kwargs[kwarg] = world.tenant_a.slug
            continue
        built = rm.builder_for(endpoint.name, kwarg)(world)
        kwargs[kwarg] = built.kwargs[kwarg]
    return reverse(endpoint.name, kwargs=kwargs), built


def _call(world, keys, endpoint: Endpoint, url: str, method: str, principal: str):
    if is_api(endpoint):
        client = APIClient()
        if principal != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Token {keys[principal]}")
        if method in ("POST", "PUT", "PATCH"):
            return client.generic(method, url, data="{}", content_type="application/json")
        return client.generic(method, url)
    client = Client()
    if principal != "anonymous":
        client.force_login(world.users[principal])
    return client.get(url) if method == "GET" else client.post(url, {})


def _matches(expected, response) -> bool:
    if expected == rm.LOGIN:
        login = reverse("login")
        return response.status_code == 302 and response["Location"].startswith(login)
    return response.status_code == expected


def _is_error_format(response) -> bool:
    if not response["Content-Type"].startswith("application/json"):
        return False
    body = response.json()
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and {"code", "message"} <= set(body["error"])
    )


def test_role_matrix(world, keys):
    cells = mismatches = foreign_cells = leaks = foreign_writes = bad_format = 0
    problems: list[str] = []
    eps = endpoints()
    for endpoint in eps:
        row = rm.EXPECTED[endpoint.name]
        for method, expected_cells in row.items():
            for principal, expected in zip(rm.PRINCIPALS, expected_cells, strict=True):
                url, built = _build(world, endpoint)
                before = built.snapshot() if built else None
                response = _call(world, keys, endpoint, url, method, principal)
                cells += 1
                where = f"{method} {url} as {principal}"
                if not _matches(expected, response):
                    mismatches += 1
                    problems.append(f"{where}: expected {expected}, got {response.status_code}")
                if built is not None and principal == "charlie":
                    foreign_cells += 1
                    body = response.content.decode(errors="replace")
                    if any(secret in body for secret in built.secrets):
                        leaks += 1
                        problems.append(f"{where}: the answer shows tenant A's object")
                refused = response.status_code >= 400
                if refused and is_api(endpoint) and not _is_error_format(response):
                    bad_format += 1
                    problems.append(f"{where}: {response.status_code} not in the error format")
                if built is not None and refused and built.snapshot() != before:
                    foreign_writes += 1
                    problems.append(f"{where}: refused ({response.status_code}) yet changed")
    n_console = sum(1 for e in eps if not is_api(e))
    n_api = len(eps) - n_console
    print(
        f"\nRole matrix: {len(eps)} endpoints ({n_console} console x "
        f"{len(rm.CONSOLE_METHODS)} methods + {n_api} API x {len(rm.API_METHODS)} methods) x "
        f"{len(rm.PRINCIPALS)} roles = {cells} cells, {mismatches} mismatches, "
        f"0 unlisted endpoints; {foreign_cells} object cells by another tenant, {leaks} leaks, "
        f"{foreign_writes} changes by refused requests; {bad_format} API errors off-format"
    )
    assert not problems, "\n".join(problems)
    assert cells == sum(
        len(rm.PRINCIPALS) * (len(rm.API_METHODS) if is_api(e) else len(rm.CONSOLE_METHODS))
        for e in eps
    )


def test_lists_never_show_another_tenants_rows(world, keys, nobody):
    """T7, the list half: charlie's token lists B's members and B's audit log, never A's."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {keys['charlie']}")
    a_names = {u.username for n, u in world.users.items() if n != "charlie"}
    members = client.get(reverse("api-members-list"), {"page_size": 500}).json()["results"]
    assert {m["username"] for m in members} == {"charlie@bravo.test"}
    events = client.get(reverse("api-audit-list"), {"page_size": 500}).json()["results"]
    assert events, "B's own log is not empty (charlie was added)"
    body = str(events)
    assert not any(name in body for name in a_names)
    assert str(world.tenant_a.id) not in str(client.get(reverse("api-tenant")).json())
