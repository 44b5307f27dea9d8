//! The `chronicle` binary's own usage surface, checked without a daemon.
//! Beyond that, this test makes `cargo test --workspace` build the binary
//! the end-to-end tests in `tests/` drive.

use std::process::Command;

fn chronicle(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chronicle"))
        .args(args)
        .env("CHRONICLE_SOCKET", "/nonexistent/chronicle-usage-test.sock")
        .output()
        .expect("run chronicle")
}

#[test]
fn help_documents_the_exit_codes() {
    let out = chronicle(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "0  success",
        "1  operation refused",
        "2  bad usage",
        "3  daemon unavailable",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn an_unknown_verb_is_a_usage_error() {
    let out = chronicle(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_name_the_verbs() {
    let out = chronicle(&["completions", "bash"]);
    assert!(out.status.success());
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("chronicle") && script.contains("export") && script.contains("trash"));
}

#[test]
fn export_needs_a_format() {
    let out = chronicle(&["export"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--markdown"));
}
