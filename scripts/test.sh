#!/usr/bin/env bash
# The test command (`npm test`): runs each step in order and stops at the first failure.
# Add a step by adding a `step` line and its command below.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }

step "Models: fetch into the cache if missing (no-op when present and verified)"
node test/fetch-models.mjs

step "Rust core: unit tests, integration tests (tests/main.rs), examples build"
cargo test -p wasm-chord-core

step "all test steps passed"
