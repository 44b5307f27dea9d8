"""The typed client: one method per thing a frontend does, the generated
stub (``Client.stub``) for everything else."""

from __future__ import annotations

import os
import queue
import threading
from typing import Any, Callable, Iterable, Iterator, List, Optional, Set, TypeVar, Union

import grpc

from ._errors import ChronicleError, Unavailable, from_rpc_error
from ._pb import chronicle_pb2 as pb
from ._pb.chronicle_pb2_grpc import SessionsStub
from ._socket import PathLike, check_socket, default_socket_path

T = TypeVar("T")

#: Largest message the client accepts: a page may carry a message of the
#: daemon's largest content (8 MiB) and more; the Rust clients use the same.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

#: What the client sends as HTTP/2 ``:authority``. grpc's C core would send
#: the socket path, which the daemon's HTTP/2 layer (h2) rejects.
AUTHORITY = "localhost"

_ROLES = {
    "user": pb.ROLE_USER,
    "assistant": pb.ROLE_ASSISTANT,
    "tool": pb.ROLE_TOOL,
    "system": pb.ROLE_SYSTEM,
    "command_output": pb.ROLE_COMMAND_OUTPUT,
    "command-output": pb.ROLE_COMMAND_OUTPUT,
    "log": pb.ROLE_LOG,
}

Role = Union[str, int]


def role_value(role: Role) -> int:
    """``"user"``, ``"assistant"``, ``"tool"``, ``"system"``,
    ``"command_output"``, ``"log"``, or a ``pb.Role`` value."""
    if isinstance(role, int):
        return role
    try:
        return _ROLES[role.lower()]
    except KeyError:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(sorted(_ROLES))}") from None


def channel_options() -> List[tuple]:
    """The grpcio channel options every Chronicle client needs."""
    return [
        ("grpc.default_authority", AUTHORITY),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]


