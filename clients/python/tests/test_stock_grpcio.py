"""What a stock grpcio client needs: `grpc.default_authority` set to
"localhost". Without it grpc's C core sends the socket path as the HTTP/2
:authority, which the daemon's HTTP/2 layer (h2) rejects with RST_STREAM
PROTOCOL_ERROR on every call. README's "Any gRPC client" section says so;
if the test without the setting ever starts passing, update README."""

from __future__ import annotations

import grpc
import pytest

# The stock generated stubs, as a user would generate them with protoc;
# no chronicle_client.Client involved.
from chronicle_client._pb import chronicle_pb2 as pb
from chronicle_client._pb.chronicle_pb2_grpc import SessionsStub

from conftest import Daemon


def test_stock_grpcio_with_default_authority_localhost_makes_every_kind_of_call(daemon: Daemon, tmp_path) -> None:
    project = str(tmp_path)
    with grpc.insecure_channel(
        "unix:" + daemon.socket, options=[("grpc.default_authority", "localhost")]
    ) as channel:
        stub = SessionsStub(channel)
        assert stub.GetStatus(pb.GetStatusRequest(), timeout=10).socket == daemon.socket
        ack = stub.AppendMessage(
            pb.AppendMessageRequest(project=project, message=pb.Message(role=pb.ROLE_USER, content="hi")), timeout=10
        )
        assert ack.revision == 1
        watch = stub.Watch(pb.WatchRequest(project=project), timeout=10)
        assert next(watch).kind == pb.EVENT_KIND_SNAPSHOT
        watch.cancel()
        chunks = list(stub.ExportMarkdown(pb.ExportRequest(project=project), timeout=10))
        assert b"hi" in b"".join(c.data for c in chunks)


def test_stock_grpcio_without_the_setting_fails_every_call(daemon: Daemon) -> None:
    with grpc.insecure_channel("unix:" + daemon.socket) as channel:
        stub = SessionsStub(channel)
        with pytest.raises(grpc.RpcError) as failed:
            stub.GetStatus(pb.GetStatusRequest(), timeout=10)
            pytest.fail(
                "grpcio now works without grpc.default_authority: update README's "
                "'Any gRPC client' section and this test"
            )
    error = failed.value
    assert error.code() == grpc.StatusCode.INTERNAL, error
    assert "RST_STREAM" in error.details(), error.details()
