#!/usr/bin/env python3
"""Exports small models whose normalizations the optimizer fuses.

usage: .venv/bin/python tools/export-norm-models.py OUTDIR [NAME ...]

Each OUTDIR/NAME.onnx is a PyTorch model with random weights (eval mode),
exported by the TorchScript exporter (dynamo=False) with constant folding:

  bert_opset13     a 4-layer BERT-like encoder (hidden 256, 4 heads, seq 128,
                   batch 2, post-LN residuals); opset 13 has no
                   LayerNormalization, so each LayerNorm is exported
                   decomposed (ReduceMean … Sqrt, Div, Mul, Add)
  bert_opset17     the same at opset 17 (LayerNormalization nodes)
  vit_prenorm_opset17
                   a 4-layer pre-LN encoder (ViT style: x + f(LN(x))) on
                   2×65×192 float inputs, whose residual sums are read both by
                   a LayerNorm and by the next residual Add
  groupnorm_opset13, groupnorm_opset18
                   a conv block: 4 × (Conv 3×3 → GroupNorm(8 groups) → SiLU)
                   on 1×64×64×64; GroupNorm is exported as Reshape →
                   InstanceNormalization → Reshape → Mul → Add

Then: onyx optimize OUTDIR/NAME.onnx -o OPT.onnx --report, and
tools/check-optimized.py OUTDIR/NAME.onnx OPT.onnx --op-absent ReduceMean
(or InstanceNormalization).
"""
import os, sys, warnings
import torch, torch.nn as nn

SEED = 3


class EncoderLayer(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden, eps=1e-12)
        self.ff1 = nn.Linear(hidden, 4 * hidden)
        self.ff2 = nn.Linear(4 * hidden, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x):
        b, s, h = x.shape
        q, k, v = self.qkv(x).reshape(b, s, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        attention = torch.softmax(q @ k.transpose(-1, -2) / (h // self.heads) ** 0.5, dim=-1)
        context = (attention @ v).transpose(1, 2).reshape(b, s, h)
        x = self.ln1(x + self.proj(context))
        return self.ln2(x + self.ff2(torch.nn.functional.gelu(self.ff1(x))))


class Bert(nn.Module):
    def __init__(self, hidden=256, heads=4, layers=4, vocab=1000, seq=128):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.position = nn.Parameter(torch.randn(1, seq, hidden) * 0.02)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads) for _ in range(layers))

    def forward(self, ids):
        x = self.ln(self.embed(ids) + self.position)
        for layer in self.layers:
            x = layer(x)
        return x


class PreNormEncoder(nn.Module):
    def __init__(self, hidden=192, heads=3, layers=4):
        super().__init__()
        self.layers = nn.ModuleList(nn.ModuleDict({
            "ln1": nn.LayerNorm(hidden, eps=1e-6), "attention": nn.MultiheadAttention(hidden, heads, batch_first=True),
            "ln2": nn.LayerNorm(hidden, eps=1e-6),
            "mlp": nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden)),
        }) for _ in range(layers))
        self.ln = nn.LayerNorm(hidden, eps=1e-6)

    def forward(self, x):
        for layer in self.layers:
            y = layer["ln1"](x)
            x = x + layer["attention"](y, y, y, need_weights=False)[0]
            x = x + layer["mlp"](layer["ln2"](x))
        return self.ln(x)


class ConvGroupNorm(nn.Module):
    def __init__(self, channels=64, groups=8, blocks=4):
        super().__init__()
        self.blocks = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.GroupNorm(groups, channels), nn.SiLU())
            for _ in range(blocks)])

    def forward(self, x):
        return self.blocks(x)


def randomize_norms(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.LayerNorm, nn.GroupNorm)):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)


MODELS = {
    "bert_opset13": (lambda: Bert(), lambda: torch.randint(0, 1000, (2, 128)), 13),
    "bert_opset17": (lambda: Bert(), lambda: torch.randint(0, 1000, (2, 128)), 17),
    "vit_prenorm_opset17": (lambda: PreNormEncoder(), lambda: torch.randn(2, 65, 192), 17),
    "groupnorm_opset13": (lambda: ConvGroupNorm(), lambda: torch.randn(1, 64, 64, 64), 13),
    "groupnorm_opset18": (lambda: ConvGroupNorm(), lambda: torch.randn(1, 64, 64, 64), 18),
}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in sys.argv[2:] or MODELS:
        make, inputs, opset = MODELS[name]
        torch.manual_seed(SEED)
        model = make().eval()
        randomize_norms(model, SEED)
        path = os.path.join(out, name + ".onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (inputs(),), path, input_names=["input"], output_names=["output"],
                              opset_version=opset, dynamo=False, do_constant_folding=True)
        print(path)


if __name__ == "__main__":
    main()
