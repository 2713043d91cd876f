"""The shape connector adapters hand to the directory sync (users, accounts and groups).

`apps.accounts.services.sync_directory(app_instance=..., accounts=..., groups=..., complete=...)`
upserts what the app listed. With `complete=True` (a full listing), accounts the app no longer
lists are marked deleted in the app, with the time that was first seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class AccountIn:
    external_id: str  # the app's id of the account
    username: str  # login name / UPN / email as the app shows it
    email: str = ""
    display_name: str = ""
    department: str = ""
    status: str = "active"  # apps.accounts.models.AccountStatus value
    is_admin: bool = False
    group_ids: list[str] = field(default_factory=list)  # external ids of its groups


@dataclass(slots=True)
class GroupIn:
    external_id: str
    name: str
    description: str = ""
