#!/usr/bin/env python3
"""Train a small CNN on scikit-learn's 8x8 digits in pure numpy and export it to ONNX.

Forward and backward passes (im2col convolution, BatchNormalization in training
mode with PyTorch-style running statistics, ReLU, 2x2 MaxPool, Flatten, dense
layer, softmax cross-entropy) and the Adam optimiser are written by hand here.
Everything uses fixed seeds, so the output is deterministic.

Writes:
  models/digits/digits-cnn.onnx            opset 13, ir_version 8
  models/digits/samples/digit-K-label-L.pb 6 test-set digits as TensorProto
  models/digits/samples/expected.json      onnxruntime's predictions for them
  models/digits/README.md

Run from the repository root:
  .venv/bin/python tools/train-digits.py [--out models/digits]
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 20240607
EPS = 1e-5
MOMENTUM = 0.1  # PyTorch convention: running = (1 - m) * running + m * batch
TARGET_ACC = 0.95


# ---------------------------------------------------------------- layers ----

def im2col(x, k=3, pad=1):
    """x [N,C,H,W] -> cols [N, C*k*k, H*W] for stride 1, 'same' padding."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((n, c, k, k, h, w), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + h, j:j + w]
    return cols.reshape(n, c * k * k, h * w)


def col2im(dcols, shape, k=3, pad=1):
    """Adjoint of im2col: dcols [N, C*k*k, H*W] -> dx [N,C,H,W]."""
    n, c, h, w = shape
    dcols = dcols.reshape(n, c, k, k, h, w)
    dxp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + h, j:j + w] += dcols[:, :, i, j]
    return dxp[:, :, pad:pad + h, pad:pad + w]


def conv_forward(x, wt):
    """3x3 conv, stride 1, pad 1, no bias. wt [O,C,3,3]."""
    n, c, h, w = x.shape
    o = wt.shape[0]
    cols = im2col(x)
    y = np.einsum("ok,nkp->nop", wt.reshape(o, -1), cols, optimize=True)
    return y.reshape(n, o, h, w), cols


def conv_backward(dy, cols, wt, xshape):
    n, o, h, w = dy.shape
    dy2 = dy.reshape(n, o, h * w)
    dw = np.einsum("nop,nkp->ok", dy2, cols, optimize=True).reshape(wt.shape)
    dcols = np.einsum("ok,nop->nkp", wt.reshape(o, -1), dy2, optimize=True)
    return col2im(dcols, xshape), dw


def bn_forward_train(x, gamma, beta, state):
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))  # biased, used for normalisation
    m = x.shape[0] * x.shape[2] * x.shape[3]
    state["mean"] = (1 - MOMENTUM) * state["mean"] + MOMENTUM * mean
    state["var"] = (1 - MOMENTUM) * state["var"] + MOMENTUM * var * m / (m - 1)
    inv = 1.0 / np.sqrt(var + EPS)
    xhat = (x - mean[None, :, None, None]) * inv[None, :, None, None]
    y = gamma[None, :, None, None] * xhat + beta[None, :, None, None]
    return y, (xhat, inv, gamma)


def bn_backward(dy, cache):
    xhat, inv, gamma = cache
    m = dy.shape[0] * dy.shape[2] * dy.shape[3]
    dbeta = dy.sum(axis=(0, 2, 3))
    dgamma = (dy * xhat).sum(axis=(0, 2, 3))
    dxhat = dy * gamma[None, :, None, None]
    dx = (inv[None, :, None, None] / m) * (
        m * dxhat
        - dxhat.sum(axis=(0, 2, 3))[None, :, None, None]
        - xhat * (dxhat * xhat).sum(axis=(0, 2, 3))[None, :, None, None])
    return dx, dgamma, dbeta


def bn_infer(x, gamma, beta, mean, var):
    s = gamma / np.sqrt(var + EPS)
    return x * s[None, :, None, None] + (beta - mean * s)[None, :, None, None]


