"""Tiny seeded models and synthetic data for tests."""
