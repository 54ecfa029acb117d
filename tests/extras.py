"""Tests that need a package from an extra skip, naming the extra, where it is not installed.

``[dev]`` brings every package the default test run needs, so in CI (which installs as the
README says) nothing here skips.
"""

from __future__ import annotations

import types

import pytest


def needs(module: str, extra: str) -> types.ModuleType:
    """Import ``module``, or skip the test with a reason naming ``extra``."""
    return pytest.importorskip(module, reason=f"needs {module}, from the {extra!r} extra "
                                              f"(pip install -e '.[{extra}]'; '.[dev]' brings it too)")
