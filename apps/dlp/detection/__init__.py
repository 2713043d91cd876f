"""DLP detection engine: built-in sensitive information types, validators and the scanner.

Pure Python (no models, no database): `engine.Engine` scans text and returns, per type, a
count, a confidence and a few digit-masked matches. Storage, policies and ICAP come later.
"""
