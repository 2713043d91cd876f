"""Precision and recall over the generated labelled corpus, per built-in type it covers."""

from __future__ import annotations

from collections import Counter

from apps.dlp.detection.corpus import COVERED, generate
from apps.dlp.detection.engine import Engine

ITEMS = 6000


def test_corpus_is_seeded_and_labelled():
    first = [item.text for item in generate(50, seed=11)]
    assert first == [item.text for item in generate(50, seed=11)]
    assert first != [item.text for item in generate(50, seed=12)]
    kinds = Counter(item.kind for item in generate(ITEMS, seed=11))
    assert kinds["lookalike"] > 1000 and all(kinds[key] > 100 for key in COVERED)
    invalid = sum(
        1 for item in generate(ITEMS, seed=11) if item.kind in COVERED and not item.labels
    )
    assert invalid > 500  # invalid cards, SSNs, IBANs, NINOs and context-less passports


def test_precision_and_recall_per_type():
    engine = Engine()
    tp, fp, fn = Counter(), Counter(), Counter()
    for item in generate(ITEMS, seed=2026):
        results = engine.scan(item.text)
        for key in set(results) | set(item.labels):
            found = results[key].count if key in results else 0
            wanted = item.labels.get(key, 0)
            tp[key] += min(found, wanted)
            fp[key] += max(0, found - wanted)
            fn[key] += max(0, wanted - found)
    for key in COVERED:
        assert tp[key] >= 100, key
        precision = tp[key] / (tp[key] + fp[key])
        recall = tp[key] / (tp[key] + fn[key])
        assert precision >= 0.99 and recall >= 0.99, (key, precision, recall)
    # Types the corpus does not label must not fire on it either (look-alikes included).
    assert sum(fp[key] for key in fp if key not in COVERED) == 0, fp
