"""Benchmark: DLP detection engine throughput (MB/s, with validation) against bare regexes.

    .venv/bin/python bench/dlp.py              # ~50 MB corpus
    .venv/bin/python bench/dlp.py --mb 10

Pure Python, no database. Generates a mixed text corpus of about `--mb` MB (business prose
with embedded sensitive values and look-alikes from `apps.dlp.detection.corpus`: valid and
invalid card numbers, SSNs, IBANs, NINOs, passports, emails, keys and tokens, dates,
timestamps, order numbers, ISBNs), cuts it into 1 MB "files", then times in the same run:

1. the engine: `Engine().scan()` on each file, every built-in type, candidates validated,
   context words, thresholds, masked evidence (what a scan costs);
2. the baseline: the same types' regexes joined in one plain alternation of named groups,
   `re.finditer` over each file, no validation (what a straightforward regex scan costs);
3. for reference, the engine's own guarded pattern with `re.finditer` alone (the regex share
   of step 1; emails, tokens, keys and IPv6 are found from anchors, not by this pattern).

4. Presidio (`presidio-analyzer`, the optional "bench" dependencies: `pip install .[bench]`)
   with its predefined *pattern* recognizers only, no language model and no NLP engine: each
   recognizer's `analyze(text, entities, nlp_artifacts=None)` on the first `--presidio-mb` MB
   of the same corpus (Presidio runs at a fraction of a MB/s, so the whole corpus would take
   hours). The types both sides have: credit card, US SSN, IBAN, e-mail, IP address, US
   passport, UK NINO (the "regex recognizers"), plus the phone recognizer, which parses with
   `phonenumbers` and is far slower: it runs on an eighth of that subset and its time is
   scaled. Without Presidio installed the bench says so and skips this step.

Then precision and recall per type on `--items` labelled corpus items (each scanned alone,
as in tests/dlp/test_detection_corpus.py), for the engine and for Presidio (every result, and
only results scoring >= 0.5); Presidio has no recognizer for AWS keys, GitHub tokens or JWTs.

Prints MB/s of each and the engine's ratios to the baseline and to Presidio. Single process,
one core. Not a test: nothing asserts, it reports.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.dlp.detection.corpus import _FILLER, COVERED, generate  # noqa: E402
from apps.dlp.detection.engine import Engine  # noqa: E402
from apps.dlp.detection.types import BUILTIN_TYPES  # noqa: E402

FILE_BYTES = 1 << 20

_PROSE = (
    "Following up on the review, the team agreed to close the remaining items this sprint "
    "and to revisit the vendor contract in the next planning session. ",
    "Attendance was good; the notes from 2026-11-28 are in the shared folder, version 3 of "
    "the deck has the updated figures (revenue up 4.2% on a total of 1,234,567 EUR). ",
    "Customer feedback was mostly positive, with two tickets escalated and one refund "
    "approved by the support lead after the call at 14:30. ",
)


def build_corpus(megabytes: float, seed: int) -> list[str]:
    """1 MB files of prose with one labelled corpus item about every 400 characters."""
    rng = random.Random(seed)
    items = generate(10**9, seed=seed)
    target = int(megabytes * (1 << 20))
    files, parts, size, total = [], [], 0, 0
    while total < target:
        piece = rng.choice(_PROSE) if rng.random() < 0.7 else rng.choice(_FILLER) + " "
        piece += next(items).text + "\n"
        parts.append(piece)
        size += len(piece)
        if size >= FILE_BYTES:
            files.append("".join(parts))
            total += size
            parts, size = [], 0
    if parts:
        files.append("".join(parts))
    return files


def _rate(files: list[str], scan) -> tuple[float, int]:
    started = time.perf_counter()
    found = 0
    for text in files:
        found += scan(text)
    elapsed = time.perf_counter() - started
    return sum(len(t) for t in files) / (1 << 20) / elapsed, found


# Presidio's entity -> our type key (the types both detect).
PRESIDIO_TYPES = {
    "CREDIT_CARD": "payment_card",
    "US_SSN": "us_ssn",
    "IBAN_CODE": "iban",
    "EMAIL_ADDRESS": "email",
    "IP_ADDRESS": "ip_address",
    "US_PASSPORT": "us_passport",
    "UK_NINO": "uk_nino",
    "PHONE_NUMBER": "phone",
}
MISSING = "presidio not installed: pip install .[bench]"


def presidio_recognizers() -> tuple[list, object] | None:
    """(regex recognizers, phone recognizer) of Presidio, or None when it is not installed."""
    try:
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            IpRecognizer,
            PhoneRecognizer,
            UkNinoRecognizer,
            UsPassportRecognizer,
            UsSsnRecognizer,
        )
    except ImportError:
        return None
    # tldextract (used by the e-mail recognizer) tries to download the public suffix list and
    # logs a traceback when offline, then uses its bundled copy; Presidio logs each call.
    for name in ("tldextract", "presidio-analyzer", "filelock", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    regex = [
        cls()
        for cls in (
            CreditCardRecognizer,
            UsSsnRecognizer,
            IbanRecognizer,
            EmailRecognizer,
            IpRecognizer,
            UsPassportRecognizer,
            UkNinoRecognizer,
        )
    ]
    recognizers = [*regex, PhoneRecognizer()]
    for recognizer in recognizers:  # warm up (compiles patterns, loads metadata)
        _presidio_scan(recognizer, "card 4111 1111 1111 1111 a@b.example +1 415 555 2671")
    return regex, recognizers[-1]


def _presidio_scan(recognizer, text: str) -> list:
    return recognizer.analyze(text, entities=recognizer.supported_entities, nlp_artifacts=None)


def _subset(files: list[str], megabytes: float) -> list[str]:
    """The first `megabytes` MB of the corpus, as whole or cut files."""
    left, taken = int(megabytes * (1 << 20)), []
    for text in files:
        if left <= 0:
            break
        taken.append(text[:left])
        left -= len(taken[-1])
    return taken


def presidio_rate(files: list[str], regex: list, phone, megabytes: float) -> dict:
    """MB/s of Presidio's regex recognizers on `megabytes` MB, of the phone recognizer on an
    eighth of it (scaled), and of all of them together."""
    subset = _subset(files, megabytes)
    size = sum(len(t) for t in subset) / (1 << 20)
    timings, found = {}, 0
    for recognizer in regex:
        started = time.perf_counter()
        found += sum(len(_presidio_scan(recognizer, text)) for text in subset)
        timings[type(recognizer).__name__] = time.perf_counter() - started
    regex_seconds = sum(timings.values())
    small = _subset(subset, megabytes / 8)
    small_size = sum(len(t) for t in small) / (1 << 20)
    started = time.perf_counter()
    for text in small:
        _presidio_scan(phone, text)
    phone_rate = small_size / (time.perf_counter() - started)
    regex_rate = size / regex_seconds
    return {
        "size": size,
        "phone_size": small_size,
        "regex_rate": regex_rate,
        "phone_rate": phone_rate,
        "all_rate": 1 / (1 / regex_rate + 1 / phone_rate),
        "results": found,
        "per_recognizer": {name: size / sec for name, sec in timings.items()},
    }


def _tally(tp, fp, fn, found: dict[str, int], wanted: dict[str, int]) -> None:
    for key in set(found) | set(wanted):
        f, w = found.get(key, 0), wanted.get(key, 0)
        tp[key] += min(f, w)
        fp[key] += max(0, f - w)
        fn[key] += max(0, w - f)


def accuracy(engine: Engine, presidio, items: int, seed: int) -> dict[str, dict]:
    """Precision and recall per covered type: engine, Presidio (all), Presidio (score >= .5)."""
    counters = {name: (Counter(), Counter(), Counter()) for name in ("engine", "all", "half")}
    for item in generate(items, seed=seed):
        found = {key: r.count for key, r in engine.scan(item.text).items()}
        _tally(*counters["engine"], found, item.labels)
        if presidio is None:
            continue
        results = [r for rec in presidio for r in _presidio_scan(rec, item.text)]
        for name, floor in (("all", 0.0), ("half", 0.5)):
            found = Counter(
                PRESIDIO_TYPES[r.entity_type]
                for r in results
                if r.score >= floor and r.entity_type in PRESIDIO_TYPES
            )
            _tally(*counters[name], found, item.labels)
    table = {}
    for name, (tp, fp, fn) in counters.items():
        table[name] = {
            key: (
                tp[key] / (tp[key] + fp[key]) if tp[key] + fp[key] else float("nan"),
                tp[key] / (tp[key] + fn[key]) if tp[key] + fn[key] else float("nan"),
            )
            for key in COVERED
        }
    return table


def _num(value: float) -> str:
    return f"{value:.3f}" if value == value else "  -  "  # NaN: nothing found, nothing wanted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="corpus size in MB (default 50)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--presidio-mb",
        type=float,
        default=2.0,
        help="MB of the corpus Presidio's regex recognizers scan (default 2; the phone "
        "recognizer an eighth of it)",
    )
    parser.add_argument(
        "--items",
        type=int,
        default=3000,
        help="labelled corpus items for precision and recall (default 3000; 0: skip)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    files = build_corpus(args.mb, args.seed)
    size = sum(len(t) for t in files) / (1 << 20)
    took = time.perf_counter() - started
    print(f"corpus: {size:.1f} MB in {len(files)} files, generated in {took:.1f} s")

    engine = Engine()
    naive = re.compile("|".join(f"(?P<t{i}>{t.regex})" for i, t in enumerate(BUILTIN_TYPES)))

    def engine_scan(text: str) -> int:
        return sum(result.count for result in engine.scan(text).values())

    def bare(pattern: re.Pattern[str]):
        return lambda text: sum(1 for _ in pattern.finditer(text))

    rate, found = _rate(files, engine_scan)
    base, candidates = _rate(files, bare(naive))
    guarded, _ = _rate(files, bare(engine.pattern))
    print(f"  engine (regex + validation + context + masking): {rate:7.2f} MB/s, {found:,} matches")
    print(
        f"  baseline (one plain alternation, re.finditer):  {base:7.2f} MB/s, {candidates:,} hits"
    )
    print(f"  engine's guarded pattern alone (re.finditer):    {guarded:7.2f} MB/s")
    print(
        f"  ratio engine / baseline: {rate / base:.2f}x  (target: >= 20 MB/s per core, validated)"
    )

    presidio = presidio_recognizers()
    if presidio is None:
        print(f"  {MISSING}")
    else:
        regex, phone = presidio
        p = presidio_rate(files, regex, phone, args.presidio_mb)
        print(
            f"  Presidio, 7 regex pattern recognizers, no NLP ({p['size']:.1f} MB):"
            f" {p['regex_rate']:7.3f} MB/s, {p['results']:,} results"
        )
        for name, value in p["per_recognizer"].items():
            print(f"      {name:<22} {value:7.2f} MB/s")
        print(
            f"  Presidio PhoneRecognizer (phonenumbers, {p['phone_size']:.2f} MB):"
            f"         {p['phone_rate']:7.3f} MB/s"
        )
        print(f"  Presidio, all 8 recognizers together (scaled):    {p['all_rate']:7.3f} MB/s")
        print(
            f"  ratio engine / Presidio: {rate / p['regex_rate']:.0f}x (7 regex recognizers),"
            f" {rate / p['all_rate']:.0f}x (all 8)"
        )
    if args.items:
        table = accuracy(engine, presidio[0] if presidio else None, args.items, args.seed)
        print(f"precision / recall per type on {args.items:,} labelled items:")
        header = "  engine" + ("     Presidio (all)   Presidio (score>=.5)" if presidio else "")
        print(f"  {'type':<16}{header}")
        for key in COVERED:
            cells = [table["engine"][key]]
            if presidio:
                known = key in PRESIDIO_TYPES.values()
                cells += [table["all"][key], table["half"][key]] if known else [None, None]
            text = "  ".join(
                f"{_num(c[0])} / {_num(c[1])}" if c else "  no recognizer" for c in cells
            )
            print(f"  {key:<16}{text}")


if __name__ == "__main__":
    main()
