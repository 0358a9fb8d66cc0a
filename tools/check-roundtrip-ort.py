#!/usr/bin/env python3
"""Checks that onnxruntime accepts the models Onyx writes back.

Usage: tools/check-roundtrip-ort.py [BACKEND_TESTS_DIR]

Runs the round-trip test with ONYX_ROUNDTRIP_DIR set, so every conformance
model is loaded and written back by Onyx, then for each written model:
onnxruntime must create a session whenever it can for the original, and
produce the same outputs as on the original for the first test data set.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
base = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "onnx-backend-tests"))
ort.set_default_logger_severity(4)


def equal(x, y):
    """Exact equality of outputs (NaN equals NaN); sequences element-wise."""
    if isinstance(x, list) or isinstance(y, list):
        return isinstance(x, list) and isinstance(y, list) and len(x) == len(y) and all(map(equal, x, y))
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    return bool(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))

with tempfile.TemporaryDirectory() as out:
    env = dict(os.environ, ONYX_ROUNDTRIP_DIR=out, ONYX_BACKEND_TESTS=base)
    subprocess.run(["swift", "test", "--filter", "RoundTripTests"], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    counts = {"same": 0, "both-refused": 0, "onyx-copy-refused": 0, "outputs-differ": 0}
    problems = []
    for dirpath, _, files in sorted(os.walk(base)):
        if "model.onnx" not in files:
            continue
        relative = os.path.relpath(dirpath, base)
        original = os.path.join(dirpath, "model.onnx")
        copy = os.path.join(out, relative, "model.onnx")
        def session(path):
            try:
                return ort.InferenceSession(path, providers=["CPUExecutionProvider"]), None
            except Exception as error:  # noqa: BLE001 - report any refusal
                return None, str(error).splitlines()[0][:160]
        a, _ = session(original)
        b, b_error = session(copy)
        if a is None and b is None:
            counts["both-refused"] += 1
            continue
        if b is None:
            counts["onyx-copy-refused"] += 1
            problems.append(f"{relative}: onnxruntime refuses Onyx's copy: {b_error}")
            continue
        if a is None:
            counts["same"] += 1
            continue
        data = os.path.join(dirpath, "test_data_set_0")
        feeds = {}
        if os.path.isdir(data):
            inputs = [i.name for i in a.get_inputs()]
            for k, name in enumerate(inputs):
                path = os.path.join(data, f"input_{k}.pb")
                if os.path.exists(path):
                    tensor = onnx.TensorProto()
                    with open(path, "rb") as f:
                        tensor.ParseFromString(f.read())
                    feeds[name] = numpy_helper.to_array(tensor)
        try:
            ra = a.run(None, feeds)
        except Exception:  # noqa: BLE001 - original cannot run: nothing to compare
            counts["same"] += 1
            continue
        try:
            rb = b.run(None, feeds)
        except Exception as error:  # noqa: BLE001
            counts["outputs-differ"] += 1
            problems.append(f"{relative}: copy fails to run: {str(error).splitlines()[0][:160]}")
            continue
        if equal(ra, rb) or "random" in relative:
            counts["same"] += 1
        else:
            counts["outputs-differ"] += 1
            problems.append(f"{relative}: outputs differ")
    for line in problems:
        print(line)
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    sys.exit(1 if counts["onyx-copy-refused"] or counts["outputs-differ"] else 0)
