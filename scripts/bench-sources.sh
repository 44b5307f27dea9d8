#!/usr/bin/env bash
# Import throughput, peak daemon RSS and follow latency for other agents'
# files (docs/BENCHMARKS.md): builds chronicled and the bench in release,
# then runs it. CHRONICLE_BENCH_SOURCE_MB=1024 for the 1 GB run; --quick
# for 20 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin chronicled --bin chronicle-bench-sources
exec target/release/chronicle-bench-sources "$@"
