"""Validators of the built-in sensitive information types: known-good and known-bad values."""

from __future__ import annotations

import pytest

from apps.dlp.detection import validators as v

# Issuers' published test numbers.
GOOD_CARDS = [
    "4111111111111111",  # Visa
    "4012888888881881",  # Visa
    "4222222222222",  # Visa, 13 digits
    "5555555555554444",  # Mastercard
    "5105105105105100",  # Mastercard
    "2223003122003222",  # Mastercard 2-series
    "2221000000000009",  # Mastercard 2-series, low end
    "378282246310005",  # American Express
    "371449635398431",  # American Express
    "6011111111111117",  # Discover
    "6011000990139424",  # Discover
    "3530111333300000",  # JCB
    "3566002020360505",  # JCB
    "30569309025904",  # Diners Club
    "38520000023237",  # Diners Club
    "6200000000000005",  # UnionPay
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "3782 822463 10005",
]
BAD_CARDS = [
    "4111111111111112",  # Luhn fails
    "5555555555554445",  # Luhn fails
    "1732812345678",  # a timestamp (no issuer starts with 1)
    "7111111111111114",  # passes Luhn, no issuer range
    "2721000000000007",  # just past the 2-series range (Luhn ok)
    "5611111111111111",  # 56: not Mastercard
    "378282246310005000",  # Amex prefix at the wrong length
    "4111 1111-1111 1111",  # mixed separators
    "411111111111",  # too short
]


@pytest.mark.parametrize("value", GOOD_CARDS)
def test_payment_card_accepts_published_test_numbers(value):
    assert v.payment_card(value)


@pytest.mark.parametrize("value", BAD_CARDS)
def test_payment_card_rejects_bad_numbers(value):
    assert not v.payment_card(value)


def test_luhn_and_issuer_ranges_separately():
    assert v.luhn_ok("79927398713") and not v.luhn_ok("79927398710")
    assert v.card_issuer_ok("2720990000000000") and not v.card_issuer_ok("2220990000000000")


@pytest.mark.parametrize("value", ["536-22-1234", "001-01-0001", "665 12 3456", "899-99-9999"])
def test_ssn_good(value):
    assert v.us_ssn(value)


@pytest.mark.parametrize(
    "value",
    [
        "000-12-3456",  # area 000
        "666-12-3456",  # area 666
        "900-12-3456",  # area 9xx
        "999-12-3456",
        "536-00-1234",  # group 00
        "536-22-0000",  # serial 0000
        "078-05-1120",  # the wallet insert
        "123-45-6789",  # advertising
        "536-22 1234",  # mixed separators
    ],
)
def test_ssn_bad(value):
    assert not v.us_ssn(value)


@pytest.mark.parametrize(
    "value",
    [
        "GB82WEST12345698765432",
        "GB82 WEST 1234 5698 7654 32",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "BE68539007547034",
        "CH9300762011623852957",
        "NO9386011117947",
    ],
)
def test_iban_good(value):
    assert v.iban(value)


@pytest.mark.parametrize(
    "value",
    [
        "GB82WEST12345698765433",  # check digits wrong
        "DE89370400440532013001",
        "DE8937040044053201300",  # too short for DE
        "XX82WEST12345698765432",  # no such country
        "GB82WEST1234569876543",
    ],
)
def test_iban_bad(value):
    assert not v.iban(value)


@pytest.mark.parametrize("value", ["AB123456C", "AB 12 34 56 C", "CE123456D", "TW123456A"])
def test_nino_good(value):
    assert v.uk_nino(value)


@pytest.mark.parametrize(
    "value",
    [
        "DA123456C",  # D first
        "AD123456C",  # D second
        "AO123456C",  # O second
        "QQ123456C",
        "BG123456C",
        "GB123456C",
        "NK123456C",
        "KN123456C",
        "TN123456C",
        "NT123456C",
        "ZZ123456C",
        "AB123456E",  # suffix not A-D
        "AB12345C",
    ],
)
def test_nino_bad(value):
    assert not v.uk_nino(value)


def test_passport():
    assert v.us_passport("C12345678") and v.us_passport("512345678")
    assert not v.us_passport("C1234567") and not v.us_passport("C11111111")


def test_email():
    assert v.email("alice.smith+tag@example.co.uk")
    assert not v.email("alice..smith@example.com") and not v.email("alice@localhost")


def test_phone():
    assert v.phone("+44 20 7946 0958") and v.phone("+14155550187") and v.phone("(212) 555-0187")
    assert not v.phone("+0 123 456") and not v.phone("555-0187") and not v.phone("+12 34")


def test_ip_address():
    assert v.ip_address("10.0.0.1") and v.ip_address("2001:db8::1") and v.ip_address("fe80::1")
    assert not v.ip_address("256.1.1.1") and not v.ip_address("14:32:10")
    assert not v.ip_address("0.0.0.0") and not v.ip_address("::")


def test_secrets():
    assert v.aws_access_key("AKIAIOSFODNN7EXAMPLE") and v.aws_access_key("ASIAIOSFODNN7EXAMPLE")
    assert not v.aws_access_key("AKIAIOSFODNN7EXAMPL") and not v.aws_access_key(
        "ABIAIOSFODNN7EXAMPLE"
    )
    assert v.github_token("ghp_" + "a" * 36) and v.github_token("github_pat_" + "A1_" * 10)
    assert not v.github_token("ghx_" + "a" * 36) and not v.github_token("ghp_" + "a" * 35)
    assert v.slack_token("xoxb-1234-5678-abcdef") and not v.slack_token("xoxz-1234-5678")
    assert v.private_key("-----BEGIN RSA PRIVATE KEY-----")
    assert v.private_key("-----BEGIN PRIVATE KEY-----")
    assert not v.private_key("-----BEGIN PUBLIC KEY-----")


def test_jwt():
    assert v.jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln")
    assert not v.jwt("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2ln")  # header has no "alg"
    assert not v.jwt("eyJhbGciOi.eyJzdWIiOiIxIn0.c2ln")  # header is not JSON
    assert not v.jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0")  # two parts
