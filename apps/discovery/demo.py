"""Demo data of Cloud Discovery: a snapshot report and a continuous report for Contoso.

Both are built from generated Squid native logs that look like a real office's: about forty
people of the demo directory (the same names as the activity demo) browsing some sixty cloud apps
by their real domains, sanctioned ones (Microsoft 365, Box, Slack, Salesforce) and risky ones
(file sharing, personal webmail, generative AI), a few hosts no catalog app claims, and some
requests the proxy denied. The uploads go through the real services and pipeline, processed
synchronously so the demo has data without a worker. A few apps are tagged
(sanctioned: Box, Slack, Salesforce; unsanctioned: MEGA; monitored: Dropbox).

Idempotent: reports and the data source are matched by name, tags by kind; a second run adds
nothing. DEMO_SCALE scales the number of log lines.
"""

from __future__ import annotations

import random
import time

from django.conf import settings

from apps.tenants.scoping import tenant_context

from . import pipeline, services
from .models import DataSource, Receiver, Report, TagKind, UploadSource
from .services import DiscoveryRefused

SNAPSHOT_NAME = "Head office proxy — snapshot"
SOURCE_NAME = "Branch firewall"
SOURCE_PORT = 5514
DAY = 86400

# (domain, weight, typical response size): real domains of real apps; weights make the
# everyday apps common and the risky ones rare but present.
SITES = (
    ("outlook.office365.com", 40, 30_000),
    ("contoso.sharepoint.com", 30, 120_000),
    ("teams.microsoft.com", 30, 20_000),
    ("login.microsoftonline.com", 25, 4_000),
    ("app.box.com", 14, 200_000),
    ("slack.com", 18, 15_000),
    ("contoso.my.salesforce.com", 12, 40_000),
    ("zoom.us", 10, 8_000),
    ("github.com", 9, 60_000),
    ("contoso.atlassian.net", 9, 50_000),
    ("contoso.service-now.com", 5, 30_000),
    ("wd3.myworkday.com", 4, 25_000),
    ("contoso.okta.com", 6, 3_000),
    ("docusign.net", 3, 40_000),
    ("www.canva.com", 3, 90_000),
    ("trello.com", 3, 20_000),
    ("app.asana.com", 3, 20_000),
    ("www.notion.so", 4, 30_000),
    ("miro.com", 3, 70_000),
    ("www.figma.com", 3, 120_000),
    ("app.hubspot.com", 2, 30_000),
    ("contoso.zendesk.com", 2, 25_000),
    ("contoso.webex.com", 2, 10_000),
    ("www.linkedin.com", 8, 40_000),
    ("x.com", 4, 30_000),
    ("www.facebook.com", 4, 50_000),
    ("www.instagram.com", 2, 80_000),
    ("www.youtube.com", 8, 900_000),
    ("open.spotify.com", 3, 300_000),
    ("www.netflix.com", 1, 2_000_000),
    ("www.dropbox.com", 6, 250_000),
    ("dl.dropboxusercontent.com", 3, 2_000_000),
    ("mega.nz", 2, 3_000_000),
    ("wetransfer.com", 3, 1_500_000),
    ("www.mediafire.com", 1, 900_000),
    ("www.4shared.com", 1, 800_000),
    ("www.icloud.com", 2, 400_000),
    ("drive.google.com", 5, 300_000),
    ("docs.google.com", 4, 60_000),
    ("mail.google.com", 6, 40_000),
    ("outlook.live.com", 3, 35_000),
    ("mail.yahoo.com", 1, 30_000),
    ("mail.proton.me", 1, 20_000),
    ("www.gmx.net", 1, 20_000),
    ("chatgpt.com", 7, 25_000),
    ("claude.ai", 3, 25_000),
    ("gemini.google.com", 3, 25_000),
    ("www.perplexity.ai", 2, 20_000),
    ("character.ai", 1, 20_000),
    ("huggingface.co", 1, 150_000),
    ("www.deepl.com", 3, 15_000),
    ("app.grammarly.com", 2, 10_000),
    ("stackoverflow.com", 5, 60_000),
    ("gitlab.com", 2, 50_000),
    ("bitbucket.org", 1, 40_000),
    ("registry.npmjs.org", 2, 300_000),
    ("pypi.org", 2, 200_000),
    ("console.aws.amazon.com", 2, 40_000),
    ("portal.azure.com", 2, 40_000),
    ("www.adobe.com", 2, 50_000),
    # Hosts no catalog app claims: they appear as unrecognised, with their domain.
    ("files.partner-extranet.biz", 2, 300_000),
    ("api.weatherly-widgets.io", 1, 2_000),
    ("updates.printfleet-firmware.net", 1, 500_000),
    ("tracker.adnetwork-x.com", 2, 600),
)
# The proxy denies these (TCP_DENIED/403): the policy already blocks them.
DENIED = {"mega.nz", "www.4shared.com", "character.ai", "www.mediafire.com"}
TAGS = (
    (TagKind.SANCTIONED, ("box", "slack", "salesforce")),
    (TagKind.UNSANCTIONED, ("mega",)),
    (TagKind.MONITORED, ("dropbox",)),
)


