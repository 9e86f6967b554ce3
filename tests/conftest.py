"""Test configuration shared by all test modules."""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# In CI every property test uses the same examples (no flaky runs); locally
# hypothesis explores new examples on each run and remembers failures.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
