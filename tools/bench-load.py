#!/usr/bin/env python3
"""Compare model load time and peak memory of Onyx and onnxruntime.

For each of --runs rounds (the two tools interleaved, order alternating) it
measures:
  onnxruntime  a fresh Python subprocess, run under `/usr/bin/time -v`, that
               imports onnxruntime and times only
               `onnxruntime.InferenceSession(MODEL, providers=['CPUExecutionProvider'])`
               (default graph optimization level) with time.perf_counter;
               peak RSS is that subprocess's "Maximum resident set size"
               (it includes the Python interpreter and the onnxruntime library).
  onyx         `ONYX info MODEL --json` under `/usr/bin/time -v`; load time is
               the "load_ms" key of the JSON it prints (measured in-process by
               Onyx), peak RSS is again time's "Maximum resident set size".
One untimed warm-up round comes first (--warmup) so both see a warm page cache.

Prints min and median load time per tool, the onyx/onnxruntime ratio of the
medians, peak RSS in MiB (max over the rounds), and each peak RSS as a multiple
of the model's weight bytes = the sum of the initializers' data sizes
(raw_data, or typed-field element count x element size; external data counted
by its `length` or file size), read with onnx.load(load_external_data=False).

Run:
  .venv/bin/python tools/bench-load.py MODEL --onyx .build/release/onyx [--runs 5]
Exits 0 when every measurement succeeded (a missing "load_ms" key is reported
but not fatal), 1 if a measured command failed, 2 on bad arguments.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

TIME = "/usr/bin/time"

ORT_SCRIPT = r"""
import json, sys, time
import onnxruntime
path = sys.argv[1]
t0 = time.perf_counter()
sess = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
t1 = time.perf_counter()
print(json.dumps({"load_ms": (t1 - t0) * 1000.0}))
"""

ORT_BASELINE_SCRIPT = "import onnxruntime\n"


def weight_bytes(path):
    import numpy as np
    import onnx
    from onnx import helper
    model = onnx.load(path, load_external_data=False)
    base = os.path.dirname(os.path.abspath(path))
    total = 0

    def tensor_bytes(t):
        if t.data_location == onnx.TensorProto.EXTERNAL:
            info = {e.key: e.value for e in t.external_data}
            if "length" in info:
                return int(info["length"])
            loc = os.path.join(base, info.get("location", ""))
            size = os.path.getsize(loc) if os.path.isfile(loc) else 0
            return max(0, size - int(info.get("offset", 0)))
        if t.HasField("raw_data"):
            return len(t.raw_data)
        n = 1
        for d in t.dims:
            n *= d
        try:
            itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
        except Exception:
            itemsize = 4
        return n * itemsize

    def walk(graph):
        nonlocal total
        for t in graph.initializer:
            total += tensor_bytes(t)
        for node in graph.node:
            for a in node.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                elif a.type == onnx.AttributeProto.GRAPHS:
                    for g in a.graphs:
                        walk(g)

    walk(model.graph)
    return total


def run_timed(cmd):
    """Run cmd under /usr/bin/time -v; return (rc, stdout, stderr, peak_rss_kib)."""
    with tempfile.NamedTemporaryFile(prefix="bench-load-time-", suffix=".txt") as tf:
        p = subprocess.run([TIME, "-v", "-o", tf.name] + cmd,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with open(tf.name) as fh:
            report = fh.read()
    m = re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", report)
    rss = int(m.group(1)) if m else None
    return p.returncode, p.stdout, p.stderr, rss


def find_load_ms(stdout):
    """Return load_ms from the JSON a tool printed, or None."""
    text = stdout.strip()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
        # tolerate extra lines around the JSON: try each line, then a regex
        for line in text.splitlines():
            try:
                doc = json.loads(line)
                if isinstance(doc, dict) and "load_ms" in doc:
                    break
            except ValueError:
                continue
    def search(o):
        if isinstance(o, dict):
            if "load_ms" in o and isinstance(o["load_ms"], (int, float)):
                return float(o["load_ms"])
            for v in o.values():
                r = search(v)
                if r is not None:
                    return r
        elif isinstance(o, list):
            for v in o:
                r = search(v)
                if r is not None:
                    return r
        return None
    r = search(doc)
    if r is None:
        m = re.search(r'"load_ms"\s*:\s*([-+0-9.eE]+)', text)
        if m:
            r = float(m.group(1))
    return r


def tail(s, n=800):
    s = s.strip()
    return s if len(s) <= n else "..." + s[-n:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--onyx", required=True, help="path to the onyx binary")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    ap.add_argument("--python", default=sys.executable,
                    help="python with onnxruntime for the subprocess (default: this one)")
    args = ap.parse_args()

    if not os.path.isfile(args.model):
        print(f"bench-load: model {args.model} not found", file=sys.stderr)
        return 2
    if not (os.path.isfile(args.onyx) and os.access(args.onyx, os.X_OK)):
        print(f"bench-load: onyx binary {args.onyx} not found or not executable "
              f"(build it first, e.g. swift build -c release)", file=sys.stderr)
        return 2
    if not os.access(TIME, os.X_OK):
        print(f"bench-load: {TIME} is required (apt-get install time)", file=sys.stderr)
        return 2
    if args.runs < 1:
        print("bench-load: --runs must be at least 1", file=sys.stderr)
        return 2

    model = os.path.abspath(args.model)
    wbytes = weight_bytes(model)
    fsize = os.path.getsize(model)

    ort_cmd = [args.python, "-c", ORT_SCRIPT, model]
    onyx_cmd = [args.onyx, "info", model, "--json"]
    res = {"onnxruntime": {"ms": [], "rss": []}, "onyx": {"ms": [], "rss": []}}
    after_load = []  # Onyx's resident MiB right after loading (rss_after_load_mb)
    failed = False
    missing_key = False

    def measure(tool, record):
        nonlocal failed, missing_key
        cmd = ort_cmd if tool == "onnxruntime" else onyx_cmd
        rc, out, err, rss = run_timed(cmd)
        if rc != 0:
            if not failed:  # report the first failure only
                print(f"bench-load: {tool} exited with status {rc}:\n{tail(err or out)}",
                      file=sys.stderr)
            failed = True
            return
        ms = find_load_ms(out)
        if ms is None and not missing_key:
            print(f'bench-load: {tool} output has no "load_ms" key, so its load time is '
                  f"not reported. Output was:\n{tail(out)}", file=sys.stderr)
            missing_key = True
        if record and tool == "onyx":
            m = re.search(r'"rss_after_load_mb"\s*:\s*([-+0-9.eE]+)', out)
            if m:
                after_load.append(float(m.group(1)))
        if record:
            if ms is not None:
                res[tool]["ms"].append(ms)
            if rss is not None:
                res[tool]["rss"].append(rss)

    for i in range(args.warmup + args.runs):
        record = i >= args.warmup
        order = ["onnxruntime", "onyx"] if i % 2 == 0 else ["onyx", "onnxruntime"]
        for tool in order:
            measure(tool, record)

    _, _, _, base_rss = run_timed([args.python, "-c", ORT_BASELINE_SCRIPT])

    mib = 1048576.0
    print(f"model: {args.model}")
    print(f"  file size {fsize} bytes ({fsize / mib:.2f} MiB); weight bytes "
          f"{wbytes} ({wbytes / mib:.2f} MiB, sum of initializer data sizes)")
    print(f"  {args.runs} timed runs per tool, interleaved, after {args.warmup} warm-up")
    hdr = f"{'tool':<12} {'min ms':>9} {'median ms':>10} {'peak RSS MiB':>13} {'RSS/weights':>12}"
    print(hdr)
    print("-" * len(hdr))
    med = {}
    for tool in ("onnxruntime", "onyx"):
        ms, rss = res[tool]["ms"], res[tool]["rss"]
        if ms:
            med[tool] = statistics.median(ms)
            tmin, tmed = f"{min(ms):9.2f}", f"{med[tool]:10.2f}"
        else:
            tmin, tmed = f"{'n/a':>9}", f"{'n/a':>10}"
        if rss:
            peak = max(rss) * 1024
            r1 = f"{peak / mib:13.1f}"
            r2 = f"{peak / wbytes:11.2f}x" if wbytes else f"{'n/a':>12}"
        else:
            r1, r2 = f"{'n/a':>13}", f"{'n/a':>12}"
        print(f"{tool:<12} {tmin} {tmed} {r1} {r2}")
    if "onnxruntime" in med and "onyx" in med and med["onnxruntime"] > 0:
        print(f"ratio onyx/onnxruntime (median load time): "
              f"{med['onyx'] / med['onnxruntime']:.3f}")
    else:
        print("ratio onyx/onnxruntime (median load time): n/a")
    if after_load and wbytes:
        worst = max(after_load)
        print(f"onyx resident after loading: {worst:.1f} MiB = {worst * mib / wbytes:.2f}x weights "
              f"(limit 1.1x + 30 MiB = {(1.1 * wbytes / mib) + 30:.1f} MiB)")
    if base_rss:
        print(f"(onnxruntime RSS includes Python + `import onnxruntime`: "
              f"{base_rss / 1024:.1f} MiB without a session)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
