"""Engines: the places designs run (DuckDB in-process, PostgreSQL embedded or by URL)."""
