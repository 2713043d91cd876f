"""Every built-in detection is registered, described and tunable within bounds."""

from __future__ import annotations

import pytest

from apps.alerts.detectors import MODULES, all_detectors
from apps.alerts.models import Category, Severity

DETECTORS = all_detectors()


def test_every_module_registers_its_detection():
    assert set(DETECTORS) == set(MODULES)


@pytest.mark.parametrize("key", sorted(DETECTORS))
def test_metadata_and_defaults(key):
    detector = DETECTORS[key]
    assert detector.name and detector.description and detector.tactic
    assert detector.category in Category.values and detector.severity in Severity.values
    cleaned, errors = detector.clean_options(detector.defaults())
    assert errors == {} and cleaned == detector.defaults()
    for option in detector.options:
        assert option.label
        if option.kind == "int":
            assert option.minimum is not None and option.maximum is not None
            assert option.minimum <= option.default <= option.maximum


@pytest.mark.parametrize("key", sorted(DETECTORS))
def test_out_of_bounds_tuning_is_refused_with_a_reason(key):
    detector = DETECTORS[key]
    for option in detector.options:
        if option.kind == "int":
            _, errors = detector.clean_options({option.name: option.maximum + 1})
            assert errors == {option.name: f"must be at most {option.maximum}"}
        if option.kind == "choice":
            _, errors = detector.clean_options({option.name: "extreme"})
            assert option.name in errors
    _, errors = detector.clean_options({"no_such_option": 1})
    assert "no_such_option" in errors


def test_names_differ_from_the_policy_templates():
    """Policy names are unique per tenant: a detection's policy row must not take a name an
    admin gets from a template."""
    from apps.alerts.policy_templates import TEMPLATES

    assert {d.name for d in DETECTORS.values()}.isdisjoint({t.name for t in TEMPLATES})
