#!/usr/bin/env python3
"""Exports models that keep their BatchNormalization nodes, for the optimizer.

usage: .venv/bin/python tools/export-bn-models.py OUTDIR [NAME ...]

Each OUTDIR/NAME.onnx is a PyTorch model with random weights and randomised
BatchNorm statistics (running mean ~ N(0, 0.2), running var ~ U(0.5, 2),
scale ~ U(0.5, 1.5), bias ~ N(0, 0.2)), exported at opset 17 by the
TorchScript exporter with TrainingMode.PRESERVE on a model in eval mode, so
BatchNormalization stays a node (a plain eval export folds it already):

  resnet18, resnet50, mobilenet_v2, mobilenet_v3_small, efficientnet_b0,
  shufflenet_v2, densenet121   torchvision CNNs (224×224, batch 1)
  mlp_bn1d                     Linear → BatchNorm1d → ReLU, twice, then Linear
  convtranspose_bn             ConvTranspose2d (groups 1 and 2) → BatchNorm2d → ReLU
  bn_lstm                      a recurrent-batch-norm LSTM cell unrolled over 6 steps:
                               BN(x·W_x) + BN(h·W_h) per step (Cooijmans et al.)

Then: onyx optimize OUTDIR/NAME.onnx -o OPT.onnx --report, and
tools/check-optimized.py OUTDIR/NAME.onnx OPT.onnx --op-absent BatchNormalization.
"""
import os, sys, warnings
import torch, torch.nn as nn, torchvision

SEED = 5


def randomize_batchnorms(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) * 1.5 + 0.5)
                if m.weight is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)


class MLPBatchNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(),
                                 nn.Linear(128, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


class ConvTransposeBatchNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(16, 32, 4, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1, groups=2, bias=False),
            nn.BatchNorm2d(16), nn.ReLU())

    def forward(self, x):
        return self.net(x)


class BatchNormLSTM(nn.Module):
    """LSTM with batch-normalized input-to-hidden and hidden-to-hidden products."""

    def __init__(self, inputs=32, hidden=48, steps=6):
        super().__init__()
        self.steps, self.hidden = steps, hidden
        self.w_x = nn.Parameter(torch.randn(inputs, 4 * hidden) * 0.2)
        self.w_h = nn.Parameter(torch.randn(hidden, 4 * hidden) * 0.2)
        self.bias = nn.Parameter(torch.randn(4 * hidden) * 0.1)
        self.bn_x = nn.ModuleList(nn.BatchNorm1d(4 * hidden) for _ in range(steps))
        self.bn_h = nn.ModuleList(nn.BatchNorm1d(4 * hidden) for _ in range(steps))
        self.bn_c = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in range(steps))
        self.head = nn.Linear(hidden, 8)

    def forward(self, x):
        h = torch.zeros(x.shape[0], self.hidden)
        c = torch.zeros(x.shape[0], self.hidden)
        for t in range(self.steps):
            gates = self.bn_x[t](x[:, t] @ self.w_x) + self.bn_h[t](h @ self.w_h) + self.bias
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(self.bn_c[t](c))
        return self.head(h)


def image(n=1, size=224):
    return (torch.randn(n, 3, size, size),)


CASES = {
    "resnet18": lambda: (torchvision.models.resnet18(), image()),
    "resnet50": lambda: (torchvision.models.resnet50(), image()),
    "mobilenet_v2": lambda: (torchvision.models.mobilenet_v2(), image()),
    "mobilenet_v3_small": lambda: (torchvision.models.mobilenet_v3_small(), image()),
    "efficientnet_b0": lambda: (torchvision.models.efficientnet_b0(), image()),
    "shufflenet_v2": lambda: (torchvision.models.shufflenet_v2_x1_0(), image()),
    "densenet121": lambda: (torchvision.models.densenet121(), image()),
    "mlp_bn1d": lambda: (MLPBatchNorm(), (torch.randn(4, 64),)),
    "convtranspose_bn": lambda: (ConvTransposeBatchNorm(), (torch.randn(2, 16, 8, 8),)),
    "bn_lstm": lambda: (BatchNormLSTM(), (torch.randn(4, 6, 32),)),
}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    outdir, names = sys.argv[1], sys.argv[2:] or sorted(CASES)
    os.makedirs(outdir, exist_ok=True)
    for name in names:
        torch.manual_seed(SEED + sorted(CASES).index(name))
        model, args = CASES[name]()
        model.eval()
        randomize_batchnorms(model, SEED)
        path = os.path.join(outdir, name + ".onnx")
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, args, path, input_names=["input"], output_names=["output"], opset_version=17,
                              dynamo=False, do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE)
        print(path)


if __name__ == "__main__":
    main()
