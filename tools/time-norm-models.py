#!/usr/bin/env python3
"""Times models with and without Onyx's fused normalization kernels.

usage: .venv/bin/python tools/time-norm-models.py ONYX MODEL.onnx... [--runs N]

For each MODEL, writes MODEL-fused.onnx with `onyx optimize
--allow-custom-ops` and MODEL-unfused.onnx the same way with the passes
fuse-layernorm, fuse-groupnorm and fuse-skip-layernorm disabled (so the two
differ only by the normalization fusions), then alternates, --runs times
(default 7): `onyx run --no-optimize` of each, and one onnxruntime inference
of MODEL (in this process, graph optimizations on, one session). The `onyx run` times are whole
processes (load, plan, one inference); the inputs are seeded random .npy
files (symbolic dims = 1; int64 inputs in [0, 100)). Prints the medians and
the ratios, and checks that both Onyx runs agree with onnxruntime (rtol 1e-4
relative to each output's scale).
"""
import argparse, os, subprocess, sys, tempfile, time
import numpy as np, onnx, onnxruntime as ort

p = argparse.ArgumentParser()
p.add_argument("onyx"); p.add_argument("models", nargs="+")
p.add_argument("--runs", type=int, default=7)
a = p.parse_args()

TYPES = {1: np.float32, 7: np.int64, 11: np.float64}
NORM_PASSES = ["fuse-layernorm", "fuse-groupnorm", "fuse-skip-layernorm"]


def feeds(model, folder):
    rng = np.random.default_rng(0)
    initializers = {i.name for i in model.graph.initializer}
    result = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        t = value.type.tensor_type
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in t.shape.dim]
        dtype = TYPES[t.elem_type]
        data = rng.integers(0, 100, shape) if dtype == np.int64 else rng.uniform(-1, 1, shape)
        result[value.name] = data.astype(dtype)
        np.save(os.path.join(folder, value.name.replace("/", "_") + ".npy"), result[value.name])
    return result


def onyx_run(path, folder, names, out):
    args = [a.onyx, "run", "--no-optimize", path, "--output-dir", out]
    for name in names:
        args += ["--input", f"{name}={os.path.join(folder, name.replace('/', '_') + '.npy')}"]
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def outputs(out, count):
    from onnx import numpy_helper
    return [numpy_helper.to_array(onnx.load_tensor(os.path.join(out, f"output_{k}.pb"))) for k in range(count)]


def error(actual, expected):
    worst = 0.0
    for x, e in zip(actual, expected):
        scale = max(0.1 * float(np.max(np.abs(e))), 1e-30)
        worst = max(worst, float(np.max(np.abs(x - e) / np.maximum(np.abs(e), scale))))
    return worst


for path in a.models:
    fused, unfused = path[:-5] + "-fused.onnx", path[:-5] + "-unfused.onnx"
    subprocess.run([a.onyx, "optimize", path, "-o", fused, "--allow-custom-ops"], check=True, stdout=subprocess.DEVNULL)
    disable = [arg for name in NORM_PASSES for arg in ("--disable-pass", name)]
    subprocess.run([a.onyx, "optimize", path, "-o", unfused, "--allow-custom-ops"] + disable, check=True,
                   stdout=subprocess.DEVNULL)
    model = onnx.load(path)
    with tempfile.TemporaryDirectory() as folder:
        inputs = feeds(model, folder)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        expected = session.run(None, inputs)
        times = {"onyx": [], "onyx-fused": [], "onnxruntime": []}
        for _ in range(a.runs):
            times["onyx"].append(onyx_run(unfused, folder, list(inputs), os.path.join(folder, "plain")))
            times["onyx-fused"].append(onyx_run(fused, folder, list(inputs), os.path.join(folder, "fused")))
            start = time.perf_counter()
            session.run(None, inputs)
            times["onnxruntime"].append(time.perf_counter() - start)
        errors = {k: error(outputs(os.path.join(folder, k), len(expected)), expected) for k in ("plain", "fused")}
    median = {k: float(np.median(v)) * 1000 for k, v in times.items()}
    print(f"{os.path.basename(path)}: onyx unfused {median['onyx']:.1f} ms, onyx fused {median['onyx-fused']:.1f} ms "
          f"(fused/unfused {median['onyx-fused'] / median['onyx']:.3f}), onnxruntime inference {median['onnxruntime']:.1f} ms; "
          f"error vs onnxruntime: unfused {errors['plain']:.2e}, fused {errors['fused']:.2e}")
    if max(errors.values()) > 1e-4:
        sys.exit(f"{path}: outputs differ from onnxruntime")
