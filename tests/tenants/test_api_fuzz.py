"""T10/T12: schemathesis against the running API (a live server on loopback).

Two people in two tenants are declared as `peers` (Web Fuzzing Commons auth file), so
schemathesis also tries to read, change and delete one tenant's objects with the other's token
(`object_level_authorization`, ST402), re-sends requests without the token (`ignored_auth`), and
checks every answer against the schema (statuses, content types, headers, bodies). The run is
deterministic (`--seed`) and bounded (`--max-examples`) to fit CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from apps.tenants.models import Role
from tests.factories import make_tenant, member
from tests.role_matrix import token_key

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMATHESIS = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "missing_required_header",
        "unsupported_method",
        "use_after_free",
        "ignored_auth",
        "object_level_authorization",
    ]
)


def test_schemathesis_finds_no_failure(live_server, tmp_path):
    if not os.path.exists(SCHEMATHESIS):
        pytest.fail("schemathesis is not installed (pip install -e '.[test]')")
    alpha, bravo = make_tenant("Alpha", geo="eu"), make_tenant("Bravo", geo="uk")
    alice = member(alpha, Role.GLOBAL_ADMIN, username="alice@alpha.test")
    bob = member(bravo, Role.GLOBAL_ADMIN, username="bob@bravo.test")
    for i in range(3):
        member(alpha, Role.SECURITY_READER, username=f"reader{i}@alpha.test")
        member(bravo, Role.SECURITY_READER, username=f"reader{i}@bravo.test")
    keys = {"alice": token_key(alice, alpha, Role.GLOBAL_ADMIN)}
    keys["bob"] = token_key(bob, bravo, Role.GLOBAL_ADMIN)

    schema = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema))
    wfc = {
        "auth": [
            {
                "name": name,
                "fixedHeaders": [{"name": "Authorization", "value": f"Token {key}"}],
            }
            for name, key in keys.items()
        ]
    }
    (tmp_path / "wfc-auth.json").write_text(json.dumps(wfc))
    (tmp_path / "schemathesis.toml").write_text(
        '[auth.wfc]\npath = "wfc-auth.json"\npeers = ["alice", "bob"]\n'
    )
    command = [
        SCHEMATHESIS,
        "run",
        str(schema),
        "--url",
        live_server.url,
        "--checks",
        CHECKS,
        "--max-examples",
        "20",
        "--seed",
        "1",
        "--workers",
        "2",  # CI has two cores; the live server answers on threads
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--suppress-health-check",
        "all",
        "--no-color",
    ]
    rates = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "1000000/min"}}
    with override_settings(REST_FRAMEWORK=rates):
        result = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=1500, check=False
        )
    # The whole report, for when the assertion below shows only its end.
    artifacts = Path(settings.BASE_DIR) / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "schemathesis.txt").write_text(result.stdout + result.stderr)
    output = result.stdout + result.stderr
    summary = [
        line.strip()
        for line in output.splitlines()
        if re.search(r"Operations:|generated|Scenarios:|API Links:", line)
    ]
    print("\nT10/T12 schemathesis:", *summary, sep="\n  ")
    assert result.returncode == 0, output[-8000:]
    assert "ST402" not in output