class Client:
    """A connection to the user's Chronicle daemon.

    ``Client()`` uses the socket the CLI uses (``$CHRONICLE_SOCKET``, else
    the per-user default); ``Client(socket=PATH)`` another. The socket is
    checked to belong to this user before anything is sent (see
    :func:`chronicle_client.check_socket`); a daemon that is not running
    raises :class:`Unavailable` here. Use it as a context manager, or call
    :meth:`close`.

    Projects are absolute paths of project roots; a relative path is made
    absolute against the current directory. ``timeout`` (seconds) bounds
    every unary call; ``None`` waits as long as it takes.
    """

    def __init__(self, socket: Optional[PathLike] = None, *, timeout: Optional[float] = None) -> None:
        path = os.fspath(socket) if socket is not None else default_socket_path()
        self.socket_path: str = os.path.abspath(path)
        check_socket(self.socket_path)
        self.timeout = timeout
        self._channel = grpc.insecure_channel("unix:" + self.socket_path, options=channel_options())
        #: The generated stub, for every RPC this class has no method for.
        self.stub = SessionsStub(self._channel)
        self._lock = threading.Lock()
        self._calls: Set[Any] = set()
        self._closed = False

    # ---- lifetime ----

    def close(self) -> None:
        """Closes the connection; running :meth:`watch` loops end."""
        with self._lock:
            self._closed = True
            calls = list(self._calls)
        for call in calls:
            call.cancel()
        self._channel.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unary(self, method: Callable[..., T], request: Any) -> T:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error, self.socket_path) from None

    # ---- the daemon and projects ----

    def status(self) -> pb.DaemonStatus:
        """Version, pid, socket, data directory and totals of the daemon."""
        return self._unary(self.stub.GetStatus, pb.GetStatusRequest())

    def open_project(self, project: PathLike, *, start_empty: bool = False) -> pb.ProjectState:
        """Registers the project; ``start_empty`` moves a non-empty working
        session to the trash (restorable) instead of keeping it."""
        start = pb.START_MODE_EMPTY if start_empty else pb.START_MODE_LAST
        return self._unary(self.stub.OpenProject, pb.OpenProjectRequest(project=_project(project), start=start))

    def projects(self) -> List[pb.ProjectState]:
        """Every project the daemon knows."""
        return list(self._unary(self.stub.ListProjects, pb.ListProjectsRequest()).projects)

    # ---- the working session ----

    def append(
        self,
        project: PathLike,
        text: str,
        role: Role = "user",
        model: Optional[str] = None,
        *,
        expected_revision: Optional[int] = None,
    ) -> pb.MutationAck:
        """Appends a message to the project's working session; durable when
        this returns. With ``expected_revision`` it fails with
        :class:`Conflict` if anyone else changed the session first."""
        return self.append_message(project, _message(text, role, model), expected_revision=expected_revision)

    def append_message(
        self, project: PathLike, message: pb.Message, *, expected_revision: Optional[int] = None
    ) -> pb.MutationAck:
        """Appends a full ``pb.Message`` (usage, tool call, metadata...)."""
        return self._unary(self.stub.AppendMessage, _append_request(project, message, expected_revision))

    def messages(
        self, project: PathLike, session: Optional[str] = None, *, page_size: int = 0
    ) -> Iterator[pb.Message]:
        """Every message of the working session (or of the saved session
        ``session``), oldest first, read page by page as you iterate."""
        for page in self.pages(project, session, page_size=page_size):
            yield from page.messages

    def pages(
        self, project: PathLike, session: Optional[str] = None, *, page_size: int = 0
    ) -> Iterator[pb.SessionContent]:
        """The pages behind :meth:`messages`, each a ``SessionContent``
        (revision, files and ``total_messages`` included)."""
        root = _project(project)
        after = 0
        while True:
            if session is None:
                page = self._unary(
                    self.stub.GetWorkingSession,
                    pb.GetWorkingSessionRequest(project=root, after_message_id=after, limit=page_size),
                )
            else:
                page = self._unary(
                    self.stub.GetSession,
                    pb.GetSessionRequest(project=root, name=session, after_message_id=after, limit=page_size),
                )
            yield page
            if not page.more or not page.messages:
                return
            after = page.messages[-1].id

    def files(self, project: PathLike, session: Optional[str] = None) -> List[pb.ContextFile]:
        """The context files of the working session (or of ``session``)."""
        page = next(self.pages(project, session, page_size=1))
        return list(page.files)

    # ---- saved sessions ----

    def save(self, project: PathLike, name: str, overwrite: bool = False) -> pb.SessionInfo:
        """Saves the working session as ``name``. A taken name raises
        :class:`AlreadyExists` unless ``overwrite`` (the old version goes
        to the trash)."""
        mode = pb.SAVE_MODE_OVERWRITE if overwrite else pb.SAVE_MODE_CREATE_NEW
        return self._unary(self.stub.SaveSession, pb.SaveSessionRequest(project=_project(project), name=name, mode=mode))

    def load(
        self,
        project: PathLike,
        name: str,
        messages: bool = True,
        files: bool = True,
        *,
        expected_revision: Optional[int] = None,
    ) -> pb.MutationAck:
        """Replaces the working session's messages and/or files with the
        saved session's; what is replaced goes to the trash."""
        request = pb.LoadSessionRequest(project=_project(project), name=name, messages=messages, files=files)
        if expected_revision is not None:
            request.expected_revision = expected_revision
        return self._unary(self.stub.LoadSession, request)

    def sessions(self, project: PathLike) -> List[pb.SessionInfo]:
        """The project's saved sessions, most recently updated first."""
        return list(self._unary(self.stub.ListSessions, pb.ListSessionsRequest(project=_project(project))).sessions)

    def rename(self, project: PathLike, name: str, new_name: str) -> pb.SessionInfo:
        return self._unary(
            self.stub.RenameSession, pb.RenameSessionRequest(project=_project(project), name=name, new_name=new_name)
        )

    def delete(self, project: PathLike, name: str) -> str:
        """Moves a saved session to the trash; returns the trash id."""
        return self._unary(self.stub.DeleteSession, pb.DeleteSessionRequest(project=_project(project), name=name)).trash_id

    def mutations(self) -> "Mutations":
        """Opens a ``Mutate`` stream: working-session mutations one after
        another, each durable when its method returns, for less than a call
        each — for a frontend that writes often. See :class:`Mutations`."""
        return Mutations(self)

    # ---- live updates ----

    def watch(self, project: Optional[PathLike] = None) -> Iterator[pb.Event]:
        """Every change to the project (all projects when None), as it is
        committed: first a SNAPSHOT event with the current revision, then
        one event per mutation. A RESYNC event means events were dropped:
        re-read. Blocks between events; ends when the client is closed."""
        request = pb.WatchRequest(project=_project(project) if project is not None else "")
        with self._lock:
            if self._closed:
                return
            call = self.stub.Watch(request)
            self._calls.add(call)
        try:
            for event in call:
                yield event
        except grpc.RpcError as error:
            if self._closed and isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.CANCELLED:
                return
            raise from_rpc_error(error, self.socket_path) from None
        finally:
            with self._lock:
                self._calls.discard(call)
            call.cancel()


