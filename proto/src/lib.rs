//! Chronicle's API and nothing else: the messages and services generated
//! from `chronicle/v1/chronicle.proto` (the contract every client and the
//! daemon share, only ever added to) and its encoded descriptor set for
//! the reflection service. How to reach the daemon lives in
//! `chronicle-client`.

/// Generated messages and services of `chronicle.v1`.
#[allow(clippy::all, missing_docs, rust_2018_idioms)]
pub mod v1 {
    tonic::include_proto!("chronicle.v1");
}

pub use v1::sessions_client::SessionsClient;

/// The encoded `FileDescriptorSet` of the API, for the reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/chronicle_descriptor.bin"));