def maxpool_forward(x):
    n, c, h, w = x.shape
    xr = x.reshape(n, c, h // 2, 2, w // 2, 2)
    y = xr.max(axis=(3, 5))
    mask = xr == y[:, :, :, None, :, None]
    # keep only the first maximum in each window so gradients are not doubled
    flat = mask.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    first = np.zeros_like(flat)
    idx = flat.argmax(axis=-1)
    np.put_along_axis(first, idx[..., None], True, axis=-1)
    mask = first.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    return y, mask


def maxpool_backward(dy, mask):
    n, c, h2, _, w2, _ = mask.shape
    dx = mask * dy[:, :, :, None, :, None]
    return dx.reshape(n, c, h2 * 2, w2 * 2)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------- model ----

def init_params(rng):
    def he(shape, fan_in):
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    p = {
        "conv1_w": he((8, 1, 3, 3), 9),
        "bn1_gamma": np.ones(8), "bn1_beta": np.zeros(8),
        "conv2_w": he((16, 8, 3, 3), 72),
        "bn2_gamma": np.ones(16), "bn2_beta": np.zeros(16),
        "fc_w": rng.normal(0.0, np.sqrt(1.0 / 256), size=(10, 256)),
        "fc_b": np.zeros(10),
    }
    stats = {"bn1": {"mean": np.zeros(8), "var": np.ones(8)},
             "bn2": {"mean": np.zeros(16), "var": np.ones(16)}}
    return p, stats


def train_step(p, stats, x, y_onehot):
    # forward
    c1, cols1 = conv_forward(x, p["conv1_w"])
    b1, bc1 = bn_forward_train(c1, p["bn1_gamma"], p["bn1_beta"], stats["bn1"])
    r1 = np.maximum(b1, 0)
    c2, cols2 = conv_forward(r1, p["conv2_w"])
    b2, bc2 = bn_forward_train(c2, p["bn2_gamma"], p["bn2_beta"], stats["bn2"])
    r2 = np.maximum(b2, 0)
    pl, mask = maxpool_forward(r2)
    f = pl.reshape(pl.shape[0], -1)
    logits = f @ p["fc_w"].T + p["fc_b"]
    prob = softmax(logits)
    n = x.shape[0]
    loss = -np.sum(y_onehot * np.log(prob + 1e-12)) / n
    # backward
    g = {}
    dlogits = (prob - y_onehot) / n
    g["fc_w"] = dlogits.T @ f
    g["fc_b"] = dlogits.sum(axis=0)
    df = dlogits @ p["fc_w"]
    dr2 = maxpool_backward(df.reshape(pl.shape), mask)
    db2 = dr2 * (b2 > 0)
    dc2, g["bn2_gamma"], g["bn2_beta"] = bn_backward(db2, bc2)
    dr1, g["conv2_w"] = conv_backward(dc2, cols2, p["conv2_w"], r1.shape)
    db1 = dr1 * (b1 > 0)
    dc1, g["bn1_gamma"], g["bn1_beta"] = bn_backward(db1, bc1)
    _, g["conv1_w"] = conv_backward(dc1, cols1, p["conv1_w"], x.shape)
    return loss, g


def infer(p, stats, x):
    """Inference-mode forward pass (same math as the exported ONNX graph)."""
    c1, _ = conv_forward(x, p["conv1_w"])
    r1 = np.maximum(bn_infer(c1, p["bn1_gamma"], p["bn1_beta"],
                             stats["bn1"]["mean"], stats["bn1"]["var"]), 0)
    c2, _ = conv_forward(r1, p["conv2_w"])
    r2 = np.maximum(bn_infer(c2, p["bn2_gamma"], p["bn2_beta"],
                             stats["bn2"]["mean"], stats["bn2"]["var"]), 0)
    pl, _ = maxpool_forward(r2)
    f = pl.reshape(pl.shape[0], -1)
    return softmax(f @ p["fc_w"].T + p["fc_b"])


class Adam:
    def __init__(self, params, lr=3e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params, grads):
        self.t += 1
        for k in params:
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * grads[k]
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * grads[k] ** 2
            mh = self.m[k] / (1 - self.b1 ** self.t)
            vh = self.v[k] / (1 - self.b2 ** self.t)
            params[k] -= self.lr * mh / (np.sqrt(vh) + self.eps)


# ---------------------------------------------------------------- export ----

def export(p, stats, path):
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    inits = [
        numpy_helper.from_array(f32(p["conv1_w"]), "conv1.weight"),
        numpy_helper.from_array(f32(p["bn1_gamma"]), "bn1.scale"),
        numpy_helper.from_array(f32(p["bn1_beta"]), "bn1.bias"),
        numpy_helper.from_array(f32(stats["bn1"]["mean"]), "bn1.running_mean"),
        numpy_helper.from_array(f32(stats["bn1"]["var"]), "bn1.running_var"),
        numpy_helper.from_array(f32(p["conv2_w"]), "conv2.weight"),
        numpy_helper.from_array(f32(p["bn2_gamma"]), "bn2.scale"),
        numpy_helper.from_array(f32(p["bn2_beta"]), "bn2.bias"),
        numpy_helper.from_array(f32(stats["bn2"]["mean"]), "bn2.running_mean"),
        numpy_helper.from_array(f32(stats["bn2"]["var"]), "bn2.running_var"),
        numpy_helper.from_array(f32(p["fc_w"]), "fc.weight"),
        numpy_helper.from_array(f32(p["fc_b"]), "fc.bias"),
    ]
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    nodes = [
        helper.make_node("Conv", ["image", "conv1.weight"], ["conv1"], name="conv1", **conv),
        helper.make_node("BatchNormalization",
                         ["conv1", "bn1.scale", "bn1.bias", "bn1.running_mean", "bn1.running_var"],
                         ["bn1"], name="bn1", epsilon=EPS),
        helper.make_node("Relu", ["bn1"], ["relu1"], name="relu1"),
        helper.make_node("Conv", ["relu1", "conv2.weight"], ["conv2"], name="conv2", **conv),
        helper.make_node("BatchNormalization",
                         ["conv2", "bn2.scale", "bn2.bias", "bn2.running_mean", "bn2.running_var"],
                         ["bn2"], name="bn2", epsilon=EPS),
        helper.make_node("Relu", ["bn2"], ["relu2"], name="relu2"),
        helper.make_node("MaxPool", ["relu2"], ["pool"], name="pool",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc",
                         transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "digits-cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="onyx-tools/train-digits.py",
                              producer_version="1")
    model.ir_version = 8
    model.doc_string = ("Small CNN trained in numpy on scikit-learn's 8x8 digits; "
                        "input pixels scaled to [0,1].")
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)
    return model


# ------------------------------------------------------------------ main ----

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="models/digits")
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args()

    digits = load_digits()
    x = (digits.images / 16.0).reshape(-1, 1, 8, 8)
    y = digits.target
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=SEED,
                                              stratify=y)
    rng = np.random.default_rng(SEED)
    p, stats = init_params(rng)
    opt = Adam(p)
    eye = np.eye(10)
    batch = 32
    acc = 0.0
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_tr))
        total = 0.0
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            if len(idx) < 2:
                continue
            loss, g = train_step(p, stats, x_tr[idx], eye[y_tr[idx]])
            opt.step(p, g)
            total += loss * len(idx)
        acc = float((infer(p, stats, x_te).argmax(1) == y_te).mean())
        print(f"epoch {epoch:2d}  train loss {total / len(x_tr):.4f}  test acc {acc:.4f}")
        if epoch >= 10 and acc >= 0.98:
            break
    if acc < TARGET_ACC:
        sys.exit(f"test accuracy {acc:.4f} below target {TARGET_ACC}")

    # float32 copies: the exported model and the reference inference use these
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    s32 = {k: {kk: vv.astype(np.float32) for kk, vv in v.items()} for k, v in stats.items()}
    x_te32 = x_te.astype(np.float32)
    acc32 = float((infer(p32, s32, x_te32).argmax(1) == y_te).mean())
    print(f"test accuracy (float32, {len(y_te)} images): {acc32:.4f}")

    os.makedirs(os.path.join(args.out, "samples"), exist_ok=True)
    model_path = os.path.join(args.out, "digits-cnn.onnx")
    export(p32, s32, model_path)

    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    ort_prob = sess.run(["probabilities"], {"image": x_te32})[0]
    np_prob = infer(p32, s32, x_te32)
    diff = float(np.abs(ort_prob - np_prob).max())
    print(f"onnxruntime vs numpy max abs diff: {diff:.3g}")
    if diff >= 1e-5:
        sys.exit("onnxruntime output does not match numpy inference")
    ort_acc = float((ort_prob.argmax(1) == y_te).mean())
    print(f"test accuracy (onnxruntime): {ort_acc:.4f}")

    # samples: first test images with distinct labels, six of them
    chosen, seen = [], set()
    for i, lab in enumerate(y_te):
        if int(lab) not in seen:
            seen.add(int(lab))
            chosen.append(i)
        if len(chosen) == 6:
            break
    expected = []
    for k, i in enumerate(chosen):
        label = int(y_te[i])
        name = f"digit-{k}-label-{label}.pb"
        t = numpy_helper.from_array(x_te32[i:i + 1], "image")
        with open(os.path.join(args.out, "samples", name), "wb") as fh:
            fh.write(t.SerializeToString())
        probs = sess.run(["probabilities"], {"image": x_te32[i:i + 1]})[0][0]
        pred = int(probs.argmax())
        expected.append({"file": name, "label": label, "predicted": pred,
                         "probability": float(probs[pred]),
                         "probabilities": [float(v) for v in probs]})
        print(f"  {name}: label {label} predicted {pred} (p={probs[pred]:.4f})")
    with open(os.path.join(args.out, "samples", "expected.json"), "w") as fh:
        json.dump({"model": "digits-cnn.onnx", "input": "image", "output": "probabilities",
                   "samples": expected}, fh, indent=2)
        fh.write("\n")

    readme = f"""# digits-cnn

A small convolutional network that classifies scikit-learn's bundled 8x8
handwritten digits (`sklearn.datasets.load_digits`, pixel values divided by 16
so they lie in [0,1]).

Graph (ONNX opset 13, IR version 8): Conv(1->8, 3x3, pad 1) -> BatchNormalization
-> Relu -> Conv(8->16, 3x3, pad 1) -> BatchNormalization -> Relu -> MaxPool 2x2
-> Flatten -> Gemm(256->10) -> Softmax. Input `image` float32 [batch,1,8,8],
output `probabilities` float32 [batch,10]. The BatchNormalization nodes are not
folded into the convolutions; they carry the learned scale/bias and running
mean/variance (epsilon 1e-5).

Made by `tools/train-digits.py`, which trains the network in plain numpy
(hand-written forward/backward passes, Adam, fixed seed {SEED}) on an 80/20
stratified train/test split and exports it with `onnx.helper`.

Test accuracy: {ort_acc * 100:.2f}% on {len(y_te)} held-out images (onnxruntime {ort.__version__}).

`samples/` holds six test-set digits as serialized `TensorProto`s
(float32 [1,1,8,8], name `image`) and `expected.json` with onnxruntime's
predicted class and full probability vector for each.
"""
    with open(os.path.join(args.out, "README.md"), "w") as fh:
        fh.write(readme)
    print(f"wrote {model_path} ({os.path.getsize(model_path)} bytes)")


if __name__ == "__main__":
    main()
