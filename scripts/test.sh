#!/usr/bin/env bash
# The test command (`npm test`): runs each step in order and stops at the first failure.
# Add a step by adding a `step` line and its command below.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }

step "Models: fetch into the cache if missing (no-op when present and verified)"
node test/fetch-models.mjs

# One release build serves the tests and the examples (shared/TOOLCHAIN.md: one build per toolchain).
step "Rust core: unit tests, integration tests (tests/main.rs), examples build"
cargo test --release -p wasm-chord-core
# The GPU tests once more in the shape GPUs get (lavapipe, a software adapter, gets 4 rows a
# thread and no folded RMS norm): one row a thread, the norm folded into every product.
step "GPU tests (lavapipe) with the hardware GPUs' decode shape"
WASM_CHORD_GPU_TUNE=rt=1,fuse_norm=4294967295 cargo test --release -p wasm-chord-core --test main -- gpu::
# On a CPU with AVX-VNNI the tile dots take it; the kernel and matmul tests once more without.
WASM_CHORD_NO_VNNI=1 cargo test --release -p wasm-chord-core --test main -- quant::
WASM_CHORD_NO_VNNI=1 cargo test --release -p wasm-chord-core --lib -- matmul
# The kernel tests of wasm/tests natively too: there they check the AVX2 kernels' x86 order.
cargo test --release -p wasm-chord-wasm --test simd128

shared="${WASM_CHORD_SHARED:-../shared}"
models="${WASM_CHORD_MODELS:-$HOME/.cache/wasm-chord/models}"
step "Conformance against llama.cpp: SmolLM2 (shared/refdata/smollm2)"
cargo run --release -q -p wasm-chord-core --example conformance -- \
  --model "$models/SmolLM2-135M-Instruct.Q4_1.gguf" --refdata "$shared/refdata/smollm2"

step "Conformance against llama.cpp: Gemma 3 (shared/refdata/gemma3)"
cargo run --release -q -p wasm-chord-core --example conformance -- \
  --model "$models/gemma-3-270m-q4_k_m.gguf" --refdata "$shared/refdata/gemma3"

step "Dequantization of every tensor type vs the gguf PyPI package (bit-exact)"
if ! python3 -c 'import gguf, numpy' 2>/dev/null; then
  python3 -m pip install --quiet gguf numpy 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages gguf numpy
fi
python3 test/dequant-vs-gguf.py "${CARGO_TARGET_DIR:-target}/release/examples/dequant_dump"

step "Node package: build the addon (cargo, sharing the release build above), node:test API tests"
node node/build-addon.mjs
node --test test/node/

step "Browser: build the wasm module (wasm32 + SIMD128, wasm-bindgen, wasm-opt) into js/browser/wasm/"
node scripts/build-wasm.mjs

if [ -f scripts/test-wasm.sh ]; then
  step "Browser: SIMD128 kernels against their scalar twins (wasm-bindgen-test in Node)"
  bash scripts/test-wasm.sh --test simd128
fi

step "Browser: vite build of the demo app (examples/web)"
(cd examples/web && npm install --no-audit --no-fund --prefer-offline && node ../../node_modules/vite/bin/vite.js build --logLevel warn)

step "Browser: the demo and a packed-tarball Vite app in chromium (playwright-core), cache in OPFS/IndexedDB"
node --test test/browser/

step "Node package: type-check index.d.ts"
if [ -x node_modules/.bin/tsc ]; then
  npm run -s typecheck
else
  echo "skipped: TypeScript is not installed (run npm install)"
fi

step "all test steps passed"
