"""The scanner: detection in prose, masking, context words, thresholds, tenant types."""

from __future__ import annotations

import re

import pytest

from apps.dlp.detection.engine import CustomType, Engine, mask_digits
from apps.dlp.detection.types import BUILTIN_BY_KEY, HIGH, LOW, MEDIUM

SAMPLE = (
    "Hi team, card 4111 1111 1111 1111 and 5555555555554444 were charged. Employee SSN "
    "536-22-1234. Passport C12345678. Wire to GB82 WEST 1234 5698 7654 32. NI AB 12 34 56 C. "
    "Mail bob.jones@example.com or call +44 20 7946 0958. Host 10.0.0.1 and fe80::1. "
    "AKIAIOSFODNN7EXAMPLE ghp_" + "a1" * 18 + " xoxb-1234-5678-abcdefgh "
    "-----BEGIN RSA PRIVATE KEY----- eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln end."
)


@pytest.fixture(scope="module")
def engine():
    return Engine()


def test_finds_every_builtin_type(engine):
    results = engine.scan(SAMPLE)
    assert set(results) == set(BUILTIN_BY_KEY)
    assert results["payment_card"].count == 2
    assert results["ip_address"].count == 2


@pytest.mark.parametrize(
    "text",
    [
        "Logged at 1732812345678 by the job.",
        "Order 4111 2222 3333 shipped.",
        "Your order #20261128-0001 is ready.",
        "Meeting on 2026-11-28 at 14:32:10, or 28/11/2026.",
        "ISBN 978-3-16-148410-0 and 9783161484100.",
        "Invoice 4111111111111112 (fails Luhn).",
        "Reference 7111111111111114 (no issuer).",
        "Timestamp 2026-11-28T14:32:10Z and epoch 1732812345.",
    ],
)
def test_lookalikes_are_not_cards(engine, text):
    assert "payment_card" not in engine.scan(text)


def test_masking_leaves_no_digit(engine):
    results = engine.scan(SAMPLE)
    for result in results.values():
        for match in result.matches:
            assert not re.search(r"\d", match.evidence), match
            assert not re.search(r"\d", match.context), match
            assert len(match.context) <= 100
            assert match.end > match.start
    card = results["payment_card"].matches[0]
    assert card.evidence == "#### #### #### ####"
    assert SAMPLE[card.start : card.end] == "4111 1111 1111 1111"


def test_context_is_bounded_for_long_text(engine):
    text = ("word " * 200) + "card 4111111111111111 " + ("more " * 200)
    match = engine.scan(text)["payment_card"].matches[0]
    assert len(match.context) <= 100 and "################" in match.context
    assert mask_digits("a1b22") == "a#b##"


def test_context_words_raise_confidence(engine):
    bare = engine.scan("Please use 4111111111111111 for this.")["payment_card"]
    near = engine.scan("Please use credit card 4111111111111111 for this.")["payment_card"]
    assert (bare.confidence, near.confidence) == ("medium", "high")
    far = engine.scan("credit card " + "x" * 80 + " 4111111111111111")["payment_card"]
    assert far.confidence == "medium"  # the word is outside the 50-character window


def test_ssn_without_separators_needs_context(engine):
    assert "us_ssn" not in engine.scan("Reference 536221234 noted.")
    assert engine.scan("SSN 536221234 noted.")["us_ssn"].confidence == "medium"


def test_passport_requires_context_word(engine):
    assert "us_passport" not in engine.scan("Reference C12345678 noted.")
    assert engine.scan("Passport no. C12345678")["us_passport"].count == 1


def test_national_phone_needs_context(engine):
    assert "phone" not in engine.scan("Ticket 212-555-0187 closed.")
    assert engine.scan("Call me on 212-555-0187.")["phone"].count == 1
    assert engine.scan("Ticket +1 212 555 0187")["phone"].count == 1  # E.164 on its own


def test_minimum_count_threshold():
    text = "cards 4111111111111111 and 5555555555554444"
    assert Engine(overrides={"payment_card": (3, LOW)}).scan(text) == {}
    assert Engine(overrides={"payment_card": (2, LOW)}).scan(text)["payment_card"].count == 2


def test_minimum_confidence_threshold():
    text = "Please use 4111111111111111 for this."
    assert "payment_card" not in Engine(overrides={"payment_card": (1, HIGH)}).scan(text)
    strict = Engine(overrides={"payment_card": (1, HIGH)})
    assert strict.scan("credit card 4111111111111111")["payment_card"].count == 1


def test_max_matches_keeps_the_count():
    text = " ".join(["4111111111111111"] * 25)
    result = Engine(max_matches=3).scan(text)["payment_card"]
    assert result.count == 25 and len(result.matches) == 3


def test_only_enabled_types_are_scanned():
    engine = Engine(types=[BUILTIN_BY_KEY["email"]])
    assert set(engine.scan(SAMPLE)) == {"email"}


def test_tenant_regex_with_keywords():
    employee = CustomType(key="emp", label="Employee id", regex=r"EMP-\d{6}", keywords=("staff",))
    engine = Engine(types=[], custom=[employee])
    plain = engine.scan("emp-123456 joined")["emp"]  # custom regexes are case-insensitive
    assert plain.count == 1 and plain.confidence == "medium"
    assert plain.matches[0].evidence == "XXX-######"
    assert engine.scan("staff member EMP-123456")["emp"].confidence == "high"


def test_tenant_regex_with_required_keywords():
    kind = CustomType(
        key="proj",
        label="Project",
        regex=r"PRJ\d{4}",
        keywords=("project",),
        keywords_required=True,
    )
    engine = Engine(types=[], custom=[kind])
    assert engine.scan("PRJ1234") == {}
    assert engine.scan("project PRJ1234")["proj"].count == 1


def test_tenant_keywords_alone_and_threshold():
    kind = CustomType(
        key="secret", label="Codename", keywords=("Bluebird", "top secret"), min_count=2
    )
    engine = Engine(custom=[kind])
    assert "secret" not in engine.scan("Project bluebird starts")
    result = engine.scan("Project BLUEBIRD is top secret; bluebirds do not count")["secret"]
    assert result.count == 2


def test_tenant_types_overlap_builtin_ones():
    kind = CustomType(key="visa", label="Test Visa", regex=r"4111\d{12}")
    results = Engine(custom=[kind]).scan("card 4111111111111111")
    assert results["visa"].count == 1 and results["payment_card"].count == 1


def test_tenant_regex_rejects_capturing_groups_and_empty():
    with pytest.raises(ValueError):
        Engine(custom=[CustomType(key="x", label="x", regex=r"(ab)+")])
    with pytest.raises(ValueError):
        Engine(custom=[CustomType(key="x", label="x")])
    with pytest.raises(re.error):
        Engine(custom=[CustomType(key="x", label="x", regex=r"(?:ab")])


def test_confidence_levels_are_ordered():
    assert LOW < MEDIUM < HIGH


def test_best_confidence_looks_past_the_first_matches(engine):
    plain = " ".join(["4111111111111111"] * 15) + " " + "x " * 40
    result = engine.scan(plain + "credit card 5555555555554444")["payment_card"]
    assert result.count == 16 and result.confidence == "high"
    assert {m.confidence for m in result.matches} == {"medium"}  # the first ten, no context
    assert engine.scan(plain)["payment_card"].confidence == "medium"


def test_times_are_not_ipv6_and_full_forms_are(engine):
    assert "ip_address" not in engine.scan("Standup at 14:30, retro at 16:45:00.")
    full = engine.scan("client 2001:0db8:85a3:0000:0000:8a2e:0370:7334 connected")
    assert full["ip_address"].count == 1
