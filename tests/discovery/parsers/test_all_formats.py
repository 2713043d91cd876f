"""Every registered format through the real pipeline: its fixtures apply, other logs are refused.

Also a robustness check: mangled fixture lines only ever give a record or a BadLine, never
another exception (which would fail the whole upload instead of skipping one line).
"""

from __future__ import annotations

import contextlib
import random

import pytest

from apps.discovery.models import AppDay, CustomParser, UploadStatus
from apps.discovery.parsers import BadLine, formats
from apps.tenants.scoping import tenant_context
from tests.discovery.helpers import run_snapshot, squid_line
from tests.discovery.parsers.util import (
    FIXTURE_COUNTS,
    FIXTURES,
    SAMPLE_DEFINITION,
    fixture_lines,
    make,
)

OTHERS = sorted(key for key in formats() if key != "squid_native")
SQUID = "\n".join(squid_line(user=f"user{i}@contoso.com") for i in range(120)) + "\n"
PROSE = "\n".join(
    f"Line {i}: the quick brown fox jumps over the lazy dog, again and again." for i in range(120)
)


def test_every_format_has_fixtures():
    assert set(FIXTURE_COUNTS) == set(formats()) - {"squid_native"}


@pytest.fixture
def old_dates_allowed(settings):
    # The fixtures carry the dates of the vendors' documented examples (2017-2020).
    settings.DISCOVERY_MAX_AGE_DAYS = 20_000


def _snapshot(tenant, key: str, content):
    custom = None
    if key == "custom":
        with tenant_context(tenant):
            custom = CustomParser.objects.create(**SAMPLE_DEFINITION)
    return run_snapshot(tenant, content, log_format=key, custom_parser=custom)


def _label(key: str) -> str:
    return "custom format 'CustomTest'" if key == "custom" else formats()[key].label


@pytest.mark.parametrize("key", OTHERS)
@pytest.mark.parametrize("content", [SQUID, PROSE], ids=["squid_native", "prose"])
def test_another_format_is_refused(tenant_a, key, content):
    upload = _snapshot(tenant_a, key, content)
    assert upload.status == UploadStatus.FAILED
    assert f"is not a {_label(key)} log" in upload.error
    assert upload.lines_parsed == 0


@pytest.mark.parametrize("key", sorted(FIXTURE_COUNTS))
def test_fixtures_apply(tenant_a, old_dates_allowed, key):
    files = [(name, (FIXTURES / name).read_bytes()) for name, _ in FIXTURE_COUNTS[key]]
    upload = _snapshot(tenant_a, key, files)
    assert upload.status == UploadStatus.DONE, upload.error
    assert upload.lines_parsed == sum(count for _, count in FIXTURE_COUNTS[key])
    assert upload.lines_skipped == 0, upload.skip_reasons


@pytest.mark.parametrize("key", sorted(FIXTURE_COUNTS))
def test_mangled_lines_give_a_record_or_a_bad_line(key):
    rng = random.Random(key)
    alphabet = ' ,;|="\\:/.-_[]<>%019aZx\t'
    for name, _ in FIXTURE_COUNTS[key]:
        lines = fixture_lines(name)
        for _ in range(1500):
            parser = make(key)
            for header in lines[:5]:  # header state (CSV header, #Fields)
                with contextlib.suppress(BadLine):
                    parser.parse(header)
            chars = list(rng.choice(lines))
            if rng.random() < 0.3:
                chars = chars[: rng.randrange(len(chars) + 1)]
            else:
                for _ in range(rng.randrange(1, 4)):
                    chars[rng.randrange(len(chars))] = rng.choice(alphabet)
            try:
                record = parser.parse("".join(chars))
            except BadLine:
                continue
            if record is not None:
                assert len(record) == 8 and record[1] and (record[3] or record[4])
                assert record[5] >= 0 and record[6] >= 0 and record[3] == record[3].lower()


def test_custom_sample_reaches_the_report_tables(tenant_a, old_dates_allowed):
    upload = _snapshot(tenant_a, "custom", (FIXTURES / "custom_sample.csv").read_bytes())
    assert upload.status == UploadStatus.DONE, upload.error
    with tenant_context(tenant_a):
        rows = {
            (r.app, r.domain): (r.transactions, r.bytes_up, r.bytes_down, r.blocked)
            for r in AppDay.objects.filter(report=upload.report)
        }
    assert rows[("dropbox", "dropbox.com")] == (1, 0, 8, 0)
    assert rows[("box", "box.com")] == (1, 0, 8, 0)


def test_zscaler_upload_and_download_and_blocked_reach_the_report(tenant_a, old_dates_allowed):
    upload = _snapshot(tenant_a, "zscaler", (FIXTURES / "zscaler.csv").read_bytes())
    assert upload.status == UploadStatus.DONE, upload.error
    with tenant_context(tenant_a):
        rows = {
            r.domain: (r.transactions, r.bytes_up, r.bytes_down, r.blocked)
            for r in AppDay.objects.filter(report=upload.report)
        }
    assert rows["dropbox.com"] == (1, 1520, 4310, 0)
    assert rows["mega.nz"] == (1, 310, 0, 1)
