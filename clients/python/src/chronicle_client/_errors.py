"""Errors: one exception per gRPC status the daemon uses, each carrying
the daemon's own sentence (which names the thing and the fix)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Type

import grpc


class ChronicleError(Exception):
    """Base of every error this package raises.

    ``message`` is the daemon's sentence (or ours, for errors raised before
    a call was made); ``code`` the gRPC status code, when there was one.
    ``acknowledged``: when :meth:`Mutations.send_all` raises, the
    acknowledgements of the mutations before the refused one.
    """

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.acknowledged: List[Any] = []


class InvalidArgument(ChronicleError):
    """INVALID_ARGUMENT: bad name, relative project path, oversize content..."""


class NotFound(ChronicleError):
    """NOT_FOUND: no such saved session, message or trash entry."""


class AlreadyExists(ChronicleError):
    """ALREADY_EXISTS: saving as new under a name that is taken."""


class Conflict(ChronicleError):
    """FAILED_PRECONDITION: ``expected_revision`` was given and the working
    session moved on; the message names the current revision. Re-read and
    try again."""


class ResourceExhausted(ChronicleError):
    """RESOURCE_EXHAUSTED: a configured limit, or the disk, is full."""


class PermissionDenied(ChronicleError):
    """PERMISSION_DENIED, or a socket that belongs to another user (refused
    by this package before a byte is sent)."""


class Unavailable(ChronicleError):
    """UNAVAILABLE: no daemon listens on the socket, or it is shutting down."""


class Internal(ChronicleError):
    """INTERNAL: a storage failure in the daemon; nothing was changed."""


_BY_CODE: Dict[grpc.StatusCode, Type[ChronicleError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: Conflict,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.INTERNAL: Internal,
}


def from_rpc_error(error: grpc.RpcError, socket: str) -> ChronicleError:
    """The exception for a failed call."""
    code: Optional[grpc.StatusCode] = error.code() if isinstance(error, grpc.Call) else None
    details = error.details() if isinstance(error, grpc.Call) else None
    message = details or str(error)
    if code == grpc.StatusCode.UNAVAILABLE and "shutting down" not in message:
        message = (
            f"the Chronicle daemon on {socket} did not answer ({message}) — "
            "start one with `chronicle daemon start`"
        )
    cls = _BY_CODE.get(code, ChronicleError) if code is not None else ChronicleError
    return cls(message, code)
