"""Triage: normalise what the caller said, extract facts, chain required fields, diagnose."""
