#!/usr/bin/env python3
"""Checks an `onyx optimize` output against the original with onnxruntime.

usage: check-optimized.py ORIGINAL.onnx OPTIMIZED.onnx [--op-absent OP]... [--rtol R]

When the original passes onnx.checker, the optimized file must too. Exits 2
(SKIP) when onnxruntime cannot run the original. Runs both files with onnxruntime (graph optimizations off, so the original is
run as written) on seeded random inputs (symbolic dims = 1), prints the op
histograms and the largest relative difference per output (|a-b| / max(|b|,
0.1·max|b|)), and exits 1 when an output differs by more than --rtol, the
optimized file fails onnx.checker, or an --op-absent op is left.
"""
import argparse, collections, sys
import numpy as np, onnx, onnxruntime as ort

p = argparse.ArgumentParser()
p.add_argument("original"); p.add_argument("optimized")
p.add_argument("--op-absent", action="append", default=[])
p.add_argument("--rtol", type=float, default=1e-5)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()

def ops(model):
    counts = collections.Counter()
    def walk(g):
        for n in g.node:
            counts[n.op_type] += 1
            for attr in n.attribute:
                if attr.g.node: walk(attr.g)
                for sub in attr.graphs: walk(sub)
    walk(model.graph)
    return counts

original, optimized = onnx.load(a.original), onnx.load(a.optimized)
try:
    onnx.checker.check_model(original, full_check=True)
    original_checks = True
except Exception:
    original_checks = False
if original_checks:
    onnx.checker.check_model(optimized, full_check=True)
print("original: ", dict(sorted(ops(original).items())))
print("optimized:", dict(sorted(ops(optimized).items())))
options = ort.SessionOptions()
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
try:
    s0 = ort.InferenceSession(a.original, options, providers=["CPUExecutionProvider"])
except Exception as error:
    print(f"SKIP: onnxruntime cannot run the original: {str(error)[:200]}")
    sys.exit(2)
s1 = ort.InferenceSession(a.optimized, options, providers=["CPUExecutionProvider"])
rng = np.random.default_rng(a.seed)
feeds = {}
types = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
         "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(bool)": np.bool_}
for i in s0.get_inputs():
    if i.type not in types:
        print(f"SKIP: input type {i.type}"); sys.exit(2)
    shape = [d if isinstance(d, int) else 1 for d in i.shape]
    t = types[i.type]
    feeds[i.name] = (rng.uniform(-1, 1, shape) if np.issubdtype(t, np.floating) else rng.integers(0, 4, shape)).astype(t)
try:
    r0 = s0.run(None, feeds)
except Exception as error:
    print(f"SKIP: the original fails on random inputs: {str(error)[:200]}")
    sys.exit(2)
r1 = s1.run(None, feeds)
failed = False
for out, x, y in zip(s0.get_outputs(), r1, r0):
    if not isinstance(y, np.ndarray):
        same = isinstance(x, list) and isinstance(y, list) and len(x) == len(y) and \
            all(np.array_equal(p, q, equal_nan=True) for p, q in zip(x, y))
        same = same or (x is None and y is None)
        print(f"{out.name}: not a tensor, compared for equality: {same}")
        failed |= not same
        continue
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape:
        print(f"{out.name}: shape {list(x.shape)}, expected {list(y.shape)}"); failed = True; continue
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    finite = np.abs(y[np.isfinite(y)])
    floor = 0.1 * np.max(finite) if finite.size else 0
    with np.errstate(invalid="ignore"):
        rel = np.where(same, 0.0, np.abs(x - y) / np.maximum(np.maximum(np.abs(y), floor), 1e-30))
    err = float(np.max(np.nan_to_num(rel, nan=np.inf))) if y.size else 0.0
    print(f"{out.name}: shape {list(y.shape)}, max relative difference {err:.3g}")
    failed |= not err <= a.rtol
for op in a.op_absent:
    if ops(optimized)[op]:
        print(f"{op} left: {ops(optimized)[op]}"); failed = True
print("FAIL" if failed else "OK")
sys.exit(1 if failed else 0)
