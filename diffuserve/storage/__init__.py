"""Persistence: SQL tables and repositories (rows never leave this package) and the asset blob store."""
