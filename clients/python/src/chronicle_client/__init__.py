"""Python client for Chronicle, the daemon that keeps AI-chat sessions.

    from chronicle_client import Client
    with Client() as c:
        c.append("/home/me/src/app", "Why does login fail?")
        for m in c.messages("/home/me/src/app"):
            print(m.id, m.content)

``chronicle_client.pb`` holds the generated message types (``pb.Message``,
``pb.Role``, ``pb.EventKind``...); ``Client.stub`` the generated stub.
"""

from ._client import AUTHORITY, MAX_MESSAGE_BYTES, Client, Mutations, channel_options, role_value
from ._errors import (
    AlreadyExists,
    ChronicleError,
    Conflict,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)
from ._pb import chronicle_pb2 as pb
from ._pb.chronicle_pb2_grpc import SessionsStub
from ._socket import check_socket, default_socket_path

__all__ = [
    "AUTHORITY",
    "MAX_MESSAGE_BYTES",
    "AlreadyExists",
    "ChronicleError",
    "Client",
    "Conflict",
    "Internal",
    "InvalidArgument",
    "Mutations",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "SessionsStub",
    "Unavailable",
    "channel_options",
    "check_socket",
    "default_socket_path",
    "pb",
    "role_value",
]

__version__ = "0.1.0"
