#!/usr/bin/env python3
"""Export real PyTorch models to ONNX with random weights and onnxruntime references.

Every model is built from code (torchvision / transformers classes, or small
modules defined here) with fixed seeds and random weights; nothing is
downloaded. Before export, in eval mode, every normalisation layer gets random
parameters so that a kernel that mixes them up cannot pass by luck:

  BatchNorm      running_mean ~ N(0, 0.2), running_var ~ U(0.5, 2.0),
                 weight ~ U(0.5, 1.5), bias ~ N(0, 0.2)
  LayerNorm,     weight ~ U(0.5, 1.5), bias ~ N(0, 0.2)
  GroupNorm,
  InstanceNorm   (affine ones; InstanceNorm has track_running_stats=False)

The models go through the TorchScript exporter (`dynamo=False`): the newer
torch.export-based one needs onnxscript, which this venv does not have.

Layout (the ONNX backend-test layout, so `onyx test OUTDIR` runs them):

  OUTDIR/<name>/model.onnx
  OUTDIR/<name>/data.json                  {"rtol": ..., "atol": ...}
  OUTDIR/<name>/test_data_set_0/input_K.pb  seeded random inputs
  OUTDIR/<name>/test_data_set_0/output_K.pb onnxruntime's outputs

Tolerances: rtol 1e-3 (the backend-test default) and atol 1e-4 × the largest
|value| over the case's float outputs. Float32 kernels that sum in another
order differ by a few ulps per step; after tens of layers that is ~1e-5 of the
output's scale, so 1e-4 × scale leaves headroom while a real mistake (a wrong
epsilon, a swapped mean/var, a missing bias) moves outputs by percents. The
atol is scaled because elements near zero have no meaningful relative error;
an absolute 1e-7 would fail them on rounding alone.

Usage:
  .venv/bin/python tools/export-models.py OUTDIR [--only NAME...] [--list]
"""
import argparse
import json
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

SEED = 20250101
OPSET = 17
RTOL = 1e-3
ATOL_SCALE = 1e-4
KEEP_BN = "keep-batchnorm"


# --------------------------------------------------------------------------
# Normalisation parameters


def randomize_norms(model: nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)

    def uniform(t, low, high):
        t.copy_(torch.rand(t.shape, generator=generator) * (high - low) + low)

    def normal(t, std):
        t.copy_(torch.randn(t.shape, generator=generator) * std)

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                normal(module.running_mean, 0.2)
                uniform(module.running_var, 0.5, 2.0)
            if isinstance(module, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)):
                weight = getattr(module, "weight", None)
                bias = getattr(module, "bias", None)
                if weight is not None:
                    uniform(weight, 0.5, 1.5)
                if bias is not None:
                    normal(bias, 0.2)


# --------------------------------------------------------------------------
# Small models defined here


class GroupNormCNN(nn.Module):
    """Conv → GroupNorm → SiLU stages with a residual, pooled to a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.GroupNorm(8, 32), nn.SiLU())
        self.block = nn.Sequential(
            nn.Conv2d(32, 32, 3, padding=1), nn.GroupNorm(4, 32), nn.SiLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.GroupNorm(32, 32))
        self.down = nn.Sequential(nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.GroupNorm(1, 64), nn.GELU())
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(x + self.block(x))
        x = self.down(x)
        x = x.mean(dim=(2, 3))
        return self.head(x)


class ResidualIN(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x):
        return x + self.body(x)


class StyleTransferCNN(nn.Module):
    """A fast-style-transfer-like network: reflection padding, strided convs,
    InstanceNorm (affine, no running stats), residual blocks, nearest
    upsampling, tanh."""

    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(
            nn.ReflectionPad2d(4), nn.Conv2d(3, 16, 9), nn.InstanceNorm2d(16, affine=True), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(16, 32, 3, stride=2), nn.InstanceNorm2d(32, affine=True), nn.ReLU())
        self.res = nn.Sequential(ResidualIN(32), ResidualIN(32))
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.ReflectionPad2d(1), nn.Conv2d(32, 16, 3), nn.InstanceNorm2d(16, affine=True), nn.ReLU(),
            nn.ReflectionPad2d(4), nn.Conv2d(16, 3, 9))

    def forward(self, x):
        return torch.tanh(self.up(self.res(self.down(x))))


class LSTMModel(nn.Module):
    """2-layer batch-first LSTM with initial states, then a linear head."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=32, hidden_size=64, num_layers=2, batch_first=True)
        self.head = nn.Linear(64, 8)

    def forward(self, x, h0, c0):
        y, (h, c) = self.lstm(x, (h0, c0))
        return self.head(y), h, c


