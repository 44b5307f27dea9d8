//! Compiles the API contract with protox (pure Rust, no `protoc` to install)
//! and generates the tonic client and server from the descriptor set.

use std::{env, error::Error, fs, path::PathBuf};

use prost::Message as _;

const PROTO: &str = "chronicle/v1/chronicle.proto";

fn main() -> Result<(), Box<dyn Error>> {
    // Neither protox nor tonic-prost-build tells cargo what they read.
    println!("cargo:rerun-if-changed={PROTO}");
    let descriptors = protox::compile([PROTO], ["."])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    // Served by the reflection service so grpcurl needs no .proto file.
    fs::write(out_dir.join("chronicle_descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
