"""Tests of getting logs into Cloud Discovery: console, API, log collector, demo."""
