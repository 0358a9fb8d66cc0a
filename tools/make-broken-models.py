#!/usr/bin/env python3
"""Write deliberately broken ONNX files for Onyx's loader tests.

Each case starts from a small valid model built with onnx.helper and breaks it
in one way; cases the Python protobuf library cannot serialize (very deep
nesting) are encoded as protobuf wire bytes by hand. Also written:
  OUTDIR/weights-small.bin  64-byte external data file used by external-past-end.onnx
  OUTDIR/manifest.json      [{"file", "case", "expect"}], where "expect" is a
                            lowercase substring Onyx's error message should contain
Every file is checked to be broken in the intended way (protobuf parse,
onnx.checker and/or onnxruntime, whichever catches it), and where possible a
"control" (the same model with the one defect fixed; for the deep files, the
same generator at depth 1 or 3) is checked to pass all three, so the file is
broken only in the intended way. A summary table is printed. Exits 1 if a case
is not broken as intended. Output is deterministic (fixed seeds, no timestamps).

All files are under 100 KB except deep-subgraphs.onnx (~190 KB): 2000 nested
If levels, each with its then_branch/else_branch attributes, need ~95 bytes.

Run from the repository root:
  .venv/bin/python tools/make-broken-models.py Tests/OnyxTests/Fixtures/broken/
"""
import json
import os
import re
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
SIZE_LIMIT = 100 * 1024
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


def model_with_initializer(tensor, out_shape, out_type=TensorProto.FLOAT):
    """Y = Identity(W) where W is the given initializer; Y is declared out_shape."""
    graph = helper.make_graph(
        [helper.make_node("Identity", [tensor.name], ["Y"], name="id")],
        "initializer-case", [], [helper.make_tensor_value_info("Y", out_type, out_shape)],
        initializer=[tensor])
    return finish(graph).SerializeToString()


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
    """If nodes nested `levels` deep through then_branch.

    Level k's graph holds one If node whose then_branch is level k+1's graph
    and whose else_branch is a one-node graph E = Identity(X); the innermost
    graph is Identity(X). Value names are short and unique along each scope
    chain (the If outputs o1, o2, ...; every else_branch may reuse E because
    no else_branch encloses another), to keep the file small."""
    def name(prefix, k):
        digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        s = ""
        while True:
            s = digits[k % 62] + s
            k //= 62
            if k == 0:
                return prefix + s

    def node(inputs, outputs, op, attrs=b""):             # NodeProto
        b = b"".join(f_bytes(1, i) for i in inputs)
        b += b"".join(f_bytes(2, o) for o in outputs)
        return b + f_bytes(4, op) + attrs

    def graph_attr(attr_name, graph_bytes):               # AttributeProto{name, g, type=GRAPH}
        return f_bytes(1, attr_name) + f_bytes(6, graph_bytes) + f_varint(20, 5)

    def subgraph(node_bytes, out):                        # GraphProto{node, name, output}
        return f_bytes(1, node_bytes) + f_bytes(2, "g") + f_bytes(12, f_bytes(1, out))

    else_attr = f_bytes(5, graph_attr("else_branch", subgraph(node(["X"], ["E"], "Identity"), "E")))
    inner = subgraph(node(["X"], [name("o", levels)], "Identity"), name("o", levels))
    for k in range(levels - 1, 0, -1):
        attrs = f_bytes(5, graph_attr("then_branch", inner)) + else_attr
        inner = subgraph(node(["C"], [name("o", k)], "If", attrs), name("o", k))
    top_if = node(["C"], ["Y"], "If", f_bytes(5, graph_attr("then_branch", inner)) + else_attr)
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


def ort_gist(s):
    """The informative part of an onnxruntime error message."""
    if s is None:
        return "accepted"
    s = re.split(r"\[ONNXRuntimeError\] : \d+ : \w+ : ", s)[-1]
    s = re.sub(r"Load model from \S+ failed:", "", s)
    s = re.sub(r"External data path validation failed for initializer: \w+\. Error: ", "", s)
    s = re.sub(r"/onnxruntime_src/\S+:\d+ .*?\) (?=[A-Z])", "", s)  # file:line C++ signature
    s = re.sub(r"\S+\.(cc|h):\d+ \w+ ", "", s)
    return one_line(s.replace("Exception during initialization: ", ""), 90)


def one_line(s, n=70):
    if s is None:
        return "accepted"
    s = " ".join(s.split())
    return s if len(s) <= n else s[:n - 3] + "..."


# ----------------------------------------------------------------- cases --

