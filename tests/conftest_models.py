"""Session fixtures for the tiny offline thinker and synthetic clips (register from conftest.py:
``pytest_plugins = ["tests.conftest_models"]`` or ``from tests.conftest_models import *``)."""

from __future__ import annotations

import pytest

try:
    from tests import tiny_assets
except ImportError:  # tests/ on sys.path instead of the repository root
    import tiny_assets  # type: ignore[no-redef]


@pytest.fixture(scope="session")
def tiny_thinker_dir():
    """Path of the tiny ``xs`` thinker, built once per session."""
    return tiny_assets.tiny_thinker_dir("xs")


@pytest.fixture()
def tiny_thinker():
    """``(model, processor)``: a fresh CPU copy of the tiny ``xs`` thinker for one test."""
    return tiny_assets.load_tiny_thinker("xs")


@pytest.fixture()
def synthetic_clip(tmp_path):
    """A 6-frame 96×128 JPEG clip of a moving red square, as a `Sample`."""
    return tiny_assets.write_clip(tmp_path / "clip")
