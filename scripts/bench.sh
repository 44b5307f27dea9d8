#!/usr/bin/env bash
# The benchmark: builds chronicled and the bench in release, then runs them
# side by side with the fsync floor, AiderDesk's JSON rewrite and SQLite.
# Arguments go to chronicle-bench (--quick for a short run, --json PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin chronicled --bin chronicle-bench
exec target/release/chronicle-bench "$@"
