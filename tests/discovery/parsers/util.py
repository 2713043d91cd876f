"""Helpers of the parser tests: fixture files and running a parser over lines."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from apps.discovery.parsers import BadLine, formats

FIXTURES = Path(__file__).parent / "fixtures"

# Every format's fixture files and how many records (transactions) each holds.
FIXTURE_COUNTS: dict[str, list[tuple[str, int]]] = {
    "squid_common": [("squid_common.log", 6)],
    "bluecoat": [("bluecoat.log", 4)],
    "zscaler": [("zscaler.csv", 4)],
    "palo_alto": [("palo_alto.csv", 8), ("palo_alto_syslog.log", 4)],
    "fortigate": [("fortigate.log", 4)],
    "checkpoint": [("checkpoint.log", 4)],
    "cisco_asa": [("cisco_asa.log", 6)],
    "cisco_ironport_wsa": [("cisco_ironport_wsa.log", 4)],
    "juniper_srx": [("juniper_srx.log", 3)],
    "cef": [("cef.log", 4)],
    "leef": [("leef.log", 4)],
    "w3c": [("w3c.log", 4)],
    "custom": [("custom_sample.csv", 4)],
}

# The portal's custom-parser example (spec 5.3(b)): the CustomParser fields it configures.
SAMPLE_DEFINITION = dict(
    name="CustomTest",
    delimiter=",",
    has_header=True,
    timestamp_column="Timestamp",
    timestamp_format="%d/%m/%Y %I:%M:%S %p",
    src_ip_column="src",
    user_column="",
    host_column="",
    dst_ip_column="dst",
    bytes_up_column="",
    bytes_down_column="",
    bytes_total_column="total",
    action_column="Action",
    blocked_term="Blocked",
)


def make(key: str, **definition):
    """A fresh parser; for "custom", `definition` overrides the spec sample's fields."""
    if key == "custom":
        row = SimpleNamespace(**{**SAMPLE_DEFINITION, **definition})
        return formats()["custom"](options={"definition": row})
    return formats()[key]()


def fixture_lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines(keepends=True)


def records(parser, lines) -> list:
    """Each line's record, None skipped; a BadLine fails the test."""
    return [r for r in (parser.parse(line) for line in lines) if r is not None]


def bad(parser, line: str) -> str:
    """The reason the parser gives for a line it must refuse."""
    with pytest.raises(BadLine) as info:
        parser.parse(line)
    return str(info.value)