class GRUModel(nn.Module):
    """2-layer bidirectional sequence-first GRU with zero initial state."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(input_size=24, hidden_size=48, num_layers=2, bidirectional=True)

    def forward(self, x):
        y, h = self.gru(x)
        return y, h


# --------------------------------------------------------------------------
# Cases


def image(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def case_resnet18():
    import torchvision
    return torchvision.models.resnet18(weights=None), {"input": image((1, 3, 224, 224), 1)}, ["logits"], KEEP_BN


def case_resnet50():
    import torchvision
    return torchvision.models.resnet50(weights=None), {"input": image((1, 3, 224, 224), 2)}, ["logits"]


def case_mobilenet_v2():
    import torchvision
    return torchvision.models.mobilenet_v2(weights=None), {"input": image((1, 3, 224, 224), 3)}, ["logits"]


def case_mobilenet_v2_small():
    # Width 0.25 and a narrow classifier keep the file small; 2 images, 96×96.
    import torchvision
    model = torchvision.models.mobilenet_v2(weights=None, width_mult=0.25, num_classes=16)
    model.classifier[1] = nn.Linear(model.last_channel, 16)
    return model, {"input": image((2, 3, 96, 96), 4)}, ["logits"], KEEP_BN


def case_vit_tiny():
    from torchvision.models.vision_transformer import VisionTransformer
    model = VisionTransformer(image_size=32, patch_size=8, num_layers=4, num_heads=4,
                              hidden_dim=96, mlp_dim=192, num_classes=10)
    # torchvision zeroes the head and the class token; give them values.
    with torch.no_grad():
        model.heads.head.weight.normal_(0.0, 0.1)
        model.heads.head.bias.normal_(0.0, 0.1)
        model.class_token.normal_(0.0, 0.5)
    return model, {"input": image((2, 3, 32, 32), 5)}, ["logits"]


def case_bert_tiny():
    from transformers import BertConfig, BertModel
    config = BertConfig(vocab_size=500, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=64, type_vocab_size=2,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    config._attn_implementation = "eager"
    model = BertModel(config)

    class Wrapper(nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=token_type_ids, return_dict=True)
            return out.last_hidden_state, out.pooler_output

    rng = np.random.default_rng(6)
    batch, seq = 2, 16
    ids = rng.integers(0, config.vocab_size, (batch, seq)).astype(np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    mask[1, 11:] = 0  # padding in the second sequence
    types = np.zeros((batch, seq), dtype=np.int64)
    types[:, 8:] = 1
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return Wrapper(model), inputs, ["last_hidden_state", "pooler_output"]


def case_groupnorm_cnn():
    return GroupNormCNN(), {"input": image((2, 3, 32, 32), 7)}, ["logits"]


def case_instancenorm_cnn():
    return StyleTransferCNN(), {"input": image((1, 3, 64, 64), 8)}, ["image"]


def case_lstm():
    rng = np.random.default_rng(9)
    inputs = {
        "x": rng.standard_normal((3, 20, 32)).astype(np.float32),
        "h0": (0.5 * rng.standard_normal((2, 3, 64))).astype(np.float32),
        "c0": (0.5 * rng.standard_normal((2, 3, 64))).astype(np.float32),
    }
    return LSTMModel(), inputs, ["y", "h_n", "c_n"]


def case_gru():
    return GRUModel(), {"x": image((15, 2, 24), 10)}, ["y", "h_n"]


CASES = {
    "resnet18": case_resnet18,
    "resnet50": case_resnet50,
    "mobilenet_v2": case_mobilenet_v2,
    "mobilenet_v2_small": case_mobilenet_v2_small,
    "vit_tiny": case_vit_tiny,
    "bert_tiny": case_bert_tiny,
    "groupnorm_cnn": case_groupnorm_cnn,
    "instancenorm_cnn": case_instancenorm_cnn,
    "lstm": case_lstm,
    "gru": case_gru,
}


# --------------------------------------------------------------------------


def export_case(name: str, outdir: str) -> None:
    # One seed per case, so that exporting a subset gives the same files.
    seed = SEED + sorted(CASES).index(name)
    torch.manual_seed(seed)
    model, inputs, output_names, *flags = CASES[name]()
    # In eval mode the exporter folds BatchNorm into the Conv before it
    # (what real exports look like); KEEP_BN cases keep BatchNormalization
    # nodes instead (TrainingMode.PRESERVE on a model in eval mode).
    training = torch.onnx.TrainingMode.PRESERVE if KEEP_BN in flags else torch.onnx.TrainingMode.EVAL
    model.eval()
    randomize_norms(model, seed)

    folder = os.path.join(outdir, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    data_dir = os.path.join(folder, "test_data_set_0")
    os.makedirs(data_dir)
    path = os.path.join(folder, "model.onnx")

    args = tuple(torch.from_numpy(v) for v in inputs.values())
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, path, input_names=list(inputs), output_names=output_names,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True,
                          training=training)
    onnx.checker.check_model(path, full_check=True)

    # Names in the .pb files are the graph input names, so files match by name.
    for index, (input_name, value) in enumerate(inputs.items()):
        with open(os.path.join(data_dir, f"input_{index}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(value, input_name).SerializeToString())

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feeds = {i.name: inputs[i.name] for i in session.get_inputs()}
    outputs = session.run(None, feeds)
    for index, (info, value) in enumerate(zip(session.get_outputs(), outputs)):
        with open(os.path.join(data_dir, f"output_{index}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(value, info.name).SerializeToString())

    # Sanity: onnxruntime must agree with PyTorch itself.
    with torch.no_grad():
        expected = model(*args)
    if isinstance(expected, torch.Tensor):
        expected = (expected,)
    for got, want in zip(outputs, expected):
        want = want.numpy()
        scale = float(np.max(np.abs(want))) or 1.0
        if not np.allclose(got, want, rtol=1e-3, atol=1e-4 * scale):
            raise SystemExit(f"{name}: onnxruntime disagrees with PyTorch "
                             f"(max abs diff {np.max(np.abs(got - want)):.3g})")

    floats = [o for o in outputs if np.issubdtype(o.dtype, np.floating)]
    scale = max((float(np.max(np.abs(o))) for o in floats if o.size), default=1.0) or 1.0
    tolerance = {"rtol": RTOL, "atol": float(f"{ATOL_SCALE * scale:.3g}")}
    with open(os.path.join(folder, "data.json"), "w") as f:
        json.dump(tolerance, f)
        f.write("\n")

    nodes = onnx.load(path).graph.node
    size = os.path.getsize(path)
    shapes = ", ".join("x".join(map(str, o.shape)) for o in outputs)
    print(f"{name:20s} {size / 1e6:7.2f} MB  {len(nodes):5d} nodes  outputs {shapes}  "
          f"max|out| {scale:.3g}  atol {tolerance['atol']:.3g}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir", nargs="?")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(CASES))
    parser.add_argument("--list", action="store_true", help="print the case names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(CASES))
        return 0
    if not args.outdir:
        parser.error("OUTDIR is required")
    torch.set_num_threads(1)
    # nn.MultiheadAttention's inference fast path has no ONNX export.
    torch.backends.mha.set_fastpath_enabled(False)
    for name in args.only or CASES:
        export_case(name, args.outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
