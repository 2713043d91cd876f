"""Policy evaluation benchmark: activities evaluated per second vs ingestion, in the same run.

    .venv/bin/python bench/evaluate.py --events 500000

Creates a scratch database next to DATABASE_URL's (default postgres://postgres@127.0.0.1:5432/
casb), migrates it, makes a tenant with four connected apps, five IP ranges, a few user groups,
50 active activity policies (a realistic mix of single and repeated matches on country, IP
category and tags, activity type, operation, admin flag, domain, user agent, group scope) and
every built-in anomaly detection switched on, then:

1. streams N synthetic events (the activity-log benchmark's generator, `bench/ingest.py`)
   through `ingest()`, which also queues them for evaluation: the ingestion rate;
2. evaluates every queued batch with `evaluate_pending()` (what the Celery task runs), one
   transaction per batch: the evaluation rate, alerts raised and folded;
3. prints both rates and their ratio (target: at least 1, evaluation keeps up with ingestion),
   and where the evaluation time went; then drops the scratch database (`--keep` keeps it).

Not a test: nothing asserts, it reports.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ingest import Synth, bench_tenant  # noqa: E402  (bench/ is sys.path[0])
from scratch import scratch_database, setup_django, timed  # noqa: E402


def _policies(groups: list[str]) -> list[dict]:
    """50 activity policies: the shapes admins write, cheap and expensive filters alike."""
    countries = ["CN", "BR", "ZA", "IN", "AU", "SE", "IE", "US", "DE", "GB"]
    types = ["download", "upload", "delete", "share", "failed_login", "login", "edit", "view"]
    made: list[dict] = []
    for country in countries:
        made.append(
            {
                "name": f"Sign-in from {country}",
                "filters": {
                    "location.country": {"eq": [country]},
                    "activity.eventType": {"eq": ["login"]},
                },
            }
        )
    for n, kind in enumerate(types):
        made.append(
            {
                "name": f"Repeated {kind}",
                "filters": {"activity.eventType": {"eq": [kind]}},
                "mode": "repeated",
                "repeat_count": 20 + n * 5,
                "repeat_window_minutes": 10,
                "repeat_per_app": n % 2 == 0,
            }
        )
    for n, kind in enumerate(types):
        made.append(
            {
                "name": f"{kind} from an unusual place",
                "filters": {
                    "activity.eventType": {"eq": [kind]},
                    "location.country": {"eq": [countries[n % 3 + 5]]},
                    "ip.category": {"neq": [1, 4]},
                },
            }
        )
    made += [
        {
            "name": "Admin activity from a non-corporate IP",
            "filters": {"activity.type": {"eq": True}, "ip.category": {"neq": [1]}},
        },
        {"name": "Risky IP sign-in", "filters": {"ip.category": {"eq": [3]}}},
        {"name": "VPN tag", "filters": {"ip.tags": {"eq": ["VPN"]}}},
        {"name": "Cloud provider addresses", "filters": {"ip.tags": {"eq": ["Google"]}}},
        {
            "name": "Scripted clients",
            "filters": {"userAgent.userAgent": {"contains": ["python-requests", "curl"]}},
        },
        {"name": "Mail forwarding", "filters": {"actionType": {"eq": ["Set-Mailbox"]}}},
        {"name": "Anonymous links", "filters": {"actionType": {"eq": ["AnonymousLinkCreated"]}}},
        {
            "name": "Mobile downloads",
            "filters": {
                "device.type": {"eq": ["mobile"]},
                "activity.eventType": {"eq": ["download"]},
            },
        },
        {
            "name": "Contoso accounts",
            "filters": {
                "user.domain": {"eq": ["contoso.example"]},
                "activity.eventType": {"eq": ["delete"]},
            },
        },
        {"name": "Failed sign-ins", "filters": {"activity.succeeded": {"eq": False}}},
        {"name": "Private addresses", "filters": {"ip.address": {"startswith": ["10."]}}},
        {"name": "IPv6 activity", "filters": {"ip.address": {"startswith": ["2001:"]}}},
        {
            "name": "Password changes",
            "filters": {"activity.eventType": {"eq": ["password_change"]}},
        },
        {"name": "User creation", "filters": {"activity.eventType": {"eq": ["create_user"]}}},
        {
            "name": "Permission changes",
            "filters": {"activity.eventType": {"eq": ["permission_change"]}},
        },
        {"name": "Report files", "filters": {"activityObject": {"eq": ["obj-17", "obj-42"]}}},
        {
            "name": "Finance group downloads",
            "filters": {"activity.eventType": {"eq": ["download"]}},
            "include_groups": groups[:1],
        },
        {
            "name": "Everyone but IT deletes",
            "filters": {"activity.eventType": {"eq": ["delete"]}},
            "exclude_groups": groups[1:2],
        },
        {
            "name": "Connector source",
            "filters": {"source": {"eq": ["connector"]}, "location.country": {"eq": ["CN"]}},
        },
        {
            "name": "Sharing from BR",
            "filters": {
                "activity.eventType": {"eq": ["share"]},
                "location.country": {"eq": ["BR"]},
            },
        },
        {"name": "Known ISP", "filters": {"location.organizations": {"contains": ["Google"]}}},
        {"name": "Logouts", "filters": {"activity.eventType": {"eq": ["logout"]}}},
        {
            "name": "Uploads from ZA",
            "filters": {
                "activity.eventType": {"eq": ["upload"]},
                "location.country": {"eq": ["ZA"]},
            },
        },
        {
            "name": "Edits by ids",
            "filters": {
                "activity.eventType": {"eq": ["edit"]},
                "user.username": {"startswith": ["user000"]},
            },
        },
    ]
    return made[:50]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--apps", type=int, default=4)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--addresses", type=int, default=8000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--profile", action="store_true", help="cProfile the evaluation")
    args = parser.parse_args()

    with scratch_database("casb_bench_eval", keep=args.keep) as url:
        _run(args, url)


def _run(args, url: str) -> None:
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from apps.accounts.models import UserGroup
    from apps.activities import ingestion
    from apps.alerts import evaluation, raising
    from apps.alerts.detectors import all_detectors
    from apps.alerts.models import Alert, EvaluationBatch, Policy
    from apps.tenants.scoping import tenant_context

    tenant, apps = bench_tenant(args.apps)
    with tenant_context(tenant):
        groups = [
            str(UserGroup.objects.create(app_instance=apps[0], external_id=f"g{n}", name=g).pk)
            for n, g in enumerate(["Finance", "IT"])
        ]
        for spec in _policies(groups):
            Policy.objects.create(severity=2, **spec)  # default daily limit, as admins leave it
        evaluation.ensure_detection_policies(tenant)
        active = Policy.objects.filter(enabled=True)
        activity_count = active.filter(kind="activity").count()
        detections = sorted(active.filter(kind="anomaly").values_list("detector", flat=True))

    synth = Synth(seed=7, users=args.users, addresses=args.addresses, days=args.days)
    per_app = [args.events // args.apps] * args.apps
    per_app[0] += args.events - sum(per_app)

    # Keep the on-commit task messages out of the timing: nothing consumes them here.
    from apps.alerts import tasks as alert_tasks

    alert_tasks.evaluate.delay = lambda *a, **k: None

    started = time.perf_counter()
    accepted = 0
    for number, (app, count) in enumerate(zip(apps, per_app, strict=True)):
        result = ingestion.ingest(
            tenant=tenant,
            app_instance=app,
            events=synth.events(f"a{number}", count),
            source="connector",
        )
        accepted += result.accepted
    ingest_seconds = time.perf_counter() - started
    ingest_rate = accepted / ingest_seconds
    with tenant_context(tenant):
        batches = EvaluationBatch.objects.count()

    phases: dict[str, float] = defaultdict(float)
    timed(evaluation.Engine, "_repeated", "repeated-activity windows", phases)
    timed(raising, "raise_alerts", "raise/fold alerts", phases)
    for key, detector in all_detectors().items():
        timed(detector, "detect", f"detection {key}", phases)
    timed(evaluation, "_fetch_rows", "load batches + 50 filters (SQL)", phases)
    timed(evaluation.StateStore, "load", "detection memories: load", phases)
    timed(evaluation.StateStore, "save", "detection memories: save", phases)

    cpu_before = os.times()
    started = time.perf_counter()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with tenant_context(tenant):
        stats = evaluation.evaluate_pending(tenant, max_seconds=10**9)
    eval_seconds = time.perf_counter() - started
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    cpu_after = os.times()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    eval_rate = stats.activities / eval_seconds
    with tenant_context(tenant):
        alerts = Alert.objects.count()

    print()
    print(
        f"events                 {args.events:>12,}  ({args.apps} apps, {args.users} people, "
        f"{args.days} days); {accepted:,} stored in {batches:,} batches"
    )
    print(
        f"policies               {activity_count:>12} activity policies + "
        f"{len(detections)} detections ({', '.join(detections)})"
    )
    print(f"ingest()               {ingest_rate:>12,.0f} activities/s  ({ingest_seconds:.1f} s)")
    print(
        f"evaluation             {eval_rate:>12,.0f} activities/s  ({eval_seconds:.1f} s, "
        f"{stats.batches:,} batches, CPU of this process {cpu:.1f} s)"
    )
    print(f"ratio                  {eval_rate / ingest_rate:>12.2f} x ingestion (target >= 1)")
    print(
        f"outcome                {stats.findings:>12,} findings -> {stats.alerts_created:,} "
        f"alerts raised, {stats.alerts_updated:,} folded into open alerts, "
        f"{stats.suppressed:,} held back by daily limits; {alerts:,} alerts stored"
    )
    spent = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(phases.items(), key=lambda i: -i[1]))
    print(f"where evaluation spent {spent}")


if __name__ == "__main__":
    main()
