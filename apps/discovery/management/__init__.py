"""Management commands of Cloud Discovery."""
