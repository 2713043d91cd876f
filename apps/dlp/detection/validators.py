"""Validators of candidate matches: each takes the matched text, answers whether it is real.

The regexes in `types.py` find candidates cheaply; these checks (checksums, issuer ranges,
registry rules) are what keep dates, timestamps and order numbers from coming out as cards.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re

_NOT_DIGIT = re.compile(r"\D")


def digits_of(value: str) -> str:
    """Only the digits of `value` (separators dropped)."""
    return _NOT_DIGIT.sub("", value)


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_ok(number: str) -> bool:
    """The Luhn (mod 10) checksum of a digit string."""
    digits = [ord(char) - 48 for char in reversed(number)]
    total = sum(digits[0::2]) + sum(_DOUBLED[d] for d in digits[1::2])
    return total % 10 == 0


# Issuer ranges (IIN prefix range, inclusive) and the lengths each issues. Current ranges as
# published by the schemes; 2-series Mastercard is 222100-272099.
_CARD_RANGES: tuple[tuple[int, int, int, frozenset[int]], ...] = (
    # (prefix length, low, high, lengths)
    (1, 4, 4, frozenset({13, 16, 19})),  # Visa
    (2, 51, 55, frozenset({16})),  # Mastercard
    (4, 2221, 2720, frozenset({16})),  # Mastercard 2-series
    (2, 34, 34, frozenset({15})),  # American Express
    (2, 37, 37, frozenset({15})),  # American Express
    (4, 6011, 6011, frozenset({16, 17, 18, 19})),  # Discover
    (3, 644, 649, frozenset({16, 17, 18, 19})),  # Discover
    (2, 65, 65, frozenset({16, 17, 18, 19})),  # Discover
    (6, 622126, 622925, frozenset({16, 17, 18, 19})),  # Discover / UnionPay co-brand
    (4, 3528, 3589, frozenset({16, 17, 18, 19})),  # JCB
    (3, 300, 305, frozenset({14, 16, 17, 18, 19})),  # Diners Club International
    (2, 36, 36, frozenset({14, 16, 17, 18, 19})),  # Diners Club International
    (2, 38, 39, frozenset({14, 16, 17, 18, 19})),  # Diners Club
    (4, 3095, 3095, frozenset({14, 16, 17, 18, 19})),  # Diners Club
    (2, 62, 62, frozenset({16, 17, 18, 19})),  # UnionPay
    (2, 81, 81, frozenset({16, 17, 18, 19})),  # UnionPay (8-series)
)


def card_issuer_ok(number: str) -> bool:
    """Whether a digit string lies in a current issuer range with a length that issuer uses."""
    length = len(number)
    head = int(number[:6])
    for size, low, high, lengths in _CARD_RANGES:
        if length in lengths and low <= head // _SCALE[size] <= high:
            return True
    return False


_SCALE = {size: 10 ** (6 - size) for size in range(1, 7)}
_SEPARATORS = str.maketrans("", "", " .-")


def payment_card(value: str) -> bool:
    """A payment card number: consistent separators, issuer range and length, Luhn."""
    number = value.translate(_SEPARATORS)
    if not number.isdigit() or not 13 <= len(number) <= 19:
        return False
    if len(number) != len(value) and len({c for c in value if not c.isdigit()}) > 1:
        return False
    return card_issuer_ok(number) and luhn_ok(number)


# Numbers the SSA never issued or that were published (advertising, a wallet insert).
_SSN_INVALID = frozenset({"078051120", "123456789", "219099999", "457555462", "111111111"})


def us_ssn(value: str) -> bool:
    """A US Social Security number: area not 000/666/900-999, group not 00, serial not 0000."""
    separators = {char for char in value if not char.isdigit()}
    if len(separators) > 1:
        return False
    number = digits_of(value)
    if len(number) != 9 or number in _SSN_INVALID:
        return False
    area, group, serial = number[:3], number[3:5], number[5:]
    if area in ("000", "666") or area[0] == "9":
        return False
    return group != "00" and serial != "0000"


# IBAN lengths (ECBS/SWIFT IBAN registry): the SEPA countries and a few more.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27,
    "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22, "AE": 23, "SA": 24, "TR": 26,
}  # fmt: skip


def iban(value: str) -> bool:
    """An IBAN: known country, that country's length, check digits by ISO 7064 mod 97-10."""
    compact = value.replace(" ", "").upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = (compact[4:] + compact[:4]).translate(_IBAN_LETTERS)
    return int(rearranged) % 97 == 1


_IBAN_LETTERS = {ord(letter): str(ord(letter) - 55) for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def uk_nino(value: str) -> bool:
    """A UK National Insurance number: prefix rules, six digits, suffix A-D."""
    compact = value.replace(" ", "").upper()
    if len(compact) != 9 or not compact[2:8].isdigit() or compact[8] not in "ABCD":
        return False
    first, second = compact[0], compact[1]
    if first in "DFIQUV" or second in "DFIQUVO":
        return False
    return compact[:2] not in _NINO_BAD_PREFIXES


def us_passport(value: str) -> bool:
    """A US passport number: nine digits, or a letter and eight digits (context required)."""
    if len(value) != 9 or not value[1:].isdigit():
        return False
    return (value[0].isdigit() or value[0].isalpha()) and len(set(value[1:])) > 1


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}")


def email(value: str) -> bool:
    """An email address: a plausible local part, a dotted domain, no double dots."""
    if not _EMAIL.fullmatch(value) or ".." in value:
        return False
    local = value.split("@", 1)[0]
    return not (local.startswith(".") or local.endswith("."))


def phone(value: str) -> bool:
    """A phone number: E.164 (+ and 8-15 digits) or a 10-11 digit national number."""
    number = digits_of(value)
    if value.startswith("+"):
        return 8 <= len(number) <= 15 and number[0] != "0"
    return 10 <= len(number) <= 11 and len(set(number)) > 2


def ip_address(value: str) -> bool:
    """An IPv4 or IPv6 address as the `ipaddress` module parses it (not 0.0.0.0 or ::)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not address.is_unspecified


def aws_access_key(value: str) -> bool:
    """An AWS access key id: AKIA (long-term) or ASIA (temporary) and 16 base-32 characters."""
    return len(value) == 20 and value[:4] in ("AKIA", "ASIA") and value[4:].isalnum()


_GITHUB_CLASSIC = re.compile(r"gh[pousr]_[A-Za-z0-9]{36}")
_GITHUB_FINE = re.compile(r"github_pat_[A-Za-z0-9_]{22,255}")


def github_token(value: str) -> bool:
    """A GitHub token: ghp_/gho_/ghu_/ghs_/ghr_ and 36 characters, or a github_pat_ one."""
    return bool(_GITHUB_CLASSIC.fullmatch(value) or _GITHUB_FINE.fullmatch(value))


def slack_token(value: str) -> bool:
    """A Slack token: xoxb-/xoxp-/xoxa-/xoxr-/xoxs- and at least two dash-separated parts."""
    return value[:5] in ("xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-") and value.count("-") >= 2


def private_key(value: str) -> bool:
    """A private key block header (the regex is the whole check)."""
    return value.startswith("-----BEGIN") and "PRIVATE KEY-----" in value


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def jwt(value: str) -> bool:
    """A JWT: three base64url parts whose header decodes to a JSON object with "alg"."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    try:
        header = _b64url_json(parts[0])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(header, dict) and "alg" in header
