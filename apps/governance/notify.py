"""The "notify user" action: a plain-text email to the person behind the account.

The text says which alert or policy it is about and what the person should do; an admin's
comment is included, and a policy may give its own instructions in `params["message"]`. A mail
server that refuses or cannot be reached is retried like an unavailable vendor. A worker that
dies after sending and before recording may send the email twice: the only side effect here
that is not idempotent, and a duplicate notice is the lesser harm than a lost one.
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import send_mail

from apps.connectors import errors
from apps.tenants.models import Tenant

from .models import GovernanceAction

DEFAULT_ADVICE = (
    "If this was you, nothing more is needed. If it was not, change your password now, sign "
    "out of the devices you do not use, and tell your security team."
)


def recipient(action: GovernanceAction) -> str:
    """The address to write to: the account's, else its person's."""
    account = action.account
    candidates = []
    if account is not None:
        candidates += [account.email, account.username]
    if action.user is not None:
        candidates += [action.user.email, action.user.identity]
    for candidate in candidates:
        if candidate and "@" in candidate and " " not in candidate.strip():
            return candidate.strip()
    raise errors.TargetNotFound(
        f"no email address is known for {action.target_label or 'this account'}"
    )


def compose(tenant: Tenant, action: GovernanceAction) -> tuple[str, str]:
    account = action.account
    name = (account.display_name if account else "") or (
        action.user.display_name if action.user else ""
    )
    app = action.app_instance.name if action.app_instance else "a connected app"
    if action.alert is not None:
        why = f"Alert #{action.alert.number}: {action.alert.title}"
    elif action.policy is not None:
        why = f"Policy: {action.policy.name}"
    else:
        why = "An administrator flagged activity on your account."
    lines = [
        f"Hello {name or action.target_label},",
        "",
        f"The security team of {tenant.name} is contacting you about your {app} account "
        f"{action.target_label}.",
        "",
        f"Why: {why}",
    ]
    if action.comment:
        lines += ["", f"Note from the security team: {action.comment}"]
    lines += [
        "",
        f"What to do: {action.params.get('message') or DEFAULT_ADVICE}",
        "",
        f"This message was sent by the cloud security service of {tenant.name}.",
    ]
    return f"Security notice from {tenant.name}", "\n".join(lines)


def send(tenant: Tenant, action: GovernanceAction) -> str:
    address = recipient(action)
    subject, body = compose(tenant, action)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        raise errors.Unavailable(
            f"the mail server did not take the message ({errors.clip(exc, 120)})"
        ) from exc
    return f"emailed {address}"
