"""Repositories: queries, not rules."""
