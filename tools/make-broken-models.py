#!/usr/bin/env python3
"""Write deliberately broken ONNX files for Onyx's loader tests.

Each case starts from a small valid model built with onnx.helper and breaks it
in one way; cases the Python protobuf library cannot serialize (very deep
nesting) are encoded as protobuf wire bytes by hand. Also written:
  OUTDIR/weights-small.bin  64-byte external data file used by external-past-end.onnx
  OUTDIR/manifest.json      [{"file", "case", "expect"}], where "expect" is a
                            lowercase substring Onyx's error message should contain
Every file is checked to be broken in the intended way (protobuf parse,
onnx.checker and/or onnxruntime, whichever catches it), the hand-encoded
deep files are also generated at depth 3 and checked to be valid there, and a
summary table is printed. Exits 1 if a case is not broken as intended.
Output is deterministic (fixed seeds, no timestamps).

Run from the repository root:
  .venv/bin/python tools/make-broken-models.py Tests/OnyxTests/Fixtures/broken/
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from google.protobuf.message import DecodeError
from onnx import TensorProto, helper, numpy_helper

ort.set_default_logger_severity(4)  # keep onnxruntime's own logging quiet

OPSET = 13
IR_VERSION = 8
DEEP_TYPE_LEVELS = 5000
DEEP_IF_LEVELS = 2000
TEXT = (b"This is not an ONNX model. It is a short piece of plain English text that "
        b"was saved with an .onnx extension to check that the loader reports a "
        b"protobuf decoding error instead of crashing or guessing.\n")


# ------------------------------------------------------ protobuf wire bytes --

def varint(n):
    if n < 0:
        n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(field, n):
    return varint(field << 3 | 0) + varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


# ------------------------------------------------------------ base models --

def finish(graph):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="onyx-tools/make-broken-models.py",
                              producer_version="1")
    model.ir_version = IR_VERSION
    return model


def fvi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def model_with_initializer(tensor):
    """Y = Identity(W) where W is the given initializer."""
    graph = helper.make_graph(
        [helper.make_node("Identity", [tensor.name], ["Y"], name="id")],
        "initializer-case", [], [fvi("Y", None)], initializer=[tensor])
    return finish(graph)


def external_tensor(location, offset=None, length=None):
    t = TensorProto()
    t.name = "W"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([16])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


def mlp_model():
    """A valid model with a few float initializers (about 3.5 KB)."""
    rng = np.random.default_rng(7)
    inits, nodes, prev = [], [], "X"
    for i in range(3):
        w = rng.standard_normal((16, 16)).astype(np.float32)
        b = rng.standard_normal(16).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        out = "Y" if i == 2 else f"h{i}"
        nodes += [helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"], name=f"mm{i}"),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [out], name=f"add{i}")]
        prev = out
    return finish(helper.make_graph(nodes, "mlp", [fvi("X", [1, 16])], [fvi("Y", [1, 16])],
                                    initializer=inits))


# ------------------------------------------------------------ deep models --

def deep_typeproto_model(levels):
    """Graph input 'seq' whose TypeProto is sequence_type nested `levels` deep."""
    t = f_bytes(1, f_varint(1, TensorProto.FLOAT))      # TypeProto{tensor_type{elem_type}}
    for _ in range(levels):
        t = f_bytes(4, f_bytes(1, t))                   # TypeProto{sequence_type{elem_type: t}}
    seq_input = f_bytes(1, "seq") + f_bytes(2, t)       # ValueInfoProto{name, type}
    graph = helper.make_graph([helper.make_node("Identity", ["X"], ["Y"], name="id")],
                              "deep-typeproto", [fvi("X", [1])], [fvi("Y", [1])])
    model = finish(graph)
    graph_bytes = model.graph.SerializeToString() + f_bytes(11, seq_input)  # GraphProto.input
    model.ClearField("graph")
    return model.SerializeToString() + f_bytes(7, graph_bytes)              # ModelProto.graph


def deep_if_model(levels):
    """If nodes nested `levels` deep through then_branch; else_branch forwards X."""
    def name(prefix, k):  # short unique value names
        digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        s = ""
        while True:
            s = digits[k % 62] + s
            k //= 62
            if k == 0:
                return prefix + s

    def node(inputs, outputs, op, attrs=b""):
        b = b"".join(f_bytes(1, i) for i in inputs)
        b += b"".join(f_bytes(2, o) for o in outputs)
        return b + f_bytes(4, op) + attrs                # NodeProto

    def graph_attr(attr_name, graph_bytes):               # AttributeProto{name, g, type=GRAPH}
        return f_bytes(1, attr_name) + f_bytes(6, graph_bytes) + f_varint(20, 5)

    def subgraph(gname, node_bytes, out):                 # GraphProto{node, name, output}
        return ((f_bytes(1, node_bytes) if node_bytes else b"") + f_bytes(2, gname)
                + f_bytes(12, f_bytes(1, out)))

    # innermost graph: Y_n = Identity(X)
    inner = subgraph("g", node(["X"], [name("o", levels)], "Identity"), name("o", levels))
    else_graph = subgraph("e", b"", "X")                  # outputs the outer-scope X
    for k in range(levels - 1, 0, -1):
        attrs = (f_bytes(5, graph_attr("then_branch", inner))
                 + f_bytes(5, graph_attr("else_branch", else_graph)))
        inner = subgraph("g", node(["C"], [name("o", k)], "If", attrs), name("o", k))
    attrs = (f_bytes(5, graph_attr("then_branch", inner))
             + f_bytes(5, graph_attr("else_branch", else_graph)))
    top_if = node(["C"], ["Y"], "If", attrs)
    graph = helper.make_graph(
        [], "deep-subgraphs",
        [helper.make_tensor_value_info("C", TensorProto.BOOL, []), fvi("X", [1])],
        [fvi("Y", [1])])
    model = finish(graph)
    graph_bytes = model.graph.SerializeToString() + f_bytes(1, top_if)      # GraphProto.node
    model.ClearField("graph")
    return model.SerializeToString() + f_bytes(7, graph_bytes)


# ---------------------------------------------------------------- checks --

def try_parse(data):
    m = onnx.ModelProto()
    try:
        m.ParseFromString(data)
        return None
    except (DecodeError, RuntimeError, RecursionError, ValueError) as e:
        return f"{type(e).__name__}: {e}"


def try_checker(path):
    try:
        onnx.checker.check_model(path, full_check=True)
        return None
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def try_ort(path):
    try:
        ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        return None
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def one_line(s, n=70):
    if s is None:
        return "accepted"
    s = " ".join(s.split())
    return s if len(s) <= n else s[:n - 3] + "..."


# ----------------------------------------------------------------- cases --

def build_cases():
    """Return [(file, case, expect, data bytes, must_fail)]; must_fail names the
    checks that have to reject the file: 'parse', 'checker', 'ort', 'any'."""
    cases = []

    def add(file, case, expect, data, must):
        cases.append((file, case, expect, data, must))

    add("empty.onnx", "zero-byte file", "empty", b"", "empty")
    add("plain-text.onnx", "English text instead of protobuf", "protobuf", TEXT, "parse")
    rng = np.random.default_rng(20240607)
    add("random-bytes.onnx", "4 KB of seeded random bytes", "protobuf", rng.bytes(4096), "parse")
    full = mlp_model().SerializeToString()
    add("truncated.onnx", f"valid {len(full)}-byte model cut at 60%", "protobuf",
        full[:len(full) * 60 // 100], "parse")

    m = onnx.ModelProto()
    m.ir_version = IR_VERSION
    m.opset_import.add().version = OPSET
    m.producer_name = "onyx-tools/make-broken-models.py"
    add("no-graph.onnx", "ModelProto with ir_version and opset but no graph", "graph",
        m.SerializeToString(), "ort")

    g = helper.make_graph(
        [helper.make_node("Add", ["X", "nowhere"], ["Y"], name="add")],
        "undefined-input", [fvi("X", [2])], [fvi("Y", [2])])
    add("undefined-input.onnx", "node input 'nowhere' is never defined", "undefined",
        finish(g).SerializeToString(), "checker+ort")

    g = helper.make_graph(
        [helper.make_node("Relu", ["X"], ["Y"], name="relu")],
        "undefined-output", [fvi("X", [2])], [fvi("Y", [2]), fvi("Z", [2])])
    add("undefined-output.onnx", "graph output 'Z' is produced by nothing", "undefined",
        finish(g).SerializeToString(), "checker+ort")

    g = helper.make_graph(
        [helper.make_node("Add", ["X", "B"], ["A"], name="a"),
         helper.make_node("Relu", ["A"], ["B"], name="b")],
        "cycle", [fvi("X", [2])], [fvi("A", [2])])
    add("cycle.onnx", "nodes a and b consume each other's outputs", "cycle",
        finish(g).SerializeToString(), "checker+ort")

    g = helper.make_graph(
        [helper.make_node("Relu", ["X"], ["Y"], name="relu"),
         helper.make_node("Neg", ["X"], ["Y"], name="neg")],
        "duplicate-producer", [fvi("X", [2])], [fvi("Y", [2])])
    add("duplicate-producer.onnx", "two nodes write output 'Y'", "more than once",
        finish(g).SerializeToString(), "checker+ort")

    t = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[4, 4], raw_data=bytes(40))
    add("short-raw-data.onnx", "float [4,4] initializer with 40 bytes of raw_data", "raw_data",
        model_with_initializer(t).SerializeToString(), "ort")

    t = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2**40, 2**40],
                    raw_data=bytes(16))
    add("dims-overflow.onnx", "initializer dims [2^40, 2^40], 16 bytes of data", "overflow",
        model_with_initializer(t).SerializeToString(), "ort")

    t = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[-3, 2], raw_data=bytes(24))
    add("negative-dims.onnx", "initializer dims [-3, 2]", "negative",
        model_with_initializer(t).SerializeToString(), "ort")

    t = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2, 3],
                    float_data=[1.0, 2.0, 3.0, 4.0, 5.0])
    add("typed-count.onnx", "float_data has 5 values for dims [2,3]", "float_data",
        model_with_initializer(t).SerializeToString(), "ort")

    t = TensorProto(name="W", data_type=99, dims=[2], raw_data=bytes(8))
    add("unknown-dtype.onnx", "initializer data_type 99", "data type",
        model_with_initializer(t).SerializeToString(), "checker+ort")

    add("deep-typeproto.onnx", f"input TypeProto sequence_type nested {DEEP_TYPE_LEVELS} deep",
        "deep", deep_typeproto_model(DEEP_TYPE_LEVELS), "parse")
    add("deep-subgraphs.onnx", f"If then_branch graphs nested {DEEP_IF_LEVELS} deep", "deep",
        deep_if_model(DEEP_IF_LEVELS), "parse")

    add("external-outside.onnx", "external data location '../outside.bin'", "outside",
        model_with_initializer(external_tensor("../outside.bin")).SerializeToString(),
        "checker+ort")
    add("external-absolute.onnx", "external data location '/etc/passwd'", "absolute",
        model_with_initializer(external_tensor("/etc/passwd")).SerializeToString(),
        "checker+ort")
    add("external-missing.onnx", "external data file 'missing-weights.bin' does not exist",
        "missing-weights.bin",
        model_with_initializer(external_tensor("missing-weights.bin")).SerializeToString(),
        "checker+ort")
    add("external-past-end.onnx",
        "external data offset 32 + length 64 past the end of 64-byte weights-small.bin",
        "past the end",
        model_with_initializer(external_tensor("weights-small.bin", 32, 64)).SerializeToString(),
        "checker+ort")
    return cases


def check_valid_at_depth_3(tmpdir):
    """The deep generators must make valid models when the depth is small."""
    problems = []
    for fname, data, feeds in (
            ("shallow-typeproto.onnx", deep_typeproto_model(3), None),
            ("shallow-subgraphs.onnx", deep_if_model(3),
             {"C": np.array(True), "X": np.array([2.5], dtype=np.float32)})):
        path = os.path.join(tmpdir, fname)
        with open(path, "wb") as fh:
            fh.write(data)
        for what, err in (("parse", try_parse(data)), ("checker", try_checker(path)),
                          ("onnxruntime", try_ort(path))):
            if err:
                problems.append(f"{fname} (depth 3) rejected by {what}: {one_line(err, 200)}")
        if feeds and not problems:
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            y = sess.run(None, feeds)[0]
            if y.tolist() != [2.5]:
                problems.append(f"{fname} (depth 3) computed {y.tolist()}, expected [2.5]")
        os.remove(path)
    return problems


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)

    with open(os.path.join(outdir, "weights-small.bin"), "wb") as fh:
        fh.write(bytes(range(64)))

    cases = build_cases()
    manifest, rows, failures = [], [], []
    for file, case, expect, data, must in cases:
        path = os.path.join(outdir, file)
        with open(path, "wb") as fh:
            fh.write(data)
        if len(data) >= 100 * 1024:
            failures.append(f"{file}: {len(data)} bytes, over the 100 KB limit")
        manifest.append({"file": file, "case": case, "expect": expect})
        parse_err = try_parse(data)
        checker_err = try_checker(path) if parse_err is None else parse_err
        ort_err = try_ort(path)
        ok = {"empty": len(data) == 0,
              "parse": parse_err is not None and ort_err is not None,
              "ort": ort_err is not None,
              "checker+ort": checker_err is not None and ort_err is not None,
              }[must]
        if must == "ort" and parse_err is not None:
            ok = False  # these must be parseable protobuf, broken only in meaning
        if must == "checker+ort" and parse_err is not None:
            ok = False
        if not ok:
            failures.append(f"{file}: not broken as intended (needs rejection by {must}); "
                            f"parse={one_line(parse_err)}; checker={one_line(checker_err)}; "
                            f"ort={one_line(ort_err)}")
        rows.append((file, len(data), expect,
                     "rejected" if parse_err else "ok",
                     one_line(checker_err, 34) if parse_err is None else "-",
                     one_line(ort_err, 60)))

    with open(os.path.join(outdir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")

    failures += check_valid_at_depth_3(outdir)

    w = [max(len(str(r[i])) for r in rows) for i in range(5)]
    hdr = ("file", "bytes", "expect", "parse", "onnx.checker", "onnxruntime")
    w = [max(a, len(b)) for a, b in zip(w, hdr)]
    fmt = f"{{:<{w[0]}}}  {{:>{w[1]}}}  {{:<{w[2]}}}  {{:<{w[3]}}}  {{:<{w[4]}}}  {{}}"
    print(fmt.format(*hdr))
    for r in rows:
        print(fmt.format(*r))
    print(f"wrote {len(rows)} models, weights-small.bin and manifest.json to {outdir}")
    if failures:
        print("\nPROBLEMS:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("all cases broken as intended; deep generators valid at depth 3")
    return 0


if __name__ == "__main__":
    sys.exit(main())
