#!/usr/bin/env bash
# Runs every test suite once: Rust (unit, end-to-end, model-based), the Python SDK, the Node SDK
# and the MCP client tests (Python `mcp`, npm `@modelcontextprotocol/sdk`) against the binary
# built here. Needs: a Rust toolchain, git, python3 (3.10+), node (20.19+) with npm, and the Go
# `age` CLI for the interop tests (`apt-get install age`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export GIT_VAULT_BIN="$root/target/debug/git-vault"

step() { printf '\n=== %s ===\n' "$*"; }

step "build"
cargo build --locked

step "Rust tests"
cargo test --locked --no-fail-fast

step "Python SDK and MCP client (Python)"
python3 -m venv sdks/python/.venv
sdks/python/.venv/bin/pip install --quiet --disable-pip-version-check "./sdks/python[test]" -r tests/mcp/python/requirements.txt
sdks/python/.venv/bin/python -m pytest sdks/python/tests tests/mcp/python -q

step "Node SDK"
npm --prefix sdks/node ci --no-audit --no-fund
npm --prefix sdks/node test

step "MCP client (Node)"
npm --prefix tests/mcp/node ci --no-audit --no-fund
npm --prefix tests/mcp/node test

step "all suites passed"