_END = object()


class Mutations:
    """One ``Mutate`` stream (:meth:`Client.mutations`). Each method sends
    one mutation and returns its ``pb.MutationAck`` once it is durable,
    exactly as the call of the same name would. The first mutation the
    daemon refuses ends the stream: it and every later one raise that
    error, while every mutation acknowledged before it stands; open
    another stream to go on. Use it as a context manager, or call
    :meth:`close`."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._requests: "queue.Queue[Any]" = queue.Queue()
        self._ended: Optional[ChronicleError] = None
        with client._lock:
            if client._closed:
                raise ChronicleError("the client is closed — open a new Client")
            self._call = client.stub.Mutate(iter(self._requests.get, _END))
            client._calls.add(self._call)

    def __enter__(self) -> "Mutations":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(
        self,
        project: PathLike,
        text: str,
        role: Role = "user",
        model: Optional[str] = None,
        *,
        expected_revision: Optional[int] = None,
    ) -> pb.MutationAck:
        """As :meth:`Client.append`."""
        return self.append_message(project, _message(text, role, model), expected_revision=expected_revision)

    def append_message(
        self, project: PathLike, message: pb.Message, *, expected_revision: Optional[int] = None
    ) -> pb.MutationAck:
        """As :meth:`Client.append_message`."""
        return self.send(pb.MutateRequest(append_message=_append_request(project, message, expected_revision)))

    def append_to(
        self, project: PathLike, message_id: int, delta: str, *, expected_revision: Optional[int] = None
    ) -> pb.MutationAck:
        """Appends ``delta`` to message ``message_id`` (streamed assistant
        output)."""
        request = pb.AppendToMessageRequest(project=_project(project), message_id=message_id, delta=delta)
        if expected_revision is not None:
            request.expected_revision = expected_revision
        return self.send(pb.MutateRequest(append_to_message=request))

    def send(self, request: pb.MutateRequest) -> pb.MutationAck:
        """Sends any working-session mutation (one field of
        ``pb.MutateRequest`` set) and waits until it is durable."""
        return self.send_all([request])[0]

    def send_all(self, requests: Iterable[pb.MutateRequest]) -> List[pb.MutationAck]:
        """Sends every mutation without waiting for answers in between, then
        returns their acknowledgements, in order. The daemon commits what has
        arrived together (one sync for a burst), each mutation applied only
        if none before it was refused. A refusal raises its error, whose
        ``acknowledged`` attribute lists the acknowledgements before it;
        nothing after it was applied."""
        # Built in full first: an iterable that fails halfway must not
        # leave requests sent whose answers nobody reads.
        burst = list(requests)
        if self._ended is not None:
            raise self._ended
        for request in burst:
            self._requests.put(request)
        acks: List[pb.MutationAck] = []
        try:
            while len(acks) < len(burst):
                acks.append(next(self._call))
            return acks
        except StopIteration:
            error: ChronicleError = Unavailable(
                "the daemon ended the mutation stream without answering — open a new one and send the unanswered mutations again"
            )
        except grpc.RpcError as rpc_error:
            error = from_rpc_error(rpc_error, self._client.socket_path)
        self._end(error)
        error.acknowledged = acks
        raise error

    def close(self) -> None:
        """Ends the stream once every mutation sent is answered."""
        if self._ended is not None:
            return
        self._requests.put(_END)
        try:
            for _ in self._call:
                raise ChronicleError("the daemon answered a mutation that was never sent — the stream is out of step")
        except grpc.RpcError as rpc_error:
            error = from_rpc_error(rpc_error, self._client.socket_path)
            self._end(error)
            raise error from None
        self._end(ChronicleError("the mutation stream is closed — open a new one"))

    def _end(self, error: ChronicleError) -> None:
        self._ended = error
        # The request iterator may still be waiting for a request.
        self._requests.put(_END)
        self._call.cancel()
        with self._client._lock:
            self._client._calls.discard(self._call)


def _message(text: str, role: Role, model: Optional[str]) -> pb.Message:
    return pb.Message(role=role_value(role), content=text, model=model or "")


def _append_request(project: PathLike, message: pb.Message, expected_revision: Optional[int]) -> pb.AppendMessageRequest:
    request = pb.AppendMessageRequest(project=_project(project), message=message)
    if expected_revision is not None:
        request.expected_revision = expected_revision
    return request


def _project(project: PathLike) -> str:
    path = os.fspath(project)
    if not path:
        raise ChronicleError("the project must be a path, not an empty string")
    return os.path.abspath(path)
