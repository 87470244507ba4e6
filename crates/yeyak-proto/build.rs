//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and hands the
//! descriptors to tonic-prost-build. The encoded descriptor set is written too,
//! so every server can offer gRPC reflection.
use std::{env, fs, path::PathBuf};

use prost::Message as _;

const FILES: &[&str] = &[
    "yeyak/admission/v1/admission.proto",
    "yeyak/identity/v1/identity.proto",
    "yeyak/eligibility/v1/eligibility.proto",
    "yeyak/inventory/v1/inventory.proto",
    "yeyak/reservation/v1/reservation.proto",
    "yeyak/notification/v1/notification.proto",
    "yeyak/events/v1/events.proto",
    "yeyak/keys/v1/keys.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let fds = protox::compile(FILES, [&root])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("yeyak_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds)?;
    Ok(())
}
