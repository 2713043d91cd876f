"""The built-in sensitive information types: one small declaration each.

A type is a regex that finds candidates, a validator that confirms them, context words that
raise confidence when they appear near a match, and default thresholds (minimum count and
minimum confidence a match must reach to count). Regexes carry no capturing groups of their
own except named back-references prefixed with the type's key, so the engine can join them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apps.dlp.detection import validators as v

LOW, MEDIUM, HIGH = 1, 2, 3
CONFIDENCE_NAMES = {LOW: "low", MEDIUM: "medium", HIGH: "high"}


@dataclass(frozen=True)
class SensitiveType:
    """One sensitive information type (built-in or tenant-defined).

    `base` is the confidence of a validated match with no context; a context word within the
    engine's window raises it one level. `weak`, if given, says a match is a weaker form
    (e.g. an SSN without separators) and lowers its base one level. With `context_required`
    a match without a context word is dropped (a bare nine-digit number is no passport).
    `forms` are (lead, regex) pairs: the lead is a cheap guard (below) or ANCHOR, for forms
    found from the literal `anchor` (with `anchor_again_within`, only where the anchor occurs
    again within that many characters).
    """

    key: str
    label: str
    forms: tuple[tuple[str, str], ...]
    validator: Callable[[str], bool] | None = None
    context: tuple[str, ...] = ()
    min_count: int = 1
    min_confidence: int = MEDIUM
    base: int = MEDIUM
    context_required: bool = False
    weak: Callable[[str], bool] | None = None
    anchor: str = ""
    anchor_before: int = 0
    anchor_after: int = 320
    anchor_again_within: int = 0

    @property
    def regex(self) -> str:
        """All the type's forms as one pattern (leads included)."""
        return "|".join(
            f"(?:{body})" if lead == ANCHOR else f"{lead}(?:{body})" for lead, body in self.forms
        )


def _no_plus(value: str) -> bool:
    return not value.startswith("+")


def _no_separator(value: str) -> bool:
    return value.isdigit()


# Leads: cheap guards a form's first character must pass. The engine joins forms sharing a
# lead under one guard, so most positions of a text fail one or two guards and move on
# (Python's re tries every alternative at every position: this is what makes it fast).
# Every non-anchored form starts with one of these characters, not preceded by a letter or
# digit: one character class up front lets most positions fail at once.
GUARD = r"(?=[0-9A-Z+(])(?<![0-9A-Za-z])"
DIGIT = r"(?=[0-9])(?<![0-9])"
UPPER = r"(?=[A-Z])(?<![A-Za-z0-9])"
PUNCT = r"(?=[+(])(?<![\w+])"
# Forms led by a lowercase letter would make every word of prose a candidate: those types
# name an `anchor` instead (a literal such as "@" or "xox" found with str.find, far faster
# than a regex trying every letter), and the engine matches the form in a short window that
# starts `anchor_before` characters before each anchor.
ANCHOR = "anchor"

# Digit boundaries: not inside a longer number, nor a group of a longer grouped number.
_B = r"(?<!\d)(?<!\d[ .-])"
_E = r"(?!\d)(?![ .-]\d)"

