"""Shared fixtures: the tiny thinker and synthetic clips (tests/conftest_models.py)."""

from conftest_models import *  # noqa: F403
