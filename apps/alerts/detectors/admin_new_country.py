"""Administrative activity from a new country: a person performs admin activity
(`is_admin`, set by the connectors for admin operations and admin accounts) from a country
never seen before for their admin activity (classic alert "New admin location", spec 2.3).

Per person it remembers the countries of their admin activity (up to 30, never forgotten;
see `new_country`). Learning period: no alert before we have known the person's admin
activity for `learning_days` (default 7). Ignored: failed activities, activities without a
country, Cloud provider addresses, by default the tenant's Corporate and VPN ranges (the
organisation's own exits), and countries listed in `ignore_countries`.
"""

from __future__ import annotations

from ..models import Category, Severity
from . import register
from .base import Row
from .new_country import NewCountryDetector


@register
class AdminNewCountry(NewCountryDetector):
    key = "admin_new_country"
    name = "Administrative activity from a new country"
    description = (
        "A person performs administrative activity from a country never seen before for "
        "their administrative activity."
    )
    category = Category.PRIVILEGED_ACCOUNTS
    tactic = "Privilege escalation"
    severity = Severity.HIGH
    what = "Administrative activity"
    adjective = "a new"
    forgets = False
    options = NewCountryDetector.country_options()

    def counts(self, row: Row) -> bool:
        return row.is_admin
