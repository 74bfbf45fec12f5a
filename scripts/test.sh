#!/usr/bin/env bash
# The whole test suite: format, lints, every test. What CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
