"""A labelled corpus generator: sensitive values and look-alikes embedded in realistic prose.

Each item is one or two sentences holding one value, with its truth labels (how many of each
built-in type a correct engine finds in it). Valid values are built with their checksums;
invalid ones break exactly one rule (Luhn, issuer range, SSN area/group/serial, IBAN check
digits or length, NINO prefix); look-alikes are the numbers prose is full of (dates,
timestamps, order numbers, phone-like fragments, ISBNs). Seeded: the same seed, the same
corpus. Used by the precision/recall test and by bench/dlp.py.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field

from apps.dlp.detection.validators import IBAN_LENGTHS, luhn_ok

# Types the corpus covers (precision and recall are measured for these).
COVERED = (
    "payment_card",
    "us_ssn",
    "iban",
    "uk_nino",
    "us_passport",
    "email",
    "aws_access_key",
    "github_token",
    "jwt",
)

_CARD_PREFIXES = (
    ("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("2500", 16),
    ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("3530", 16), ("3589", 16),
    ("36", 14), ("300", 14), ("62", 16), ("62", 19),
)  # fmt: skip
_NOT_ISSUED = ("1", "7", "9", "0", "56", "2100", "2721", "33")

_FILLER = (
    "The quarterly numbers were reviewed by the finance team on Monday.",
    "Please find the summary of yesterday's call below.",
    "As discussed, the migration is scheduled after the freeze.",
    "Thanks again for the quick turnaround on this.",
    "Let me know if anything is missing from the attached notes.",
    "The vendor confirmed delivery for next week.",
)
_CARD_LINES = (
    "Customer paid with card {v}, expiry 09/28.",
    "Please charge {v} for the renewal.",
    "Visa on file: {v}",
    "The refund goes back to {v} within five days.",
)
_SSN_LINES = ("Employee SSN: {v}.", "Social security number {v} was verified.", "SSN {v}")
_IBAN_LINES = ("Wire the deposit to IBAN {v} by Friday.", "Bank account {v} (IBAN).")
_NINO_LINES = ("National Insurance number {v} on the P45.", "Her NI number is {v}.")
_PASSPORT_LINES = ("Passport number {v}, issued 2019.", "Traveller passport: {v}")
_PLAIN_LINES = ("Reference {v} noted.", "Value {v} recorded in the sheet.", "See {v} below.")
_LOOKALIKE_LINES = (
    "The meeting moved to {v}.",
    "Logged at {v} by the ingestion job.",
    "Order {v} shipped today.",
    "Your order number is {v}.",
    "ISBN {v} is out of print.",
    "Call extension {v} for the front desk.",
    "Tracking id {v}, invoice total 1,234.56 EUR.",
)


@dataclass
class Item:
    """A piece of labelled text: `labels` maps a type key to how many a scan should find."""

    text: str
    labels: dict[str, int] = field(default_factory=dict)
    kind: str = ""


def card_number(rng: random.Random, *, valid: bool = True) -> str:
    """A card number in an issuer range with a correct Luhn digit (or one that fails)."""
    if valid or rng.random() < 0.5:
        prefix, length = rng.choice(_CARD_PREFIXES)
    else:
        prefix, length = rng.choice(_NOT_ISSUED), 16
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    check = next(d for d in string.digits if luhn_ok(body + d))
    if not valid and prefix in dict(_CARD_PREFIXES):  # in range: break the Luhn digit instead
        check = str((int(check) + rng.randint(1, 9)) % 10)
    return body + check


def _format_card(rng: random.Random, number: str) -> str:
    style = rng.random()
    if len(number) == 16 and style < 0.6:
        sep = rng.choice(" -")
        return sep.join(number[i : i + 4] for i in range(0, 16, 4))
    if len(number) == 15 and style < 0.5:
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    return number


def ssn(rng: random.Random, *, valid: bool = True) -> str:
    """A US SSN with dashes, valid or breaking one rule."""
    area = rng.choice([a for a in range(1, 900) if a != 666])
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    if not valid:
        rule = rng.randrange(5)
        if rule == 0:
            area = rng.choice((0, 666, rng.randint(900, 999)))
        elif rule == 1:
            group = 0
        elif rule == 2:
            serial = 0
        else:
            return rng.choice(("078-05-1120", "123-45-6789"))
    value = f"{area:03d}-{group:02d}-{serial:04d}"
    if value in ("078-05-1120", "123-45-6789", "219-09-9999", "457-55-5462"):
        return ssn(rng, valid=valid)
    return value


def iban(rng: random.Random, *, valid: bool = True) -> str:
    """An IBAN of a registry country with correct check digits (or a corrupted one)."""
    country = rng.choice(sorted(IBAN_LENGTHS))
    length = IBAN_LENGTHS[country]
    bank = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) if country == "GB" else ""
    bban = bank + "".join(rng.choice(string.digits) for _ in range(length - 4 - len(bank)))
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    value = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    if not valid:
        if rng.random() < 0.5:  # one digit changed: mod 97 always catches it
            i = rng.randrange(len(bank) + 4, length)
            value = value[:i] + str((int(value[i]) + rng.randint(1, 9)) % 10) + value[i + 1 :]
        else:  # wrong length for the country
            value = value[:-1]
    if rng.random() < 0.5:
        value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


_NINO_FIRST = "ABCEGHJKLMNPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"


def nino(rng: random.Random, *, valid: bool = True) -> str:
    """A UK National Insurance number, valid or with a forbidden prefix."""
    while True:
        prefix = rng.choice(_NINO_FIRST) + rng.choice(_NINO_SECOND)
        if prefix not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            break
    if not valid:
        prefix = rng.choice(("BG", "GB", "NK", "TN", "ZZ", "DA", "AO", "QA", "VA", "AD"))
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
    return f"{prefix}{digits}{suffix}"


def passport(rng: random.Random) -> str:
    """A US passport number: a letter and eight digits, or nine digits."""
    digits = "".join(rng.choice(string.digits) for _ in range(8))
    return rng.choice(string.ascii_uppercase) + digits if rng.random() < 0.5 else "5" + digits


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _token(rng: random.Random, kind: str) -> str:
    alnum = string.ascii_letters + string.digits
    if kind == "aws_access_key":
        tail = "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))
        return rng.choice(("AKIA", "ASIA")) + tail
    if kind == "github_token":
        return "gh" + rng.choice("pousr") + "_" + "".join(rng.choice(alnum) for _ in range(36))
    if kind == "jwt":
        header = {"alg": "HS256", "typ": "JWT"}
        body = {"sub": str(rng.randint(1, 10**6)), "iat": 1732812345}
        parts = [_b64(json.dumps(part).encode()) for part in (header, body)]
        return ".".join([*parts, "".join(rng.choice(alnum + "-_") for _ in range(43))])
    user = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
    return f"{user}.{rng.choice(('ops', 'hr', 'sales'))}@example-{rng.randint(1, 99)}.com"


def lookalike(rng: random.Random) -> str:
    """A number that is no sensitive value: date, timestamp, order number, ISBN, fragment."""
    pick = rng.randrange(9)
    if pick == 0:
        return f"{rng.randint(2000, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if pick == 1:
        return f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2000, 2030)}"
    if pick == 2:  # epoch milliseconds and seconds
        return str(rng.randint(1_500_000_000_000, 1_800_000_000_000) // rng.choice((1, 1000)))
    if pick == 3:
        return " ".join(str(rng.randint(1000, 9999)) for _ in range(3))  # "4111 2222 3333"
    if pick == 4:
        day = f"{rng.randint(2020, 2030)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        return f"#{day}-{rng.randint(1, 9999):04d}"
    if pick == 5:
        group, publisher = rng.randint(0, 9), rng.randint(10, 99)
        return f"978-{group}-{publisher}-{rng.randint(100000, 999999)}-{rng.randint(0, 9)}"
    if pick == 6:
        return f"{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
    if pick == 7:
        return f"PO-{rng.randint(2020, 2030)}-{rng.randint(0, 999999):06d}"
    day = f"{rng.randint(2020, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def _item(rng: random.Random) -> Item:
    roll = rng.random()
    valid = rng.random() < 0.5
    if roll < 0.18:
        value, key = _format_card(rng, card_number(rng, valid=valid)), "payment_card"
        lines = _CARD_LINES
    elif roll < 0.32:
        value, lines, key = ssn(rng, valid=valid), _SSN_LINES, "us_ssn"
    elif roll < 0.46:
        value, lines, key = iban(rng, valid=valid), _IBAN_LINES, "iban"
    elif roll < 0.58:
        value, lines, key = nino(rng, valid=valid), _NINO_LINES, "uk_nino"
    elif roll < 0.64:
        value, key = passport(rng), "us_passport"
        lines = _PASSPORT_LINES if valid else _PLAIN_LINES  # without context: not a passport
        if not valid and value.isdigit():
            value = "9" + value[1:]  # and no valid SSN shape either (area 9xx)
    elif roll < 0.72:
        key = rng.choice(("email", "aws_access_key", "github_token", "jwt"))
        value, lines, valid = _token(rng, key), _PLAIN_LINES, True
    else:
        value, lines, key, valid = lookalike(rng), _LOOKALIKE_LINES, "lookalike", False
    text = rng.choice(lines).format(v=value)
    if rng.random() < 0.5:
        filler = rng.choice(_FILLER)
        text = f"{filler} {text}" if rng.random() < 0.5 else f"{text} {filler}"
    return Item(text=text, labels={key: 1} if valid else {}, kind=key)


def generate(count: int, *, seed: int = 7) -> Iterator[Item]:
    """`count` labelled items, the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(count):
        yield _item(rng)
