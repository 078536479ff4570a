"""Shared spine of Hotline: settings, database, auth, errors, clock, app and CLI."""
