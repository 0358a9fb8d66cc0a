#!/usr/bin/env python3
"""Runs every backend-test model on hostile inputs and checks Onyx never crashes.

Usage: tools/stress-inputs.py [SUITE_DIR] --onyx .build/release/onyx [--variants 4] [--filter REGEX]

For each case folder (model.onnx + test_data_set_0/input_K.pb), writes
variants of the recorded inputs with the same element types and shapes but
extreme values (NaN, +/-Inf, 0, the type's min and max, huge and tiny
magnitudes, random bits) and runs `onyx run` on them. Exit status 0 (ran) or
1 (refused with a message) is fine; death by a signal, any other status, or a
time-out is a failure. Prints the failures and a summary; exits 1 on any.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper


def variants(array, rng, count):
    """Yields hostile arrays like `array` (same dtype and shape)."""
    dtype = array.dtype
    shape = array.shape
    if dtype.kind == "f":
        if dtype not in (np.float16, np.float32, np.float64):
            return  # ml_dtypes kinds (bfloat16, float8): keep the recorded input
        info = np.finfo(dtype)
        pools = [
            [np.nan], [np.inf, -np.inf], [0.0, -0.0], [info.max, info.min],
            [info.tiny, -info.tiny, 1e-30], [np.nan, np.inf, -np.inf, 0.0, info.max, 1.0, -1.0],
        ]
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        pools = [[0], [info.min], [info.max], [info.min, info.max, 0, -1 if dtype.kind == "i" else 1]]
    elif dtype.kind == "b":
        pools = [[True], [False], [True, False]]
    else:
        return
    for index in range(count):
        pool = pools[index % len(pools)]
        yield rng.choice(np.array(pool, dtype=dtype), size=shape) if array.size else array.copy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("suite", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "onnx-backend-tests"))
    parser.add_argument("--onyx", required=True)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--filter")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    rng = np.random.default_rng(20261122)
    failures = []
    runs = 0
    statuses = {0: 0, 1: 0}
    with tempfile.TemporaryDirectory() as scratch:
        for root, _, files in sorted(os.walk(args.suite)):
            if "model.onnx" not in files:
                continue
            name = os.path.relpath(root, args.suite)
            if args.filter and not re.search(args.filter, name):
                continue
            data = os.path.join(root, "test_data_set_0")
            if not os.path.isdir(data):
                continue
            inputs = []
            k = 0
            while os.path.exists(os.path.join(data, f"input_{k}.pb")):
                tensor = onnx.TensorProto()
                with open(os.path.join(data, f"input_{k}.pb"), "rb") as f:
                    tensor.ParseFromString(f.read())
                try:
                    inputs.append((tensor.name, numpy_helper.to_array(tensor)))
                except Exception:  # noqa: BLE001 - types numpy cannot hold: keep the file as is
                    inputs.append((tensor.name, None))
                k += 1
            if not inputs:
                continue
            generators = [variants(a, rng, args.variants) if a is not None and a.dtype.kind in "fiub" else None for _, a in inputs]
            for variant in range(args.variants):
                paths = []
                for index, ((tname, array), gen) in enumerate(zip(inputs, generators)):
                    path = os.path.join(scratch, f"in_{index}.pb")
                    value = next(gen, None) if gen is not None else None
                    if value is None:
                        with open(os.path.join(data, f"input_{index}.pb"), "rb") as src, open(path, "wb") as dst:
                            dst.write(src.read())
                    else:
                        with open(path, "wb") as f:
                            f.write(numpy_helper.from_array(value, tname).SerializeToString())
                    paths.append(path)
                runs += 1
                try:
                    done = subprocess.run([args.onyx, "run", os.path.join(root, "model.onnx"), *paths],
                                          capture_output=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    failures.append(f"{name} variant {variant}: timed out")
                    print(failures[-1], flush=True)
                    continue
                if done.returncode in (0, 1):
                    statuses[done.returncode] += 1
                else:
                    tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
                    failures.append(f"{name} variant {variant}: exit {done.returncode} {' | '.join(tail)[:300]}")
                    print(failures[-1], flush=True)
    print(f"stress: {runs} runs, {statuses[0]} ran, {statuses[1]} refused cleanly, {len(failures)} crashed or hung")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
