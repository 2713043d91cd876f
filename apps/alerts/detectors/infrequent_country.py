"""Activity from an infrequent country: a person is active from a country they have not used
recently (spec 2.4, "Activity from infrequent country").

Remembers each person's countries with first and last time seen (see `new_country`); a country
not seen in the last `forget_days` (default 30, the "past month" the reference product compares
sessions with) is infrequent again. Learning period per person (default 7 days), as the spec
says for this detection. Ignored: failed activities (the spec: this detection ignores failed
sign-ins), activities without a country, Cloud provider addresses, and by default addresses in
the tenant's Corporate or VPN ranges (the user's common connections); countries listed in
`ignore_countries` never alert (scope-excluding frequent travellers is the other lever).
"""

from __future__ import annotations

from ..models import Severity
from . import register
from .base import Option, Row
from .new_country import NewCountryDetector


@register
class InfrequentCountry(NewCountryDetector):
    key = "infrequent_country"
    name = "Activity from infrequent country"
    description = (
        "Activity from a country the person has not been active from recently or ever, once "
        "we have known them for the learning period."
    )
    tactic = "Initial access"
    severity = Severity.MEDIUM
    what = "Activity"
    options = (
        *NewCountryDetector.country_options(),
        Option(
            "forget_days",
            "A country is infrequent again after (days unseen)",
            "int",
            30,
            minimum=1,
            maximum=365,
        ),
    )

    def counts(self, row: Row) -> bool:
        return True
