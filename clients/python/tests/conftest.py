"""A real daemon for the whole session, in a private temporary directory.

The binaries come from ``$CHRONICLED`` and ``$CHRONICLE_CLI``, else from
the repository's ``target/debug`` (what ``.ci/run`` builds).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from chronicle_client import Client

REPO = Path(__file__).resolve().parents[3]
CHRONICLED = os.environ.get("CHRONICLED") or str(REPO / "target" / "debug" / "chronicled")
CHRONICLE_CLI = os.environ.get("CHRONICLE_CLI") or str(REPO / "target" / "debug" / "chronicle")
STARTUP_TIMEOUT = 30.0


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_root(what: str) -> None:
    """Tests that start a process as another uid need root. Outside CI they
    skip without it; in CI (which runs as root) they fail instead."""
    if os.getuid() == 0:
        return
    if in_ci():
        pytest.fail(f"{what} needs root, and CI=true: this test must run, not skip")
    pytest.skip(f"{what} needs root")


@dataclass
class Daemon:
    socket: str
    root: Path
    process: "subprocess.Popen[bytes]"
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}


def wait_for_socket(path: str, process: "subprocess.Popen[bytes]", log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
            return
        except OSError:
            pass
        finally:
            probe.close()
        if process.poll() is not None:
            raise RuntimeError(f"chronicled exited with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"chronicled did not listen on {path} within {STARTUP_TIMEOUT}s:\n{log.read_text()}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    if not os.access(CHRONICLED, os.X_OK):
        pytest.fail(f"no chronicled at {CHRONICLED}: build it (cargo build) or set CHRONICLED")
    root = tmp_path_factory.mktemp("daemon")
    run = root / "s"
    run.mkdir(mode=0o700)
    os.chmod(run, 0o700)
    sock = str(run / "chronicle.sock")
    log = root / "chronicled.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [CHRONICLED, "--socket", sock, "--data-dir", str(root / "data")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            env=clean_env(),
        )
    try:
        wait_for_socket(sock, process, log)
        yield Daemon(socket=sock, root=root, process=process, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def client(daemon: Daemon) -> Iterator[Client]:
    with Client(socket=daemon.socket) as c:
        yield c


@pytest.fixture
def project(tmp_path: Path) -> str:
    """A fresh project root: every test gets its own working session."""
    path = tmp_path / "project"
    path.mkdir()
    return str(path)
