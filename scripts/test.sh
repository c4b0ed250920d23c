#!/usr/bin/env bash
# Runs every test of the repository on a fresh machine (Rust, Node/npm and Python preinstalled).
# Installs what it needs itself: the pinned solc-js and the contract test tools from npm.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== contracts: install pinned solc-js, check artifacts against sources, run contract tests"
(cd contracts && npm ci --no-audit --no-fund --loglevel=error)
(cd contracts && node scripts/compile.js --check)
(cd contracts && node --test scripts/)

echo "== end-to-end clients: install pinned cast, anvil, viem, ethers (npm) and web3.py (venv)"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
python3 -m venv tests/e2e/.venv
tests/e2e/.venv/bin/pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt

# No incremental caches: this script builds each profile once, and they would
# add several GB to the target directory of a fresh machine.
export CARGO_INCREMENTAL=0

echo "== rust: format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== rust: tests (genesis vectors read ../shared/fixtures unless OPAL_FIXTURES is set)"
cargo test --workspace --locked

echo "== end-to-end clients against opal node --dev: viem + ethers (node --test), web3.py (pytest)"
# `cargo test` above built the node binary for the integration tests, with the
# same features; `cargo build -p opal` would resolve features anew and rebuild.
export OPAL_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/opal"
if [ ! -x "$OPAL_BIN" ]; then
  cargo build --workspace --bins --locked
fi
e2e_failed=0
node --test tests/e2e/ || e2e_failed=1
tests/e2e/.venv/bin/pytest -p no:cacheprovider tests/e2e/py || e2e_failed=1
echo "target directory: $(du -sh "${CARGO_TARGET_DIR:-$PWD/target}" | cut -f1)"
if [ "$e2e_failed" -ne 0 ]; then
  echo "error: an end-to-end client suite failed" >&2
  exit 1
fi
