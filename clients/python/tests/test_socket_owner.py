"""A socket that is not provably the user's own is refused before a byte
is sent: another user could otherwise stand up a fake daemon in a shared
/tmp and read everything. The fake daemons here run as uid 65534 (nobody)
and count the bytes they receive; the tests need root to start them, and
fail rather than skip when CI=true."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from chronicle_client import Client, PermissionDenied, check_socket

from conftest import require_root

NOBODY = 65534
HELPER = Path(__file__).resolve().parent / "foreign_server.py"


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory other users can traverse (pytest's own are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="chronicle-foreign-"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_foreign(sock: Path, when: str) -> "subprocess.Popen[str]":
    server = subprocess.Popen(
        [sys.executable, str(HELPER), str(sock), str(NOBODY), when],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if line.strip() != "ready":
        server.kill()
        raise AssertionError(f"the fake daemon did not start: {line}{server.communicate()[1]}")
    return server


def finish(server: "subprocess.Popen[str]") -> Tuple[int, int]:
    """(connections accepted, bytes received) by the fake daemon."""
    out, err = server.communicate("done\n", timeout=10)
    fields = dict(item.split("=") for item in out.split())
    return int(fields["accepted"]), int(fields["received"])


def test_a_directory_owned_by_another_user_is_refused_naming_path_and_owner(shared_dir: Path) -> None:
    require_root("starting a fake daemon as uid 65534")
    run = shared_dir / "run"
    run.mkdir(mode=0o700)
    os.chown(run, NOBODY, NOBODY)
    sock = run / "chronicle.sock"
    server = start_foreign(sock, "before-bind")
    try:
        with pytest.raises(PermissionDenied) as refused:
            Client(socket=sock)
    finally:
        accepted, received = finish(server)
    message = refused.value.message
    assert str(sock) in message and f"uid {NOBODY}" in message, message
    assert (accepted, received) == (0, 0), "not even a probe connection was made"


def test_a_daemon_running_as_another_user_is_refused_by_its_peer_credentials(shared_dir: Path) -> None:
    require_root("starting a fake daemon as uid 65534")
    # Directory and socket file are ours; only the listening process is not.
    run = shared_dir / "run"
    run.mkdir(mode=0o700)
    sock = run / "chronicle.sock"
    server = start_foreign(sock, "after-bind")
    try:
        assert os.stat(sock).st_uid == os.getuid()
        with pytest.raises(PermissionDenied) as refused:
            Client(socket=sock)
    finally:
        accepted, received = finish(server)
    message = refused.value.message
    assert str(sock) in message and f"uid {NOBODY}" in message, message
    assert accepted == 1, "the probe connected, to read SO_PEERCRED"
    assert received == 0, "and sent nothing"


def test_a_socket_file_owned_by_another_user_is_refused(shared_dir: Path) -> None:
    require_root("chown to uid 65534")
    run = shared_dir / "run"
    run.mkdir(mode=0o700)
    sock = run / "chronicle.sock"
    server = start_foreign(sock, "after-bind")
    try:
        os.chown(sock, NOBODY, NOBODY, follow_symlinks=False)
        with pytest.raises(PermissionDenied, match=f"the socket belongs to uid {NOBODY}"):
            check_socket(str(sock))
    finally:
        accepted, received = finish(server)
    assert (accepted, received) == (0, 0)


def test_a_directory_others_can_write_to_is_refused(daemon_like_dir: Path) -> None:
    os.chmod(daemon_like_dir, 0o777)
    with pytest.raises(PermissionDenied) as refused:
        Client(socket=daemon_like_dir / "chronicle.sock")
    assert "0777" in refused.value.message and str(daemon_like_dir) in refused.value.message
    os.chmod(daemon_like_dir, 0o720)
    with pytest.raises(PermissionDenied):
        Client(socket=daemon_like_dir / "chronicle.sock")


@pytest.fixture
def daemon_like_dir(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o022 == 0
    return path
