//! A deadline for the HTTP/2 handshake of each connection. A peer that
//! connects and never sends the client preface and its first frame would
//! otherwise hold a descriptor (and hyper's connection state) for as long
//! as it likes; tonic's server has no such bound. Once the handshake bytes
//! have arrived the connection is an ordinary one, with no deadline.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tonic::transport::server::{Connected, UdsConnectInfo};

/// The HTTP/2 client preface (24 bytes) and the header of the SETTINGS
/// frame that must follow it (9 bytes): what a client sends first.
const HANDSHAKE_BYTES: usize = 24 + 9;

/// A connection that fails its reads if the handshake bytes have not all
/// arrived before the deadline, so the server closes it.
pub struct HandshakeDeadline {
    stream: UnixStream,
    /// Until the handshake is complete; `None` afterwards.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    received: usize,
}

impl HandshakeDeadline {
    pub fn new(stream: UnixStream, timeout: Duration) -> Self {
        HandshakeDeadline {
            stream,
            deadline: Some(Box::pin(tokio::time::sleep(timeout))),
            received: 0,
        }
    }
}

impl Connected for HandshakeDeadline {
    type ConnectInfo = UdsConnectInfo;

    fn connect_info(&self) -> UdsConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for HandshakeDeadline {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Some(deadline) = this.deadline.as_mut() {
            this.received += buf.filled().len() - before;
            if this.received >= HANDSHAKE_BYTES {
                this.deadline = None;
            } else if read.is_pending() && deadline.as_mut().poll(cx).is_ready() {
                tracing::debug!(
                    received = this.received,
                    "closing a connection that never completed its handshake"
                );
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the HTTP/2 handshake did not complete in time",
                )));
            }
        }
        read
    }
}

impl AsyncWrite for HandshakeDeadline {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
