#!/usr/bin/env python3
"""Times `onyx run` with and without the optimizer, and onnxruntime, per model.

usage: time-optimize.py ONYX MODEL.onnx [MODEL.onnx ...] [--repeat N] [--threads T] [--no-ort]

For each model, inputs come from MODEL's folder (test_data_set_0/input_K.pb)
or are drawn at random (seed 0, symbolic dims = 1) and saved as .npy files.
`onyx run` (a fresh process per run, so each timing is a first run in its
process) alternates between the default (optimized) and `--no-optimize`,
N times each; the figure is the smallest "ran in" time of each. onnxruntime
(default graph optimizations) runs N times in this process after one warm-up
run; its figure is the smallest too. Prints one table row per model:
unoptimized ms, optimized ms, their ratio, onnxruntime ms, and Onyx's
optimized time over onnxruntime's.
"""
import argparse, glob, os, re, subprocess, sys, tempfile, time
import numpy as np, onnx, onnxruntime as ort
from onnx import numpy_helper

p = argparse.ArgumentParser()
p.add_argument("onyx")
p.add_argument("models", nargs="+")
p.add_argument("--repeat", type=int, default=5)
p.add_argument("--threads", type=int, default=None)
p.add_argument("--no-ort", action="store_true", help="skip onnxruntime (for files with ai.onyx nodes)")
a = p.parse_args()

TYPES = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 11: np.float64}


def feeds_for(path, workdir):
    """Input files for onyx (in graph-input order) and the arrays for onnxruntime."""
    folder = os.path.dirname(path)
    stored = sorted(glob.glob(os.path.join(folder, "test_data_set_0", "input_*.pb")))
    model = onnx.load(path, load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if stored and os.path.basename(path) == "model.onnx":
        arrays = {}
        for file, info in zip(stored, inputs):
            tensor = onnx.TensorProto()
            with open(file, "rb") as f:
                tensor.ParseFromString(f.read())
            arrays[info.name] = numpy_helper.to_array(tensor)
        return stored, arrays
    rng = np.random.default_rng(0)
    files, arrays = [], {}
    for k, info in enumerate(inputs):
        t = info.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim]
        dtype = TYPES.get(t.elem_type, np.float32)
        if np.issubdtype(dtype, np.floating):
            value = rng.uniform(-1, 1, shape).astype(dtype)
        else:
            value = rng.integers(0, 4, shape).astype(dtype)
        file = os.path.join(workdir, f"{os.path.basename(path)}.input_{k}.npy")
        np.save(file, value)
        files.append(file)
        arrays[info.name] = value
    return files, arrays


def onyx_ms(path, files, optimize):
    command = [a.onyx, "run", path, *files] + ([] if optimize else ["--no-optimize"])
    if a.threads:
        command += ["--threads", str(a.threads)]
    out = subprocess.run(command, capture_output=True, text=True)
    match = re.search(r"ran in ([0-9.]+) ms", out.stdout)
    if out.returncode != 0 or not match:
        sys.exit(f"onyx failed on {path}: {out.stderr.strip()[-400:]}")
    return float(match.group(1))


print(f"{'model':28s} {'no-opt ms':>10s} {'opt ms':>9s} {'opt/no-opt':>10s} {'ort ms':>8s} {'opt/ort':>8s}")
with tempfile.TemporaryDirectory() as workdir:
    for path in a.models:
        files, arrays = feeds_for(path, workdir)
        plain, optimized = [], []
        for _ in range(a.repeat):
            plain.append(onyx_ms(path, files, False))
            optimized.append(onyx_ms(path, files, True))
        name = os.path.basename(os.path.dirname(path)) if os.path.basename(path) == "model.onnx" else os.path.basename(path)
        best_plain, best_opt = min(plain), min(optimized)
        if a.no_ort:
            print(f"{name:28s} {best_plain:10.2f} {best_opt:9.2f} {best_opt / best_plain:10.3f}", flush=True)
            continue
        options = ort.SessionOptions()
        if a.threads:
            options.intra_op_num_threads = a.threads
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        session.run(None, arrays)
        times = []
        for _ in range(a.repeat):
            start = time.perf_counter()
            session.run(None, arrays)
            times.append((time.perf_counter() - start) * 1e3)
        best_ort = min(times)
        print(f"{name:28s} {best_plain:10.2f} {best_opt:9.2f} {best_opt / best_plain:10.3f} {best_ort:8.2f} {best_opt / best_ort:8.2f}",
              flush=True)
