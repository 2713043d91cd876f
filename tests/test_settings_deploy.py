"""Production settings: `check --deploy` is clean with the values documented in .env.example,
the process refuses to start without its secrets, and .env.example documents every variable.

Each case runs `manage.py` in a fresh process with a clean environment (settings are read once
per process), so nothing from the test run leaks in.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
ENV_EXAMPLE = BASE_DIR / ".env.example"
# Variables the process reads that must be set for a production start, generated per run
# because .env.example leaves them blank on purpose.
REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "CASB_MASTER_KEYS")


def example_values() -> dict[str, str]:
    """The uncommented NAME=value lines of .env.example."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match[1]] = match[2]
    return values


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        **example_values(),
        "DJANGO_SETTINGS_MODULE": "casb.settings",
        "CASB_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CASB_MASTER_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_env_example_is_a_production_configuration():
    values = example_values()
    assert values["DEBUG"] == "false"
    for name in REQUIRED:
        assert name in values, f".env.example must list {name}"
    # Secrets are left blank so nobody deploys a published one.
    assert values["SECRET_KEY"] == ""
    assert values["CASB_MASTER_KEYS"] == ""


def test_check_deploy_is_clean_with_documented_production_values(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output


def test_check_deploy_fails_on_an_insecure_value(tmp_path):
    """The check is live: switching off HSTS must make it fail."""
    env = production_env(tmp_path, SECURE_HSTS_SECONDS="0")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_refuses_to_start_without_a_required_variable(tmp_path, name, how):
    # "empty" also covers a developer's .env: an empty value in the environment wins over it.
    env = production_env(tmp_path, **{name: None if how == "unset" else ""})
    if how == "unset" and (BASE_DIR / ".env").exists():
        pytest.skip(".env exists here and may fill the unset variable")
    result = manage(env, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr.strip().splitlines()[-1], result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SECRET_KEY", "short", "SECRET_KEY must be at least 50"),
        ("SECRET_KEY", "django-insecure-" + "x" * 60, "SECRET_KEY must be at least 50"),
        ("CASB_MASTER_KEYS", "k1:" + base64.b64encode(b"too short").decode(), "32-byte"),
        ("CASB_MASTER_KEYS", "k1:not base64!", "not base64"),
        ("GEO_DATABASES", "eu=default,us=default", "GEO_DATABASES"),
    ],
)
def test_refuses_to_start_with_an_unsafe_value(tmp_path, name, value, message):
    result = manage(production_env(tmp_path, **{name: value}), "check")
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_secrets_can_come_from_files(tmp_path):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text(secrets.token_urlsafe(50) + "\n")
    keys_file = tmp_path / "master_keys"
    keys_file.write_text("k1:" + base64.b64encode(os.urandom(32)).decode())
    env = production_env(
        tmp_path,
        SECRET_KEY=None,
        CASB_MASTER_KEYS=None,
        SECRET_KEY_FILE=str(secret_file),
        CASB_MASTER_KEYS_FILE=str(keys_file),
    )
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def _variables_read_by_settings() -> set[str]:
    names: set[str] = set()
    for path in sorted((BASE_DIR / "casb").glob("*.py")):
        source = path.read_text()
        names |= set(re.findall(r"\benv\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
        names |= set(re.findall(r"\b_secret\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    return names


def test_env_example_documents_every_variable_the_settings_read():
    names = _variables_read_by_settings()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "GEO_DATABASES", "CELERY_BROKER_URL"} <= names
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    missing = sorted(names - documented)
    assert missing == [], f"add these to .env.example: {missing}"
    # Patterns that the regex cannot see: per-alias database URLs and *_FILE secrets.
    text = ENV_EXAMPLE.read_text()
    assert "DATABASE_URL_<ALIAS>" in text
    assert "_FILE" in text
