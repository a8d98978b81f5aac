"""Shared fixtures.  Reference data live in ``../shared/data`` beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
# compiled kernels not yet in numba's cache are compiled before the fit that needs them (the default, a
# background compilation with the numpy path meanwhile, is tested on its own in test_engines.py)
os.environ.setdefault("SPECFIT_COMPILE", "wait")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """Path inside ``../shared/data``; fails under CI (skips locally) if absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"reference data missing: {path}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def shared_data():
    """Callable returning paths inside ``../shared/data``."""
    return shared_path


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Report the fuzz cases run per reader (tests/test_fuzz_readers.py), whatever the -s/-q options."""
    counts = getattr(config, "specfit_fuzz_counts", None)
    if counts:
        terminalreporter.section("reader fuzz cases")
        for reader, number in sorted(counts.items()):
            terminalreporter.write_line(f"{reader:>12}: {number}")
        terminalreporter.write_line(f"{'total':>12}: {sum(counts.values())}")


def pytest_configure(config):
    """``slow``: tests of a minute or more (issue 22); deselect with ``-m 'not slow'``."""
    config.addinivalue_line("markers", "slow: long-running test (deselect with -m 'not slow')")
