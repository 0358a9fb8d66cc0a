#!/usr/bin/env python3
"""Run `onyx run` on model cases and compare its outputs with onnxruntime's.

A case is a folder in the ONNX backend-test layout (what
tools/export-models.py writes): model.onnx, optional data.json with rtol/atol,
and test_data_set_N/input_K.pb + output_K.pb, the output files being
onnxruntime's results. Each DIR argument is a case folder or a folder of
case folders.

For every data set the script runs `onyx run MODEL --input NAME=FILE...
--output-dir TMP`, then compares each output with the stored one:

  max abs diff  max |onyx - ort|
  max rel diff  max |onyx - ort| / |ort| over elements with |ort| > atol
                (smaller ones are the absolute tolerance's business)
  pass          same shape and type, and numpy.allclose(onyx, ort, rtol, atol)
                with the case's data.json tolerances (default rtol 1e-3,
                atol 1e-7, as in the backend tests); integers must be equal

Timing, per case (the first data set):
  onyx s   the graph run as `onyx run` reports it ("ran in ... ms"): one run
           in a fresh process, model loading excluded
  ort s    one InferenceSession.run right after creating the session,
           default options (all graph optimisations), session creation excluded
  wall s   the whole `onyx run` process: start, load, run, write outputs

Both use their default thread counts unless --threads is given.
Exit status: 0 when every case passes, 1 otherwise.

Usage:
  .venv/bin/python tools/compare-models.py DIR... --onyx .build/release/onyx [--threads N]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper


def read_pb(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return tensor.name, numpy_helper.to_array(tensor)


def find_cases(paths):
    cases = []
    for path in paths:
        if os.path.isfile(os.path.join(path, "model.onnx")):
            cases.append(path)
            continue
        for entry in sorted(os.listdir(path)):
            folder = os.path.join(path, entry)
            if os.path.isfile(os.path.join(folder, "model.onnx")):
                cases.append(folder)
    return cases


def compare(actual, expected, rtol, atol):
    """(max abs diff, max rel diff, problem or None)."""
    if actual.shape != expected.shape:
        return float("nan"), float("nan"), f"shape {actual.shape}, expected {expected.shape}"
    if actual.dtype != expected.dtype:
        return float("nan"), float("nan"), f"type {actual.dtype}, expected {expected.dtype}"
    if not np.issubdtype(expected.dtype, np.floating):
        differ = int(np.sum(actual != expected))
        return float(differ != 0), float(differ != 0), (f"{differ} elements differ" if differ else None)
    if actual.size == 0:
        return 0.0, 0.0, None
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(e)
    diff = np.where(both_nan, 0.0, np.abs(a - e))
    diff = np.where(np.isnan(diff), np.inf, diff)
    max_abs = float(np.max(diff))
    big = np.abs(e) > atol
    max_rel = float(np.max(diff[big] / np.abs(e[big]))) if np.any(big) else 0.0
    if np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        return max_abs, max_rel, None
    excess = diff - (atol + rtol * np.abs(e))
    index = int(np.argmax(excess))
    where = np.unravel_index(index, e.shape)
    bad = int(np.sum(excess > 0))
    return max_abs, max_rel, (f"{bad} of {e.size} elements outside tolerance; worst at {tuple(int(i) for i in where)}: "
                              f"{a.flat[index]:.6g}, expected {e.flat[index]:.6g}")


def run_case(folder, onyx, threads):
    tolerance = {"rtol": 1e-3, "atol": 1e-7}
    json_path = os.path.join(folder, "data.json")
    if os.path.exists(json_path):
        with open(json_path) as f:
            tolerance.update({k: v for k, v in json.load(f).items() if k in ("rtol", "atol")})
    rtol, atol = float(tolerance["rtol"]), float(tolerance["atol"])
    model_path = os.path.join(folder, "model.onnx")
    graph = onnx.load(model_path, load_external_data=False).graph
    initializers = {t.name for t in graph.initializer}
    runtime_inputs = [i.name for i in graph.input if i.name not in initializers]

    row = {"model": os.path.basename(os.path.normpath(folder)), "outputs": 0, "abs": 0.0, "rel": 0.0,
           "problems": [], "onyx": float("nan"), "ort": float("nan"), "wall": float("nan")}
    sets = sorted(d for d in os.listdir(folder) if d.startswith("test_data_set_"))
    for set_index, data_set in enumerate(sets):
        data_dir = os.path.join(folder, data_set)
        feeds = {}
        arguments = []
        index = 0
        while os.path.exists(os.path.join(data_dir, f"input_{index}.pb")):
            path = os.path.join(data_dir, f"input_{index}.pb")
            name, value = read_pb(path)
            if name not in runtime_inputs:
                name = runtime_inputs[index]
            feeds[name] = value
            arguments += ["--input", f"{name}={path}"]
            index += 1
        expected = []
        while os.path.exists(os.path.join(data_dir, f"output_{len(expected)}.pb")):
            expected.append(read_pb(os.path.join(data_dir, f"output_{len(expected)}.pb"))[1])

        with tempfile.TemporaryDirectory() as out:
            command = [onyx, "run", model_path, *arguments, "--output-dir", out]
            if threads:
                command += ["--threads", str(threads)]
            start = time.perf_counter()
            process = subprocess.run(command, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if process.returncode != 0:
                message = (process.stderr.strip() or process.stdout.strip()).splitlines()
                row["problems"].append(f"{data_set}: onyx run failed: {message[-1] if message else process.returncode}")
                continue
            ran = re.search(r"ran in ([0-9.]+) ms", process.stdout)
            actual = []
            for k in range(len(expected)):
                path = os.path.join(out, f"output_{k}.pb")
                actual.append(read_pb(path)[1] if os.path.exists(path) else None)

        if set_index == 0:
            row["wall"] = wall
            row["onyx"] = float(ran.group(1)) / 1000 if ran else float("nan")
            options = ort.SessionOptions()
            if threads:
                options.intra_op_num_threads = threads
            session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
            start = time.perf_counter()
            session.run(None, feeds)
            row["ort"] = time.perf_counter() - start

        row["outputs"] = len(expected)
        for k, (got, want) in enumerate(zip(actual, expected)):
            if got is None:
                row["problems"].append(f"{data_set}: output_{k} not written")
                continue
            max_abs, max_rel, problem = compare(got, want, rtol, atol)
            row["abs"] = max(row["abs"], max_abs) if not np.isnan(max_abs) else max_abs
            row["rel"] = max(row["rel"], max_rel) if not np.isnan(max_rel) else max_rel
            if problem:
                row["problems"].append(f"{data_set}: output_{k} ({graph.output[k].name}): {problem}")
    row["rtol"], row["atol"] = rtol, atol
    row["pass"] = not row["problems"] and bool(sets)
    if not sets:
        row["problems"].append("no test_data_set_N folders")
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="+", metavar="DIR")
    parser.add_argument("--onyx", required=True, help="path to the onyx executable")
    parser.add_argument("--threads", type=int, help="threads for both onyx and onnxruntime")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()

    cases = find_cases(args.dirs)
    if not cases:
        print("no cases found", file=sys.stderr)
        return 1
    header = f"{'model':22s} {'outs':>4s} {'max abs diff':>12s} {'max rel diff':>12s} {'atol':>9s} {'result':>6s} " \
             f"{'onyx s':>8s} {'ort s':>8s} {'wall s':>7s}"
    print(header)
    print("-" * len(header))
    rows = []
    for folder in cases:
        row = run_case(folder, args.onyx, args.threads)
        rows.append(row)
        print(f"{row['model']:22s} {row['outputs']:4d} {row['abs']:12.3g} {row['rel']:12.3g} {row['atol']:9.2g} "
              f"{'pass' if row['pass'] else 'FAIL':>6s} {row['onyx']:8.3f} {row['ort']:8.3f} {row['wall']:7.2f}",
              flush=True)
    failed = [row for row in rows if not row["pass"]]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} cases pass")
    for row in failed:
        for problem in row["problems"]:
            print(f"FAIL {row['model']}: {problem}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