def squid_log(*, days: int, lines: int, staff: list[str], subnet: str, seed: str) -> bytes:
    """A Squid native access.log of `lines` lines over the last `days` days (oldest first)."""
    rng = random.Random(seed)
    now = int(time.time()) - 600
    domains = [site[0] for site in SITES]
    weights = [site[1] for site in SITES]
    sizes = {site[0]: site[2] for site in SITES}
    addresses = {person: f"{subnet}.{10 + n}" for n, person in enumerate(staff)}
    # A few people do most of the risky browsing, as in real logs.
    out = []
    stamps = sorted(now - rng.randint(0, days * DAY - 1) for _ in range(lines))
    for ts in stamps:
        person = rng.choice(staff)
        host = rng.choices(domains, weights)[0]
        src = addresses[person]
        user = person if rng.random() < 0.9 else "-"
        if host in DENIED and rng.random() < 0.8:
            result, size = "TCP_DENIED/403", rng.randint(300, 4000)
        else:
            result = rng.choice(("TCP_TUNNEL/200", "TCP_MISS/200", "TCP_TUNNEL/200"))
            size = max(200, int(rng.expovariate(1 / sizes[host])))
        method, url = (
            ("CONNECT", f"{host}:443")
            if result != "TCP_MISS/200"
            else (
                "GET",
                f"https://{host}/",
            )
        )
        out.append(
            f"{ts}.{rng.randint(0, 999):03d} {rng.randint(5, 900)} {src} {result} {size} "
            f"{method} {url} {user} HIER_DIRECT/203.0.113.{rng.randint(1, 254)} -"
        )
    return ("\n".join(out) + "\n").encode()


def _staff(count: int) -> list[str]:
    """The first people of the demo directory (the activity demo's generator and seed)."""
    from apps.activities.demo import people

    return [person.email for person in people("contoso.test", count, random.Random(2026))]


def _tag_apps() -> None:
    """Through the tag services (audited, idempotent: an app that has its tag is left alone)."""
    from .services_manage import builtin_tag, tag_app

    for kind, apps in TAGS:
        tag = builtin_tag(kind)
        for app in apps:
            try:
                tag_app(app=app, tag=tag, actor="demo")
            except DiscoveryRefused:  # not in this catalog build: nothing to tag
                continue


def seed(demo) -> None:
    contoso = demo.tenants["contoso"]
    scale = settings.DEMO_SCALE
    staff = _staff(40)
    with tenant_context(contoso):
        if not Report.objects.filter(name=SNAPSHOT_NAME).exists():
            log = squid_log(
                days=14,
                lines=max(300, round(4000 * scale)),
                staff=staff,
                subnet="10.10.1",
                seed="demo-snapshot",
            )
            upload = services.create_snapshot(
                name=SNAPSHOT_NAME,
                description="One week and a half of the head office Squid proxy, uploaded by hand.",
                log_format="squid_native",
                files=[services.IncomingFile("access.log", [log])],
                actor="demo",
                anonymize=False,
            )
            status = pipeline.process(upload.pk)
            demo.log(f"{contoso.name}: snapshot report “{SNAPSHOT_NAME}” ({status})")
        if not DataSource.objects.filter(name=SOURCE_NAME).exists():
            source = services.create_data_source(
                name=SOURCE_NAME,
                log_format="squid_native",
                receiver=Receiver.SYSLOG_UDP,
                port=SOURCE_PORT,
                anonymize=True,
                actor="demo",
            )
            log = squid_log(
                days=30,
                lines=max(300, round(3000 * scale)),
                staff=staff[:25],
                subnet="10.20.5",
                seed="demo-branch",
            )
            upload = services.upload_to_source(
                data_source=source,
                files=[services.IncomingFile("branch-firewall.log", [log])],
                actor="demo",
                source=UploadSource.COLLECTOR,
            )
            status = pipeline.process(upload.pk)
            demo.log(f"{contoso.name}: data source “{SOURCE_NAME}” with one upload ({status})")
        _tag_apps()
