//! The one translation of store errors into gRPC statuses: each
//! `StoreError` gets its code, the message is bounded so it always fits a
//! trailer, and every failed call is logged as one line (RPC and code,
//! never message content). Handlers build their own refusals through
//! [`invalid`], so those are logged the same way.

use tonic::{Code, Status};

use crate::store::{StoreError, validate};

/// Maps a store error to its status code and logs the failed call: one
/// line, with the RPC and the code, never message content.
pub(crate) fn fail(rpc: &'static str, err: StoreError) -> Status {
    let code = match &err {
        StoreError::InvalidArgument(_) => Code::InvalidArgument,
        StoreError::NotFound(_) => Code::NotFound,
        StoreError::AlreadyExists(_) => Code::AlreadyExists,
        StoreError::Conflict(_) => Code::FailedPrecondition,
        StoreError::LimitExceeded(_) => Code::ResourceExhausted,
        StoreError::ShuttingDown => Code::Unavailable,
        StoreError::ChainBroken => Code::Aborted,
        StoreError::DiskFull => Code::ResourceExhausted,
        StoreError::ImportFailed(_) => Code::FailedPrecondition,
        StoreError::Corrupt { .. } => Code::DataLoss,
        StoreError::Storage(_) | StoreError::SchemaTooNew { .. } | StoreError::Open { .. } => Code::Internal,
    };
    // Bounded, so that the status reaches the client whatever it quotes.
    let message = validate::bounded_message(err.to_string());
    if matches!(code, Code::Internal | Code::DataLoss) {
        tracing::error!(rpc, ?code, "{message}");
    } else {
        tracing::warn!(rpc, ?code, "{message}");
    }
    Status::new(code, message)
}

/// A refusal of the request's shape, as `INVALID_ARGUMENT`.
pub(crate) fn invalid(rpc: &'static str, message: impl Into<String>) -> Status {
    fail(rpc, StoreError::InvalidArgument(message.into()))
}

/// An export or bundle stream that failed after it started: logged once
/// and sent as `INTERNAL` (bounded), unless the client already left.
pub(crate) fn stream_failure(rpc: &'static str, message: String) -> Status {
    let message = validate::bounded_message(message);
    tracing::error!(rpc, code = ?Code::Internal, "{message}");
    Status::internal(message)
}
