#!/usr/bin/env python3
"""Write a deterministic large ONNX model for load-time / memory benchmarks.

The model is a chain of MatMul+Add layers: input "x" float32 [1,DIM], output
"y" float32 [1,DIM], each layer with a DIM x DIM weight and a DIM bias. All
initializers are float32 stored as raw_data inside the .onnx file (no external
data). The number of layers is chosen so the weights total about --mb MiB
(1 MiB = 1048576 bytes); the exact initializer byte count is printed. Weights
come from a fixed-seed RNG, so the same arguments always give the same file.
The model is then loaded and run once with onnxruntime as a check.

Run:
  .venv/bin/python tools/make-large-model.py OUT.onnx [--mb 100] [--dim 1024]
(protobuf limits a single .onnx file to 2 GiB, so --mb must stay below ~2000)
"""
import argparse
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

SEED = 1234


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=100.0, help="target weight size in MiB")
    ap.add_argument("--dim", type=int, default=1024, help="layer width")
    ap.add_argument("--no-check", action="store_true", help="skip the onnxruntime check")
    args = ap.parse_args()

    dim = args.dim
    per_layer = dim * dim * 4 + dim * 4
    layers = max(1, round(args.mb * 1048576 / (dim * dim * 4)))
    total = layers * per_layer
    if total >= 2**31 - 2**24:
        sys.exit(f"{total} bytes of weights would exceed protobuf's 2 GiB message limit")

    rng = np.random.default_rng(SEED)
    scale = np.float32(1.0 / np.sqrt(dim))
    nodes, inits = [], []
    prev = "x"
    for i in range(layers):
        w = (rng.standard_normal((dim, dim), dtype=np.float32) * scale)
        b = (rng.standard_normal(dim, dtype=np.float32) * np.float32(0.01))
        inits.append(numpy_helper.from_array(w, f"layer{i}.weight"))
        inits.append(numpy_helper.from_array(b, f"layer{i}.bias"))
        mm = f"layer{i}.matmul"
        out = "y" if i == layers - 1 else f"layer{i}.out"
        nodes.append(helper.make_node("MatMul", [prev, f"layer{i}.weight"], [mm], name=mm))
        nodes.append(helper.make_node("Add", [mm, f"layer{i}.bias"], [out], name=f"layer{i}.add"))
        prev = out
    graph = helper.make_graph(
        nodes, "large-matmul-chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, dim])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, dim])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="onyx-tools/make-large-model.py",
                              producer_version="1")
    model.ir_version = 8
    weight_bytes = sum(len(t.raw_data) for t in model.graph.initializer)
    assert weight_bytes == total
    onnx.save(model, args.out)
    del model, inits
    size = os.path.getsize(args.out)
    print(f"wrote {args.out}: {layers} layers of {dim}x{dim}, "
          f"weight bytes {weight_bytes} ({weight_bytes / 1048576:.2f} MiB), file {size} bytes")

    if not args.no_check:
        t0 = time.perf_counter()
        sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
        t1 = time.perf_counter()
        x = np.linspace(-1, 1, dim, dtype=np.float32).reshape(1, dim)
        y = sess.run(["y"], {"x": x})[0]
        print(f"onnxruntime: session created in {(t1 - t0) * 1000:.1f} ms, "
              f"output shape {list(y.shape)}, sum {float(y.sum()):.6g}")


if __name__ == "__main__":
    main()
