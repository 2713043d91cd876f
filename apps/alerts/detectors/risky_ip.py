"""Activity from a risky or anonymous IP address (spec 2.4, template "Log on from a risky IP").

An activity matches when enrichment put its address in an IP range of category Risky (the
tenant's own ranges, spec 9.2), or when one of the address's tags contains one of the
configured words (default: anonymous proxy, Tor, botnet; matched as whole words, so "Tor"
matches "Tor exit node" but not "Contractors"). Like the reference product, failed sign-ins are
ignored by default (an attacker's failed guesses are the failed sign-ins detection's business).

Stateless: one finding per person and address per batch (`Finding.key` is the address), and
the alert folding of the policy window keeps one alert per person and address.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from ..models import Severity
from . import register
from .base import Context, Detector, Finding, Option, Row
from .common import RISKY_CATEGORY, line, who

MAX_LINKED = 50
_NOT_WORD = re.compile(r"[^0-9a-z]+")


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> str:
    """ " tor exit node " for "Tor exit-node": whole-word matching by substring search."""
    return f" {_NOT_WORD.sub(' ', text.lower()).strip()} "


@register
class RiskyIp(Detector):
    key = "risky_ip"
    name = "Activity from anonymous or suspicious IP addresses"
    description = (
        "Activity from an address in a Risky IP range, or tagged as an anonymous proxy, Tor "
        "exit node or botnet."
    )
    tactic = "Initial access"
    severity = Severity.MEDIUM
    options = (
        Option(
            "tag_words",
            "Risky tag words",
            "words",
            ["anonymous proxy", "tor", "botnet"],
            help="An address whose IP range tags contain one of these words (whole words, any "
            "case) is risky, whatever its category.",
        ),
        Option(
            "include_failed",
            "Also alert on failed activities",
            "bool",
            False,
            help="Off: failed sign-ins from risky addresses are left to the failed sign-ins "
            "detection, as in the reference product.",
        ),
    )

    def detect(self, rows: list[Row], ctx: Context) -> Iterable[Finding]:
        words = tuple(_words(word) for word in ctx.options["tag_words"] if _words(word).strip())
        include_failed = ctx.options["include_failed"]
        hits: dict[tuple[str, str], tuple[list[Row], str]] = {}
        for row in rows:
            category, tags = row.ip_category, row.ip_tags
            if category != RISKY_CATEGORY and not tags:
                continue  # the common case, decided without looking further
            if row.succeeded is False and not include_failed:
                continue
            reason = "a Risky IP range" if category == RISKY_CATEGORY else ""
            if not reason:
                tag = next(
                    (t for t in tags if isinstance(t, str) and any(w in _words(t) for w in words)),
                    None,
                )
                if tag is None:
                    continue
                reason = f"tagged {tag}"
            found = hits.get((row.subject, row.ip or ""))
            if found is None:
                hits[(row.subject, row.ip or "")] = ([row], reason)
            else:
                found[0].append(row)
        findings = []
        for (subject, ip), (matched, reason) in hits.items():
            first = matched[0]
            count = len(matched)
            place = f" in {first.country}" if first.country else ""
            findings.append(
                Finding(
                    subject=subject,
                    key=ip,
                    title=f"Activity from risky IP {ip or 'address'} ({reason})",
                    description=(
                        f"{who(first)}: {count} "
                        f"{'activity' if count == 1 else 'activities'} from {ip}{place}, "
                        f"{reason}{f', ISP {first.isp}' if first.isp else ''}."
                    ),
                    rows=matched[:MAX_LINKED],
                    evidence=[line(r) for r in matched[:5]],
                )
            )
        return findings
