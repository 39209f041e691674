"""Guards on pinned dependencies (see pyproject.toml for why each pin exists)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # imports Prefect's server in a process


def test_prefect_server_imports_with_the_pinned_fastapi():
    # fastapi >= 0.155 breaks `prefect.server.api.server` (Body(min_items=...)); the pin
    # in pyproject.toml keeps it importable. An upgrade that breaks it fails here.
    code = "import prefect.server.api.server, fastapi; print(fastapi.__version__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                                 "PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert result.returncode == 0, result.stderr[-2000:]
    major, minor = (int(x) for x in result.stdout.strip().split(".")[:2])
    assert (major, minor) < (0, 155)
