#!/usr/bin/env python3
"""Checks our scalar dequantization against the reference Python implementation of ggml's
formats (`gguf.quants.dequantize`, from the PyPI `gguf` package maintained with llama.cpp).

For every model in the cache (`$WASM_CHORD_MODELS`, else ~/.cache/wasm-chord/models) and one
tensor of every type the file holds, runs our `dequant_dump` example on it and requires the
f32 values to be bit-for-bit equal. Prints one line per tensor; exits 1 on any mismatch, 2 on
usage or setup errors.

    cargo build --release -p wasm-chord-core --example dequant_dump
    pip install gguf numpy
    python3 test/dequant-vs-gguf.py $CARGO_TARGET_DIR/release/examples/dequant_dump [model.gguf ...]
"""

import os
import subprocess
import sys
from pathlib import Path

USAGE = "usage: dequant-vs-gguf.py <path/to/dequant_dump> [model.gguf ...]"


def models_dir() -> Path:
    env = os.environ.get("WASM_CHORD_MODELS")
    return Path(env) if env else Path.home() / ".cache" / "wasm-chord" / "models"


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        import numpy as np
        from gguf import GGUFReader
        from gguf.quants import dequantize
    except ImportError as e:
        print(
            f"dequant-vs-gguf: the Python module '{e.name}' is missing; "
            "install it with `pip install gguf numpy`",
            file=sys.stderr,
        )
        return 2

    dump = Path(argv[1])
    if not (dump.is_file() and os.access(dump, os.X_OK)):
        print(
            f"dequant-vs-gguf: {dump} is not an executable; build it with "
            "`cargo build --release -p wasm-chord-core --example dequant_dump`",
            file=sys.stderr,
        )
        return 2
    if len(argv) > 2:
        models = [Path(p) for p in argv[2:]]
    else:
        d = models_dir()
        models = sorted(d.glob("*.gguf")) if d.is_dir() else []
        if not models:
            print(
                f"dequant-vs-gguf: no .gguf files in {d}: run `node test/fetch-models.mjs`",
                file=sys.stderr,
            )
            return 2

    checked = failed = 0
    for path in models:
        print(f"{path.name}")
        reader = GGUFReader(path)
        # The first tensor of each type, in file order.
        first = {}
        for t in reader.tensors:
            first.setdefault(t.tensor_type.name, t)
        for ty, t in first.items():
            ref = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
            run = subprocess.run([str(dump), str(path), t.name], capture_output=True)
            checked += 1
            if run.returncode != 0:
                failed += 1
                err = run.stderr.decode(errors="replace").strip().splitlines()
                print(f"  FAIL {ty:6} {t.name:32} dequant_dump exited {run.returncode}: "
                      f"{err[-1] if err else ''}")
                continue
            ours = np.frombuffer(run.stdout, dtype="<f4")
            if ours.size != ref.size:
                failed += 1
                print(f"  FAIL {ty:6} {t.name:32} {ours.size} values, expected {ref.size}")
                continue
            # Bit-for-bit, so -0.0 vs 0.0 and NaN payloads count too.
            same = np.array_equal(ours.view(np.uint32), ref.view(np.uint32))
            diff = float(np.max(np.abs(ours.astype(np.float64) - ref))) if ref.size else 0.0
            status = "ok  " if same else "FAIL"
            failed += not same
            print(f"  {status} {ty:6} {t.name:32} n={ref.size:<10} max|diff|={diff:.3g}")

    print(f"{checked - failed}/{checked} tensors bit-identical")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
