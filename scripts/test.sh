#!/usr/bin/env bash
# Runs every test of the repository on a fresh machine (Rust, Node/npm and Python preinstalled).
# Installs what it needs itself: the pinned solc-js and the contract test tools from npm.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== contracts: install pinned solc-js, check artifacts against sources, run contract tests"
(cd contracts && npm ci --no-audit --no-fund --loglevel=error)
(cd contracts && node scripts/compile.js --check)
(cd contracts && node --test scripts/)

echo "== end-to-end clients: install pinned cast (npm) for tests/"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

echo "== rust: format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== rust: tests (genesis vectors read ../shared/fixtures unless OPAL_FIXTURES is set)"
cargo test --workspace --locked
