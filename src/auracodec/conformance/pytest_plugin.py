"""auracodec's pytest plugin (entry point ``pytest11``).

It enables assertion rewriting for the conformance suite, so a failing check
shows the values involved, and names auracodec's version and plugins in the
test report header.
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("auracodec.conformance.suite")


def pytest_report_header(config: pytest.Config) -> str:
    from auracodec._version import __version__

    return f"auracodec {__version__} conformance suite available"
