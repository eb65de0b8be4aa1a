#!/usr/bin/env bash
# The wasm module's Rust tests (wasm/tests/*.rs: the SIMD128 kernels against their scalar
# twins) in Node, under wasm-bindgen-test, with the shipped module's flags (+simd128; profile
# wasm-test: release without LTO). Extra arguments go to cargo test (`--test simd128`).
# Toolchain (shared/TOOLCHAIN.md): rustup's wasm32 target when installed, else Debian's
# rustc-web with -Zbuild-std (a cold std build takes minutes); wasm-bindgen-test-runner from
# `cargo install wasm-bindgen-cli --version =0.2.130`. Build dir as scripts/build-wasm.mjs:
# $WASM_CHORD_WASM_TARGET_DIR, else $CARGO_TARGET_DIR-web, else ~/.cache/wasm-chord/target-web.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target=wasm32-unknown-unknown
runner="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER:-wasm-bindgen-test-runner}"
if ! command -v "$runner" >/dev/null; then
  echo "wasm-chord: $runner not found: cargo install wasm-bindgen-cli --version =0.2.130" >&2
  exit 1
fi
if [ -n "${WASM_CHORD_WASM_TARGET_DIR:-}" ]; then
  target_dir="$WASM_CHORD_WASM_TARGET_DIR"
elif [ -n "${CARGO_TARGET_DIR:-}" ]; then
  target_dir="$CARGO_TARGET_DIR-web"
else
  target_dir="$HOME/.cache/wasm-chord/target-web"
fi
export CARGO_TARGET_DIR="$target_dir"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="$runner"
export RUSTFLAGS="-C target-feature=+simd128"

args=(test -p wasm-chord-wasm --target "$target" --profile wasm-test)
if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  cargo "${args[@]}" "$@"
elif [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ]; then
  RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    /usr/bin/cargo "${args[@]}" -Zbuild-std=std,panic_abort "$@"
else
  echo "wasm-chord: no wasm32 toolchain: \`rustup target add $target\`, or on Debian" \
    "\`apt-get install rustc-web cargo-web rust-web-src\` (shared/TOOLCHAIN.md)" >&2
  exit 1
fi