def build_cases():
    """Return [(file, case, expect, data, must, control)].

    must names what has to reject the file: "empty" (it is 0 bytes), "parse"
    (protobuf decoding fails, and onnxruntime rejects it), "ort" (decodes
    fine, onnxruntime rejects it), "checker+ort" (decodes fine, onnx.checker
    and onnxruntime both reject it). control is the same model with the one
    defect fixed (or None); it must decode and pass onnx.checker and
    onnxruntime, which shows the file is broken in the intended way only."""
    cases = []

    def add(file, case, expect, data, must, control=None):
        cases.append((file, case, expect, data, must, control))

    add("empty.onnx", "zero-byte file", "empty", b"", "empty")
    add("plain-text.onnx", "English text instead of protobuf", "protobuf", TEXT, "parse")
    rng = np.random.default_rng(20240607)
    add("random-bytes.onnx", "4 KB of seeded random bytes", "protobuf", rng.bytes(4096), "parse")
    full = mlp_model().SerializeToString()
    add("truncated.onnx", f"valid {len(full)}-byte model (6 initializers) cut at 60%",
        "protobuf", full[:len(full) * 60 // 100], "parse", full)

    m = onnx.ModelProto()
    m.ir_version = IR_VERSION
    m.opset_import.add().version = OPSET
    m.producer_name = "onyx-tools/make-broken-models.py"
    fixed = onnx.ModelProto()
    fixed.CopyFrom(m)
    fixed.graph.CopyFrom(helper.make_graph(
        [helper.make_node("Relu", ["X"], ["Y"])], "g", [fvi("X", [2])], [fvi("Y", [2])]))
    add("no-graph.onnx", "ModelProto with ir_version and opset but no graph", "graph",
        m.SerializeToString(), "ort", fixed.SerializeToString())

    def two_input_add(b_is_input):
        g = helper.make_graph(
            [helper.make_node("Add", ["X", "nowhere"], ["Y"], name="add")], "undefined-input",
            [fvi("X", [2])] + ([fvi("nowhere", [2])] if b_is_input else []), [fvi("Y", [2])])
        return finish(g).SerializeToString()
    add("undefined-input.onnx", "node input 'nowhere' is never defined", "undefined",
        two_input_add(False), "checker+ort", two_input_add(True))

    def relu_outputs(outputs):
        g = helper.make_graph([helper.make_node("Relu", ["X"], ["Y"], name="relu")],
                              "undefined-output", [fvi("X", [2])], [fvi(o, [2]) for o in outputs])
        return finish(g).SerializeToString()
    add("undefined-output.onnx", "graph output 'Z' is produced by nothing", "undefined",
        relu_outputs(["Y", "Z"]), "checker+ort", relu_outputs(["Y"]))

    def cycle(second_add_input):
        g = helper.make_graph(
            [helper.make_node("Add", ["X", second_add_input], ["A"], name="a"),
             helper.make_node("Relu", ["A"], ["B"], name="b")],
            "cycle", [fvi("X", [2])], [fvi("B", [2])])
        return finish(g).SerializeToString()
    add("cycle.onnx", "nodes a and b consume each other's outputs", "cycle",
        cycle("B"), "checker+ort", cycle("X"))

    def two_writers(second_output):
        g = helper.make_graph(
            [helper.make_node("Relu", ["X"], ["Y"], name="relu"),
             helper.make_node("Neg", ["X"], [second_output], name="neg")],
            "duplicate-producer", [fvi("X", [2])], [fvi("Y", [2])])
        return finish(g).SerializeToString()
    add("duplicate-producer.onnx", "two nodes write output 'Y'", "more than once",
        two_writers("Y"), "checker+ort", two_writers("Y2"))

    def init(dims, data_type=TensorProto.FLOAT, **kw):
        return TensorProto(name="W", data_type=data_type, dims=dims, **kw)
    add("short-raw-data.onnx", "float [4,4] initializer with 40 bytes of raw_data", "raw_data",
        model_with_initializer(init([4, 4], raw_data=bytes(40)), [4, 4]), "ort",
        model_with_initializer(init([4, 4], raw_data=bytes(64)), [4, 4]))
    add("dims-overflow.onnx", "initializer dims [2^40, 2^40] with 16 bytes of raw_data",
        "overflow",
        model_with_initializer(init([2**40, 2**40], raw_data=bytes(16)), [2, 2]), "ort",
        model_with_initializer(init([2, 2], raw_data=bytes(16)), [2, 2]))
    add("negative-dims.onnx", "initializer dims [-3, 2] (24 bytes of raw_data)", "negative",
        model_with_initializer(init([-3, 2], raw_data=bytes(24)), [3, 2]), "ort",
        model_with_initializer(init([3, 2], raw_data=bytes(24)), [3, 2]))
    add("typed-count.onnx", "float_data has 5 values for dims [2,3]", "float_data",
        model_with_initializer(init([2, 3], float_data=[1, 2, 3, 4, 5]), [2, 3]), "ort",
        model_with_initializer(init([2, 3], float_data=[1, 2, 3, 4, 5, 6]), [2, 3]))
    add("unknown-dtype.onnx", "initializer data_type 99", "data type",
        model_with_initializer(init([2], 99, raw_data=bytes(8)), [2]), "checker+ort",
        model_with_initializer(init([2], raw_data=bytes(8)), [2]))

    add("deep-typeproto.onnx", f"input TypeProto sequence_type nested {DEEP_TYPE_LEVELS} deep",
        "deep", deep_typeproto_model(DEEP_TYPE_LEVELS), "parse", deep_typeproto_model(1))
    add("deep-subgraphs.onnx", f"If then_branch graphs nested {DEEP_IF_LEVELS} deep", "deep",
        deep_if_model(DEEP_IF_LEVELS), "parse", deep_if_model(3))

    good = model_with_initializer(external_tensor("weights-small.bin", 0, 64), [16])
    for file, case, expect, tensor in (
            ("external-outside.onnx", "external data location '../outside.bin'", "outside",
             external_tensor("../outside.bin")),
            ("external-absolute.onnx", "external data location '/etc/passwd'", "absolute",
             external_tensor("/etc/passwd")),
            ("external-missing.onnx", "external data file 'missing-weights.bin' does not exist",
             "missing-weights.bin", external_tensor("missing-weights.bin")),
            ("external-past-end.onnx", "external data offset 32 + length 64 past the end of "
             "the 64-byte weights-small.bin", "past the end",
             external_tensor("weights-small.bin", 32, 64))):
        # onnx.checker does not check external offset/length against the file size
        must = "ort" if expect == "past the end" else "checker+ort"
        add(file, case, expect, model_with_initializer(tensor, [16]), must, good)
    return cases


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print("usage: make-broken-models.py OUTDIR", file=sys.stderr)
        return 2
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "weights-small.bin"), "wb") as fh:
        fh.write(bytes(range(64)))

    manifest, rows, failures, notes = [], [], [], []
    for file, case, expect, data, must, control in build_cases():
        path = os.path.join(outdir, file)
        with open(path, "wb") as fh:
            fh.write(data)
        if len(data) >= SIZE_LIMIT:
            notes.append(f"{file} is {len(data)} bytes (over {SIZE_LIMIT // 1024} KB): "
                         f"{DEEP_IF_LEVELS} If levels need about 95 bytes each")
        manifest.append({"file": file, "case": case, "expect": expect})

        parse_err = try_parse(data)
        checker_err = try_checker(path) if parse_err is None else None
        ort_err = try_ort(path)
        if must == "empty":
            ok = len(data) == 0 and ort_err is not None
        elif must == "parse":
            ok = parse_err is not None and ort_err is not None
        elif must == "ort":
            ok = parse_err is None and ort_err is not None
        else:
            ok = parse_err is None and checker_err is not None and ort_err is not None
        if not ok:
            failures.append(f"{file}: not broken as intended (needs rejection by {must}); "
                            f"parse={one_line(parse_err)}; checker={one_line(checker_err)}; "
                            f"ort={one_line(ort_err)}")
        control_ok = "-"
        if control is not None:
            cpath = os.path.join(outdir, "_control.onnx")
            with open(cpath, "wb") as fh:
                fh.write(control)
            errs = [(what, e) for what, e in (("parse", try_parse(control)),
                                              ("checker", try_checker(cpath)),
                                              ("onnxruntime", try_ort(cpath))) if e]
            os.remove(cpath)
            control_ok = "valid" if not errs else "INVALID"
            for what, e in errs:
                failures.append(f"{file}: the fixed control model is rejected by {what}: "
                                f"{one_line(e, 200)}")
        rows.append((file, str(len(data)), expect,
                     "fails" if parse_err else "ok",
                     "-" if parse_err else ("rejects" if checker_err else "accepts"),
                     "rejects" if ort_err else "accepts", control_ok,
                     ort_gist(ort_err)))

    with open(os.path.join(outdir, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")

    # the hand-encoded If nesting must compute the right thing when shallow
    cpath = os.path.join(outdir, "_control.onnx")
    with open(cpath, "wb") as fh:
        fh.write(deep_if_model(3))
    sess = ort.InferenceSession(cpath, providers=["CPUExecutionProvider"])
    for c, x in ((True, 2.5), (False, -1.5)):
        y = sess.run(None, {"C": np.array(c), "X": np.array([x], dtype=np.float32)})[0]
        if y.tolist() != [x]:
            failures.append(f"deep_if_model(3) computed {y.tolist()} for C={c}, expected [{x}]")
    del sess
    os.remove(cpath)

    hdr = ("file", "bytes", "expect", "parse", "checker", "ort", "control", "onnxruntime says")
    w = [max(len(hdr[i]), *(len(r[i]) for r in rows)) for i in range(len(hdr) - 1)]
    def line(r):
        return "  ".join(c.rjust(w[i]) if i == 1 else c.ljust(w[i])
                         for i, c in enumerate(r[:-1])) + "  " + r[-1]
    print(line(hdr))
    for r in rows:
        print(line(r))
    print(f"wrote {len(rows)} models, weights-small.bin and manifest.json to {outdir}")
    print("control = the same model with the defect fixed; it must pass parse, "
          "onnx.checker and onnxruntime")
    for n in notes:
        print("note: " + n)
    if failures:
        print("\nPROBLEMS:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print("all cases are broken as intended")
    return 0


if __name__ == "__main__":
    sys.exit(main())
