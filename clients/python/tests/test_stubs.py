"""The committed stubs match proto/chronicle/v1/chronicle.proto."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import in_ci

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "generate_stubs.py"


def test_committed_stubs_are_generated_from_the_current_proto() -> None:
    try:
        import grpc_tools  # noqa: F401
    except ImportError:
        if in_ci():
            pytest.fail("grpcio-tools is missing (requirements-dev.txt)")
        pytest.skip("grpcio-tools is not installed")
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
