"""Where the daemon's socket is, and whether it is safe to talk to.

The rule is the CLI's: ``$CHRONICLE_SOCKET``, else
``$XDG_RUNTIME_DIR/chronicle/chronicle.sock``, else on macOS
``$TMPDIR/chronicle-$UID/chronicle.sock``, else
``/tmp/chronicle-$UID/chronicle.sock``.

Before a byte is sent, :func:`check_socket` makes sure the daemon is the
user's own: the socket's directory must belong to this uid and be writable
by nobody else, the socket file must belong to this uid, and the process
listening on it must run as this uid (SO_PEERCRED on Linux,
LOCAL_PEERCRED on macOS, read from a probe connection that is closed
without writing anything). Otherwise another user could stand up a fake
daemon in a shared ``/tmp`` and read every message sent to it.
"""

from __future__ import annotations

import errno
import os
import socket as _socket
import stat
import struct
import sys
from typing import Optional, Union

from ._errors import PermissionDenied, Unavailable

PathLike = Union[str, "os.PathLike[str]"]

SOCKET_ENV = "CHRONICLE_SOCKET"


def default_socket_path() -> str:
    """The socket every Chronicle program uses unless told otherwise."""
    explicit = os.environ.get(SOCKET_ENV)
    if explicit:
        return explicit
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "chronicle", "chronicle.sock")
    uid = os.getuid()
    if sys.platform == "darwin":
        tmp = os.environ.get("TMPDIR")
        if tmp and os.path.isabs(tmp):
            return os.path.join(tmp, f"chronicle-{uid}", "chronicle.sock")
    return f"/tmp/chronicle-{uid}/chronicle.sock"


def _refuse(path: str, what: str, owner: int) -> PermissionDenied:
    return PermissionDenied(
        f"refusing the Chronicle socket {path}: {what} belongs to uid {owner}, "
        f"not to you (uid {os.getuid()}), so another user's program could read what you send"
    )


def _peer_uid(sock: _socket.socket) -> Optional[int]:
    """The uid of the process listening on a connected Unix socket, where
    the platform tells; None where it does not."""
    if sys.platform.startswith("linux"):
        option = getattr(_socket, "SO_PEERCRED", 17)
        raw = sock.getsockopt(_socket.SOL_SOCKET, option, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", raw)
        return int(uid)
    if sys.platform == "darwin":  # not tried: no macOS here
        sol_local, local_peercred = 0, 0x001
        raw = sock.getsockopt(sol_local, local_peercred, struct.calcsize("IIh16I") + 8)
        _version, uid = struct.unpack_from("II", raw)
        return int(uid)
    return None


def check_socket(path: str) -> None:
    """Raises PermissionDenied when the socket at ``path`` is not provably
    this user's, Unavailable when nothing listens there. Sends nothing."""
    uid = os.getuid()
    directory = os.path.dirname(os.path.abspath(path))
    try:
        dir_stat = os.stat(directory)
    except FileNotFoundError:
        raise Unavailable(
            f"no Chronicle daemon is listening on {path} (its directory {directory} does not exist) — "
            "start one with `chronicle daemon start`"
        ) from None
    if dir_stat.st_uid != uid:
        raise _refuse(path, f"its directory {directory}", dir_stat.st_uid)
    if dir_stat.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionDenied(
            f"refusing the Chronicle socket {path}: its directory {directory} is writable by "
            f"other users (mode {stat.S_IMODE(dir_stat.st_mode):04o}); make it 0700"
        )
    try:
        sock_stat = os.lstat(path)
    except FileNotFoundError:
        raise Unavailable(
            f"no Chronicle daemon is listening on {path} — start one with `chronicle daemon start`"
        ) from None
    if not stat.S_ISSOCK(sock_stat.st_mode):
        raise Unavailable(f"{path} is not a socket — is CHRONICLE_SOCKET right?")
    if sock_stat.st_uid != uid:
        raise _refuse(path, "the socket", sock_stat.st_uid)
    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        probe.settimeout(5.0)
        try:
            probe.connect(path)
        except OSError as error:
            if error.errno in (errno.ECONNREFUSED, errno.ENOENT):
                raise Unavailable(
                    f"no Chronicle daemon is listening on {path} — start one with `chronicle daemon start`"
                ) from None
            if error.errno == errno.EACCES:
                raise PermissionDenied(f"permission denied on {path}: the daemon there belongs to another user") from None
            raise Unavailable(f"could not connect to the Chronicle daemon on {path}: {error}") from None
        peer = _peer_uid(probe)
        if peer is not None and peer != uid:
            raise _refuse(path, "the daemon listening on it", peer)
    finally:
        probe.close()
