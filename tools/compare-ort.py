#!/usr/bin/env python3
"""Benchmark Onyx against onnxruntime, side by side, on the same inputs.

Each MODEL is an .onnx file or a case folder holding model.onnx (what
tools/export-bench-models.py writes). Inputs: the case's
test_data_set_0/input_K.pb when present, otherwise seeded random tensors
(floats uniform in [-1, 1), integers in --int-range, symbolic dims from
--shape NAME=DIMS or SYMBOL=N). Either way they are written as .npy files
and both runtimes read those same files.

For every round, model and thread count, the two runtimes run one after the
other, each in its own fresh process (the order alternates between rounds):

  onyx  `onyx bench MODEL --input NAME=FILE... --threads N --json`
  ort   a child of this script: InferenceSession with ORT_ENABLE_ALL graph
        optimisations, intra_op_num_threads N, inter_op_num_threads 1,
        default spinning, the CPU provider

Each process runs --warmup untimed runs, then times runs for --duration
seconds (or exactly --iterations runs) and reports its p50 latency and its
own peak resident memory (VmHWM; for onnxruntime that includes the Python
interpreter, numpy and the onnxruntime module, about `ort base MB` before
the session is created).

The table gives, per model and thread count, the median over rounds of each
p50, the median over rounds of the per-round ratio onyx p50 / ort p50 (the
number to read on a noisy machine: both sides of a ratio ran back to back),
the peak RSS of both, and per thread count the geometric mean of the ratios.

Usage:
  .venv/bin/python tools/compare-ort.py /tmp/onyx-bench-models/* --threads 1,2 \\
      [--onyx .build/release/onyx] [--rounds 3] [--duration 3 | --iterations N] [--json] [--save FILE]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def vmhwm_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(samples, q):
    return float(np.percentile(np.array(samples), q))


def ort_worker(args):
    """Runs in a child process: one onnxruntime session, timed; prints JSON."""
    import onnxruntime as ort
    base = rss_mb()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = args.threads_one
    options.inter_op_num_threads = 1
    start = time.perf_counter()
    session = ort.InferenceSession(args.ort_worker, options, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - start) * 1000
    feeds = {name: np.load(path) for name, path in (item.split("=", 1) for item in args.input)}
    for _ in range(args.warmup):
        session.run(None, feeds)
    samples = []
    begin = time.perf_counter()
    while True:
        start = time.perf_counter()
        session.run(None, feeds)
        end = time.perf_counter()
        samples.append((end - start) * 1000)
        if args.iterations and len(samples) >= args.iterations:
            break
        if not args.iterations and end - begin >= args.duration:
            break
    print(json.dumps({"latency_ms": {"min": min(samples), "p50": percentile(samples, 50),
                                     "p90": percentile(samples, 90), "max": max(samples)},
                      "iterations": len(samples), "load_ms": load_ms, "peak_rss_mb": vmhwm_mb(),
                      "base_rss_mb": base}))
    return 0


def model_path(path):
    return os.path.join(path, "model.onnx") if os.path.isdir(path) else path


def model_name(path):
    path = os.path.normpath(path)
    return os.path.basename(path) if os.path.isdir(path) else os.path.splitext(os.path.basename(path))[0]


def write_inputs(path, folder, args):
    """Writes the model's inputs as .npy files in `folder`; returns [(name, file)]."""
    import onnx
    from onnx import numpy_helper
    graph = onnx.load(model_path(path), load_external_data=False).graph
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    arrays = {}
    case = os.path.join(path, "test_data_set_0") if os.path.isdir(path) else None
    if case and os.path.isdir(case):
        for index, info in enumerate(inputs):
            file = os.path.join(case, f"input_{index}.pb")
            if os.path.exists(file):
                tensor = onnx.TensorProto()
                with open(file, "rb") as f:
                    tensor.ParseFromString(f.read())
                arrays[info.name] = numpy_helper.to_array(tensor)
    shapes, symbols = {}, {}
    for item in args.shape:
        name, dims = item.split("=", 1)
        values = [int(d) for d in dims.split("x")] if dims else []
        (shapes if name in {i.name for i in inputs} else symbols)[name] = values
    low, high = (int(v) for v in args.int_range.split(","))
    for index, info in enumerate(inputs):
        if info.name in arrays:
            continue
        tensor_type = info.type.tensor_type
        if info.name in shapes:
            shape = shapes[info.name]
        else:
            shape = []
            for axis, dim in enumerate(tensor_type.shape.dim):
                if dim.HasField("dim_value"):
                    shape.append(dim.dim_value)
                elif dim.dim_param in symbols:
                    shape.append(symbols[dim.dim_param][0])
                else:
                    raise SystemExit(f"{path}: input {info.name} dimension {axis} ({dim.dim_param or '?'}) "
                                     f"needs --shape")
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        rng = np.random.default_rng(args.seed + index)
        if np.issubdtype(dtype, np.floating):
            arrays[info.name] = rng.uniform(-1, 1, shape).astype(dtype)
        elif dtype == np.bool_:
            arrays[info.name] = rng.integers(0, 2, shape).astype(np.bool_)
        else:
            arrays[info.name] = rng.integers(low, high, shape).astype(dtype)
    files = []
    for name, array in arrays.items():
        file = os.path.join(folder, f"{len(files)}.npy")
        np.save(file, array)
        files.append((name, file))
    return files


def run_json(command):
    process = subprocess.run(command, capture_output=True, text=True)
    if process.returncode != 0:
        lines = (process.stderr.strip() or process.stdout.strip()).splitlines()
        return None, lines[-1] if lines else f"exit {process.returncode}"
    return json.loads(process.stdout), None