BUILTIN_TYPES: tuple[SensitiveType, ...] = (
    SensitiveType(
        key="private_key",
        label="Private key block",
        anchor="-----BEGIN",
        forms=((ANCHOR, r"-----BEGIN [A-Z0-9 ]{0,24}PRIVATE KEY-----"),),
        validator=v.private_key,
        base=HIGH,
    ),
    SensitiveType(
        key="jwt",
        label="JSON Web Token",
        anchor="eyJ",
        forms=(
            (
                ANCHOR,
                r"(?<![\w.-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*(?![\w.-])",
            ),
        ),
        validator=v.jwt,
        context=("jwt", "token", "bearer", "authorization"),
    ),
    SensitiveType(
        key="github_token",
        label="GitHub token",
        anchor="gh",
        forms=(
            (ANCHOR, r"(?<!\w)g(?:h[pousr]_[A-Za-z0-9]{36}|ithub_pat_[A-Za-z0-9_]{22,255})(?!\w)"),
        ),
        validator=v.github_token,
        context=("github", "token", "git"),
        base=HIGH,
    ),
    SensitiveType(
        key="slack_token",
        label="Slack token",
        anchor="xox",
        forms=((ANCHOR, r"(?<![\w-])xox[bpars]-[A-Za-z0-9-]{10,250}(?![\w-])"),),
        validator=v.slack_token,
        context=("slack", "token"),
        base=HIGH,
    ),
    SensitiveType(
        key="aws_access_key",
        label="AWS access key id",
        forms=((UPPER, r"A(?:KIA|SIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),),
        validator=v.aws_access_key,
        context=("aws", "access key", "secret", "iam"),
    ),
    SensitiveType(
        key="iban",
        label="International bank account number (IBAN)",
        forms=((UPPER, r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,6}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])"),),
        validator=v.iban,
        context=("iban", "account", "bank", "transfer", "swift", "bic", "payment"),
    ),
    SensitiveType(
        key="uk_nino",
        label="UK National Insurance number",
        forms=((UPPER, r"[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"),),
        validator=v.uk_nino,
        context=("national insurance", "nino", "ni number", "ni no", "hmrc"),
    ),
    SensitiveType(
        key="us_passport",
        label="US passport number",
        forms=(
            (UPPER, r"[A-Z]\d{8}(?![A-Za-z0-9])"),
            (DIGIT, r"\d{9}(?![A-Za-z0-9])"),
        ),
        validator=v.us_passport,
        context=("passport",),
        context_required=True,
    ),
    SensitiveType(
        key="payment_card",
        label="Payment card number",
        forms=(
            (
                DIGIT,
                r"(?:\d{13,19}(?!\d)"
                r"|(?<!\d[ .-])\d{4}(?P<payment_card_s1>[ .-])\d{4}(?P=payment_card_s1)\d{4}"
                r"(?P=payment_card_s1)\d{1,4}(?:(?P=payment_card_s1)\d{1,3})?"
                + _E
                + r"|(?<!\d[ .-])\d{4}(?P<payment_card_s2>[ -])\d{6}(?P=payment_card_s2)\d{4,5}"
                + _E
                + ")",
            ),
        ),
        validator=v.payment_card,
        context=("card", "credit", "debit", "visa", "mastercard", "amex", "cvv", "expir", "pan"),
    ),
    SensitiveType(
        key="us_ssn",
        label="US Social Security number",
        forms=((DIGIT, r"(?<!\d[ .-])\d{3}(?P<us_ssn_s>[- ]?)\d{2}(?P=us_ssn_s)\d{4}" + _E),),
        validator=v.us_ssn,
        context=("ssn", "social security", "ss#", "ss #", "taxpayer"),
        weak=_no_separator,
    ),
    SensitiveType(
        key="phone",
        label="Phone number",
        forms=(
            (PUNCT, r"\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,5}" + _E),
            (PUNCT, r"\(\d{3}\) ?\d{3}[ .-]\d{4}" + _E),
            (DIGIT, r"(?<!\d[ .-])(?:\d{3}[ .-]\d{3}[ .-]\d{4}|0\d{2,4} \d{3,4} \d{3,4})" + _E),
        ),
        validator=v.phone,
        context=("phone", "tel", "mobile", "cell", "call", "fax", "contact"),
        weak=_no_plus,
    ),
    SensitiveType(
        key="ip_address",
        label="IP address (IPv4 or IPv6)",
        forms=(
            (DIGIT, r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"),
            (
                ANCHOR,
                r"(?<![\w:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
                r"|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::[0-9A-Fa-f:]{0,36})(?![\w:])",
            ),
        ),
        validator=v.ip_address,
        context=("ip", "address", "host", "server", "client"),
        base=LOW,
        min_confidence=LOW,
        anchor=":",
        anchor_before=4,
        anchor_after=45,
        anchor_again_within=5,  # an IPv6 address has two colons at most 5 apart ("14:30" not)
    ),
    SensitiveType(
        key="email",
        label="Email address",
        anchor="@",
        anchor_before=65,
        forms=(
            (
                ANCHOR,
                r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?!\w)",
            ),
        ),
        validator=v.email,
        context=("email", "e-mail", "mail", "contact"),
    ),
)

BUILTIN_BY_KEY = {kind.key: kind for kind in BUILTIN_TYPES}
