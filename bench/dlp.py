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

Prints MB/s of each and the engine's ratio to the baseline. Single process, one core. The
issue's comparison with Presidio's pattern recognizers is not done yet (Presidio is not a
dependency of the project). Not a test: nothing asserts, it reports.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.dlp.detection.corpus import _FILLER, generate  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=50.0, help="corpus size in MB (default 50)")
    parser.add_argument("--seed", type=int, default=2026)
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
    print("  not done yet: the issue's comparison with Presidio's pattern recognizers")


if __name__ == "__main__":
    main()