def measure(runtime, path, files, threads, args):
    inputs = [f"{name}={file}" for name, file in files]
    budget = ["--iterations", str(args.iterations)] if args.iterations else ["--duration", str(args.duration)]
    if runtime == "onyx":
        command = [args.onyx, "bench", model_path(path), "--threads", str(threads), "--warmup", str(args.warmup),
                   *budget, "--json"]
        for item in inputs:
            command += ["--input", item]
    else:
        command = [sys.executable, os.path.abspath(__file__), "--ort-worker", model_path(path),
                   "--threads-one", str(threads), "--warmup", str(args.warmup), *budget]
        for item in inputs:
            command += ["--input", item]
    return run_json(command)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", metavar="MODEL")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--onyx", default=".build/release/onyx", help="the onyx executable")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds timed per process (default 3)")
    parser.add_argument("--iterations", type=int, help="timed runs per process instead of --duration")
    parser.add_argument("--shape", action="append", default=[], help="NAME=1x3x224x224 or SYMBOL=N")
    parser.add_argument("--int-range", default="0,100", help="LO,HI of random integer inputs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--save", metavar="FILE", help="also write that JSON object to FILE")
    parser.add_argument("--ort-worker", help=argparse.SUPPRESS)
    parser.add_argument("--threads-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--input", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ort_worker:
        return ort_worker(args)
    if not args.models:
        parser.error("give at least one MODEL")
    thread_counts = [int(t) for t in args.threads.split(",")]
    log = sys.stderr

    with tempfile.TemporaryDirectory() as temp:
        files = {}
        for index, path in enumerate(args.models):
            folder = os.path.join(temp, str(index))
            os.makedirs(folder)
            files[path] = write_inputs(path, folder, args)
        results = {(path, t): {"onyx": [], "ort": [], "errors": []} for path in args.models for t in thread_counts}
        for round_index in range(args.rounds):
            order = ["onyx", "ort"] if round_index % 2 == 0 else ["ort", "onyx"]
            for path in args.models:
                for threads in thread_counts:
                    entry = results[(path, threads)]
                    for runtime in order:
                        result, error = measure(runtime, path, files[path], threads, args)
                        if error:
                            entry["errors"].append(f"{runtime}: {error}")
                            print(f"round {round_index + 1} {model_name(path)} t{threads} {runtime}: {error}", file=log)
                        else:
                            entry[runtime].append(result)
                            print(f"round {round_index + 1} {model_name(path)} t{threads} {runtime}: "
                                  f"p50 {result['latency_ms']['p50']:.2f} ms", file=log, flush=True)

    rows = []
    for (path, threads), entry in results.items():
        row = {"model": model_name(path), "threads": threads, "rounds": min(len(entry["onyx"]), len(entry["ort"])),
               "errors": sorted(set(entry["errors"]))}
        if row["rounds"]:
            onyx = [r["latency_ms"]["p50"] for r in entry["onyx"]]
            ort = [r["latency_ms"]["p50"] for r in entry["ort"]]
            row["onyx_p50_ms"] = statistics.median(onyx)
            row["ort_p50_ms"] = statistics.median(ort)
            row["ratio"] = statistics.median(a / b for a, b in zip(onyx, ort))
            row["onyx_iterations"] = statistics.median(r["iterations"] for r in entry["onyx"])
            row["ort_iterations"] = statistics.median(r["iterations"] for r in entry["ort"])
            row["onyx_peak_rss_mb"] = max(r.get("peak_rss_mb") or float("nan") for r in entry["onyx"])
            row["ort_peak_rss_mb"] = max(r["peak_rss_mb"] for r in entry["ort"])
            row["ort_base_rss_mb"] = statistics.median(r["base_rss_mb"] for r in entry["ort"])
        rows.append(row)
    geomean = {}
    for threads in thread_counts:
        ratios = [row["ratio"] for row in rows if row["threads"] == threads and "ratio" in row]
        if ratios:
            geomean[str(threads)] = math.exp(sum(math.log(r) for r in ratios) / len(ratios))

    report = {"rows": rows, "geomean_ratio": geomean,
              "settings": {"rounds": args.rounds, "warmup": args.warmup, "duration": args.duration,
                           "iterations": args.iterations, "onyx": args.onyx}}
    if args.save:
        with open(args.save, "w") as f:
            json.dump(report, f, indent=1)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0 if all("ratio" in row for row in rows) else 1
    header = (f"{'model':18s} {'thr':>3s} {'onyx p50 ms':>12s} {'ORT p50 ms':>11s} {'onyx/ORT':>9s} "
              f"{'onyx MB':>8s} {'ORT MB':>8s} {'ORT base':>8s}")
    print(header)
    print("-" * len(header))
    for row in sorted(rows, key=lambda r: (r["threads"], r["model"])):
        if "ratio" not in row:
            print(f"{row['model']:18s} {row['threads']:3d} failed: {'; '.join(row['errors'])}")
            continue
        print(f"{row['model']:18s} {row['threads']:3d} {row['onyx_p50_ms']:12.2f} {row['ort_p50_ms']:11.2f} "
              f"{row['ratio']:9.2f} {row['onyx_peak_rss_mb']:8.0f} {row['ort_peak_rss_mb']:8.0f} "
              f"{row['ort_base_rss_mb']:8.0f}")
    for threads, value in geomean.items():
        print(f"geometric mean onyx/ORT at {threads} thread(s): {value:.2f}")
    return 0 if all("ratio" in row for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
