//! The `chronicled` binary's own flags. Beyond checking them, this test
//! makes `cargo test --workspace` build the binary the end-to-end tests run.

use std::process::Command;

#[test]
fn version_names_the_crate_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_chronicled"))
        .arg("--version")
        .output()
        .expect("run chronicled");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim(), format!("chronicled {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_chronicled"))
        .arg("--no-such-flag")
        .output()
        .expect("run chronicled");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
}

#[test]
fn a_page_cache_of_no_size_is_refused_with_the_range_allowed() {
    let out = Command::new(env!("CARGO_BIN_EXE_chronicled"))
        .args(["--cache-mib", "0"])
        .output()
        .expect("run chronicled");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--cache-mib") && stderr.contains("1..=65536"),
        "{stderr}"
    );
}
