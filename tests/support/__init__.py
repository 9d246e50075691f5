"""Shared test support: fixtures and real servers used across the test suite."""
