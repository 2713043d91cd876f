"""Block scripts (spec 5.7): the domains of every unsanctioned app, written for one appliance.

The list: every domain of every app tagged Unsanctioned (catalog domains, or the tenant's
custom app domains), lower case, deduplicated, sorted; a domain under another listed domain is
dropped (every format below blocks subdomains too). Never in it: the safety list (our own console
and the Microsoft security and identity services the spec names as not blockable), nor any
domain that would block one of them by suffix (blocking "microsoft.com" would block
"security.microsoft.com"). Every entry passes `clean_host` again right before rendering, so
nothing but letters, digits, dots, hyphens (and IP addresses) reaches a script: no tag name or
custom app domain can add a line or a command.

One renderer per appliance, registered in `APPLIANCES` by key. Formats, from the vendors' docs:
- paloalto: PAN-OS CLI `set` commands building a custom URL category of type "URL List"
  (`CAS_Unsanctioned`). Chosen over an EDL file because it needs no web server to host the
  list; in PAN-OS a URL-list entry "a.com" matches that host only, so each domain also gets
  "*.a.com". Use the category with action block in a URL Filtering profile.
- fortigate: `config webfilter urlfilter` table `CAS_Unsanctioned` (id 1: change it if taken)
  with, per domain, a "simple" entry and a "*.a.com" wildcard entry, action block (FortiOS 7
  matches a simple entry exactly). Attach the table to a web filter profile.
- zscaler: one entry per line for a custom URL category or the block list; a leading dot
  (".a.com") matches the domain and all its subdomains.
- bluecoat: CPL in a `<Proxy>` layer, `url.domain=a.com deny` as the spec's example shows
  (url.domain matches subdomains); addresses as `url.address=<ip> deny`.
- squid: `acl casb_unsanctioned dstdomain .a.com` (leading dot: with subdomains), addresses in
  `acl casb_unsanctioned_ip dst <ip>`, then `http_access deny` for each acl; put the lines
  before the configuration's allow rules.
- plain: the domains, one per line, for any other appliance.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.utils import timezone

from apps.tenants import audit
from apps.tenants.scoping import current_tenant

from .models import TagKind
from .selectors_manage import apps_with_kind
from .services import DiscoveryRefused
from .services_custom_apps import clean_host
from .services_manage import app_ref

# Spec 5.7's non-blockable services, mapped to the domains they are served from.
SAFETY_LIST: dict[str, tuple[str, ...]] = {
    "Microsoft Defender for Cloud Apps": ("cloudappsecurity.com", "portal.cloudappsecurity.com"),
    "Conditional Access App Control": ("mcas.ms",),
    "Microsoft Defender Security Center": (
        "securitycenter.windows.com",
        "securitycenter.microsoft.com",
    ),
    "Microsoft 365 Security Center and Secure Score": ("security.microsoft.com",),
    "Microsoft Defender for Identity": ("atp.azure.com",),
    "Microsoft Purview": ("compliance.microsoft.com", "purview.microsoft.com"),
    "Microsoft Entra (incl. Permissions Management)": ("entra.microsoft.com",),
    "Microsoft Intune": (
        "intune.microsoft.com",
        "endpoint.microsoft.com",
        "manage.microsoft.com",
    ),
    "Microsoft Support": ("support.microsoft.com",),
    "AD FS Help": ("adfshelp.microsoft.com",),
    "Microsoft Online Services (sign-in)": (
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
    ),
}
CATEGORY = "CAS_Unsanctioned"


@dataclass(frozen=True)
class BlockList:
    """What a script blocks, and what was left out and why."""

    domains: list[str]
    safe_skipped: list[str] = field(default_factory=list)
    invalid_skipped: int = 0


def console_hosts(request=None) -> set[str]:
    """Our own console's host names: the request's host and the configured ALLOWED_HOSTS."""
    hosts = set()
    for entry in getattr(settings, "ALLOWED_HOSTS", []):
        host = clean_host(entry.lstrip("."))
        if host:
            hosts.add(host)
    if request is not None:
        host = clean_host(request.get_host().rsplit(":", 1)[0].strip("[]"))
        if host:
            hosts.add(host)
    return hosts


def safe_domains(request=None) -> set[str]:
    return {d for group in SAFETY_LIST.values() for d in group} | console_hosts(request)


def _covers(parent: str, host: str) -> bool:
    return host == parent or host.endswith("." + parent)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def build_list(hosts: Iterable[str], safe: Iterable[str]) -> BlockList:
    """Clean, filter and sort `hosts` (see the module docstring)."""
    safe = set(safe)
    cleaned: set[str] = set()
    invalid = 0
    for raw in hosts:
        host = clean_host(str(raw))
        if host is None:
            invalid += 1
        else:
            cleaned.add(host)
    kept, skipped = [], []
    for host in cleaned:
        # Blocking the safe host itself, one under it, or a parent of it (suffix rules).
        if any(_covers(s, host) or _covers(host, s) for s in safe):
            skipped.append(host)
        else:
            kept.append(host)
    names = {h for h in kept if not _is_ip(h)}
    collapsed = [h for h in kept if _is_ip(h) or not any(_covers(p, h) for p in names - {h})]
    return BlockList(sorted(collapsed), sorted(skipped), invalid)


def unsanctioned_hosts() -> list[str]:
    """Every domain of every app tagged Unsanctioned (uncleaned)."""
    hosts: list[str] = []
    for key in apps_with_kind(TagKind.UNSANCTIONED):
        ref = app_ref(key)
        if ref is not None:  # an app no longer in the catalog has nothing to block
            hosts.extend(ref.domains)
    return hosts


def unsanctioned_list(request=None) -> BlockList:
    return build_list(unsanctioned_hosts(), safe_domains(request))


# --- renderers -------------------------------------------------------------------------------


def _split(domains: list[str]) -> tuple[list[str], list[str]]:
    names = [d for d in domains if not _is_ip(d)]
    ips = [d for d in domains if _is_ip(d)]
    return names, ips


def _palo_alto(domains: list[str]) -> list[str]:
    head = f"set profiles custom-url-category {CATEGORY}"
    lines = [f'{head} type "URL List"', f'{head} description "Unsanctioned cloud apps"']
    names, ips = _split(domains)
    for name in names:
        lines += [f"{head} list {name}", f"{head} list *.{name}"]
    lines += [f"{head} list {ip}" for ip in ips]
    return lines


def _fortigate(domains: list[str]) -> list[str]:
    entries: list[tuple[str, str]] = []
    names, ips = _split(domains)
    for name in names:
        entries += [(name, "simple"), (f"*.{name}", "wildcard")]
    entries += [(ip, "simple") for ip in ips]
    lines = ["config webfilter urlfilter", "    edit 1", f'        set name "{CATEGORY}"']
    lines.append("        config entries")
    for number, (url, kind) in enumerate(entries, 1):
        lines += [
            f"            edit {number}",
            f'                set url "{url}"',
            f"                set type {kind}",
            "                set action block",
            "            next",
        ]
    lines += ["        end", "    next", "end"]
    return lines


def _zscaler(domains: list[str]) -> list[str]:
    names, ips = _split(domains)
    return [f".{name}" for name in names] + ips


def _blue_coat(domains: list[str]) -> list[str]:
    names, ips = _split(domains)
    return (
        ["<Proxy>"]
        + [f"url.domain={name} deny" for name in names]
        + [f"url.address={ip} deny" for ip in ips]
    )


def _squid(domains: list[str]) -> list[str]:
    names, ips = _split(domains)
    lines = [f"acl casb_unsanctioned dstdomain .{name}" for name in names]
    lines += [f"acl casb_unsanctioned_ip dst {ip}" for ip in ips]
    if names:
        lines.append("http_access deny casb_unsanctioned")
    if ips:
        lines.append("http_access deny casb_unsanctioned_ip")
    return lines


def _plain(domains: list[str]) -> list[str]:
    return list(domains)


@dataclass(frozen=True)
class Appliance:
    key: str
    label: str
    file_label: str  # in the download's name
    render: Callable[[list[str]], list[str]]
    how: str  # one line for the page: where the script goes


APPLIANCES: dict[str, Appliance] = {
    a.key: a
    for a in (
        Appliance(
            "paloalto",
            "Palo Alto Networks (PAN-OS)",
            "PaloAlto",
            _palo_alto,
            "CLI set commands for a custom URL category; block it in a URL Filtering profile.",
        ),
        Appliance(
            "fortigate",
            "Fortinet FortiGate",
            "Fortigate",
            _fortigate,
            "A web filter URL table (id 1: change it if taken); attach it to a web filter profile.",
        ),
        Appliance(
            "zscaler",
            "Zscaler",
            "Zscaler",
            _zscaler,
            "Entries for a custom URL category or the block list (leading dot: subdomains).",
        ),
        Appliance(
            "bluecoat",
            "Blue Coat ProxySG",
            "BlueCoat",
            _blue_coat,
            "CPL for the local policy file.",
        ),
        Appliance(
            "squid",
            "Squid",
            "Squid",
            _squid,
            "ACL lines for squid.conf, before the http_access allow rules.",
        ),
        Appliance("plain", "Domain list", "DomainList", _plain, "One domain per line."),
    )
}


def render(appliance: str, domains: list[str]) -> str:
    """The script text; every entry is checked again so nothing unclean reaches it."""
    entries = [d for d in domains if clean_host(d) == d]
    lines = APPLIANCES[appliance].render(entries)
    return "".join(line + "\n" for line in lines)


def filename(appliance: str, today: date | None = None) -> str:
    today = today or timezone.now().date()
    return f"{today.isoformat()}_CAS_{APPLIANCES[appliance].file_label}_block_script.txt"


def generate(*, appliance: str, actor, request=None) -> tuple[str, str, BlockList]:
    """(file name, script, list) for `appliance` (a key of APPLIANCES); audited."""
    if appliance not in APPLIANCES:
        raise DiscoveryRefused(
            f"Unknown appliance; choose one of {', '.join(APPLIANCES)}.", "appliance"
        )
    found = unsanctioned_list(request)
    text = render(appliance, found.domains)
    audit.record(
        current_tenant(),
        "discovery.block_script_generated",
        actor=actor,
        request=request,
        details={
            "appliance": appliance,
            "domains": len(found.domains),
            "safe_skipped": found.safe_skipped,
        },
    )
    return filename(appliance), text, found
