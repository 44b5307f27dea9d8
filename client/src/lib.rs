//! The one typed async client every Rust frontend of Chronicle uses (the
//! `chronicle` CLI, the desktop app, the benchmark and the end-to-end
//! tests), and the rules every Chronicle program must agree on.
//!
//! - [`Client`] dials the daemon's Unix socket once, checks that the daemon
//!   listening there is the user's own before sending a byte, and offers
//!   one method per call, taking and returning domain values. Paged reads
//!   come back through [`Pages`]. Every failure is an [`Error`] whose
//!   [`ErrorKind`] tells a frontend how to show it (a CLI exit code, a
//!   toast), and whose text names the thing and the fix. [`Mutations`]
//!   carries many working-session mutations over one `Mutate` stream.
//! - [`daemon`] starts a detached daemon when none answers, and stops one.
//! - [`paths`] holds the default socket and data directory and the rule
//!   that picks the project a directory means; [`text`], [`time`] and
//!   [`fs`] are the small helpers every frontend shows or writes the same
//!   way.
//!
//! The generated API lives in `chronicle-proto` and is re-exported as
//! [`v1`]; the raw stub stays reachable through [`Client::stub`] for
//! anything this crate does not wrap.

mod client;
mod connect;
pub mod daemon;
mod error;
pub mod fs;
mod mutations;
mod pages;
pub mod paths;
pub mod text;
pub mod time;

pub use chronicle_proto::{FILE_DESCRIPTOR_SET, v1};
pub use client::{Client, VERSION_HEADER};
pub use connect::{Stub, channel};
pub use error::{Error, ErrorKind};
pub use mutations::Mutations;
pub use pages::{Pages, Session};
