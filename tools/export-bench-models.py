#!/usr/bin/env python3
"""Export the benchmark models with seeded random weights (nothing is downloaded).

  resnet50         torchvision resnet50, input [1,3,224,224]
  mobilenet_v2     torchvision mobilenet_v2, input [1,3,224,224]
  efficientnet_b0  torchvision efficientnet_b0, input [1,3,224,224]
  bert_base        transformers BertModel(BertConfig()) (12 layers, hidden 768),
                   input_ids / attention_mask / token_type_ids int64 [1,128];
                   outputs last_hidden_state and pooler_output
  vit_b_16         torchvision vit_b_16, input [1,3,224,224]
  lstm             torch.nn.LSTM(256, 256, num_layers=2), input [64,4,256]
                   (sequence 64, batch 4), exported as two ONNX LSTM nodes

Not exported by default (not in the speed acceptance set), for the
inter-op scheduler: --only googlenet.

  googlenet        torchvision googlenet (Inception v1, no auxiliary heads),
                   input [1,3,224,224]: four-branch blocks

Opset 17, batch 1 unless stated, TorchScript exporter, BatchNorm folded into
Conv as real exports are. Normalisation layers get random parameters as in
tools/export-models.py, whose exporter this script reuses.

Layout (the backend-test layout, so tools/compare-models.py checks Onyx
against onnxruntime and tools/compare-ort.py benchmarks the same files):

  OUTDIR/<name>/model.onnx
  OUTDIR/<name>/data.json                   {"rtol": 1e-3, "atol": 1e-4}
  OUTDIR/<name>/test_data_set_0/input_K.pb   seeded random inputs
  OUTDIR/<name>/test_data_set_0/output_K.pb  onnxruntime's outputs

The files are large (BERT-base is about 440 MB) and are not committed.

Usage:
  .venv/bin/python tools/export-bench-models.py [OUTDIR] [--only NAME...]
  .venv/bin/python tools/compare-models.py OUTDIR --onyx .build/release/onyx
"""
import argparse
import importlib.util
import json
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUTDIR = "/tmp/onyx-bench-models"
TOLERANCE = {"rtol": 1e-3, "atol": 1e-4}


def load_exporter():
    spec = importlib.util.spec_from_file_location("export_models", os.path.join(HERE, "export-models.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image(seed):
    return np.random.default_rng(seed).standard_normal((1, 3, 224, 224)).astype(np.float32)


def case_resnet50():
    import torchvision
    return torchvision.models.resnet50(weights=None), {"input": image(1)}, ["logits"]


def case_mobilenet_v2():
    import torchvision
    return torchvision.models.mobilenet_v2(weights=None), {"input": image(2)}, ["logits"]


def case_efficientnet_b0():
    import torchvision
    return torchvision.models.efficientnet_b0(weights=None), {"input": image(3)}, ["logits"]


class BertOutputs(nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                        return_dict=True)
        return out.last_hidden_state, out.pooler_output


def case_bert_base():
    from transformers import BertConfig, BertModel
    config = BertConfig(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    config._attn_implementation = "eager"
    rng = np.random.default_rng(4)
    seq = 128
    ids = rng.integers(0, config.vocab_size, (1, seq)).astype(np.int64)
    mask = np.ones((1, seq), dtype=np.int64)
    mask[0, 100:] = 0  # padding at the end
    types = np.zeros((1, seq), dtype=np.int64)
    types[0, 64:] = 1
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return BertOutputs(BertModel(config)), inputs, ["last_hidden_state", "pooler_output"]


def case_vit_b_16():
    import torchvision
    model = torchvision.models.vit_b_16(weights=None)
    # torchvision zeroes the head and the class token; give them values.
    with torch.no_grad():
        model.heads.head.weight.normal_(0.0, 0.02)
        model.heads.head.bias.normal_(0.0, 0.02)
        model.class_token.normal_(0.0, 0.5)
    return model, {"input": image(5)}, ["logits"]


class StackedLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=256, hidden_size=256, num_layers=2)

    def forward(self, x):
        y, (h, c) = self.lstm(x)
        return y, h, c


def case_lstm():
    x = np.random.default_rng(6).standard_normal((64, 4, 256)).astype(np.float32)
    return StackedLSTM(), {"x": x}, ["y", "h_n", "c_n"]


def case_googlenet():
    import torchvision
    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)
    return model, {"input": image(7)}, ["logits"]


DEFAULT_CASES = ["resnet50", "mobilenet_v2", "efficientnet_b0", "bert_base", "vit_b_16", "lstm"]

CASES = {
    "resnet50": case_resnet50,
    "mobilenet_v2": case_mobilenet_v2,
    "efficientnet_b0": case_efficientnet_b0,
    "bert_base": case_bert_base,
    "vit_b_16": case_vit_b_16,
    "lstm": case_lstm,
    "googlenet": case_googlenet,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir", nargs="?", default=DEFAULT_OUTDIR)
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(CASES))
    args = parser.parse_args()
    exporter = load_exporter()
    exporter.CASES = CASES  # export_case derives each case's seed from this table
    torch.set_num_threads(1)
    torch.backends.mha.set_fastpath_enabled(False)
    os.makedirs(args.outdir, exist_ok=True)
    for name in args.only or DEFAULT_CASES:
        exporter.export_case(name, args.outdir)
        with open(os.path.join(args.outdir, name, "data.json"), "w") as f:
            json.dump(TOLERANCE, f)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
