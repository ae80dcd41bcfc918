"""auracodec's pytest plugin (entry point ``pytest11``).

It only marks the conformance suites for pytest's assertion rewriting (their
checks fail with the rule they break; a bare ``assert`` there would still show
the values involved). It adds no
option, no header line and no hook, and imports neither the suites nor
Hypothesis: a test run that does not use the suite does not notice it.
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite(
    "auracodec.conformance.suite",
    "auracodec.conformance.context",
)
