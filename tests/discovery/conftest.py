"""Fixtures of the discovery tests: a spool directory of the test's own."""

import pytest


@pytest.fixture(autouse=True)
def discovery_spool(settings, tmp_path):
    settings.DISCOVERY_SPOOL_DIR = tmp_path / "spool"
    return settings.DISCOVERY_SPOOL_DIR
