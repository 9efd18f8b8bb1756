#!/usr/bin/env python3
"""PyTorch eager side of the DeepLabv3 forward benchmarks (docs/benchmarks.md, "DeepLabv3
forward on the CPU" and "on the GPU"): scripts/bench_cpu_forward.sh and
scripts/bench_gpu_forward.sh run it interleaved with the `deeplab_forward` example of
the `models` crate (models/examples/deeplab_forward.rs).

Needs torch, torchvision and safetensors (CPU benchmark: torch 2.13 / torchvision 0.28 in a
virtual environment outside the repository, e.g. /tmp/vt; GPU benchmark: whatever the GPU
machine has, reported in the output). Models:

- ``resnet50`` / ``resnet101``: torchvision's ``deeplabv3_resnet50/101(weights=None,
  weights_backbone=None, num_classes=1, aux_loss=False)`` (random initialisation; the time does
  not depend on it).
- ``resnet10_os16_w8``: ``Resnet10Os16W8`` below, written to mirror the Rust preset
  (``models/src/{resnet,deeplabv3,presets}.rs``) with the same state-dict names, so
  ``load_state_dict(strict=True)`` of the bundled
  ``models/checkpoints/deeplabv3_synth.safetensors`` (which has no ``num_batches_tracked``; the
  BatchNorms here do not track it) proves the architecture.

``--device cuda`` runs on the GPU; each timed pass then ends with ``torch.cuda.synchronize()``,
as the example's passes end with candle's device synchronisation. ``--tf32 off`` (default)
computes convolutions and matmuls in strict float32 like candle; ``--tf32 on`` is PyTorch's
default on NVIDIA GPUs (cuDNN convolutions in TF32, ``torch.backends.cudnn.allow_tf32``).

Prints one JSON line per model in the example's format, with "impl": "torch". With
``--compare PATH`` (the example's ``--dump`` output on the same input, batch and size), it also
prints the max abs difference of ``out`` (and of the fake logits when ``PATH.fake_logit``
exists).

    /tmp/vt/bin/python scripts/bench_cpu_forward.py --preset resnet10_os16_w8 \
        --weights models/checkpoints/deeplabv3_synth.safetensors --threads 2 --iters 20 --warmup 3
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def fixed_input(batch, size):
    """The example's input: element i of the flattened N×3×H×W batch is byte
    ((i·2654435761) >> 16) & 255, scaled to [0, 1] and normalised with its channel's ImageNet
    mean and std, every step in float32 as the Rust side rounds it."""
    plane = size * size
    idx = np.arange(batch * 3 * plane, dtype=np.uint64)
    byte = ((idx * np.uint64(2654435761)) >> np.uint64(16)) & np.uint64(255)
    channel = (idx // np.uint64(plane)) % np.uint64(3)
    x = byte.astype(np.float32) / np.float32(255.0)
    x = (x - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
    return torch.from_numpy(x.astype(np.float32).reshape(batch, 3, size, size))


def bn(channels):
    # The Rust checkpoints carry no num_batches_tracked; eval mode never reads it.
    return nn.BatchNorm2d(channels, track_running_stats=True)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions, both at the block's dilation (DeepLab ports' convention; the
    Rust `BlockKind::Basic`), stride in the first; 1×1 projection shortcut when the shape
    changes."""

    def __init__(self, c_in, planes, stride, dilation):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = bn(planes)
        self.downsample = None
        if stride != 1 or c_in != planes:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, planes, 1, stride, bias=False), bn(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class Backbone(nn.Module):
    """ResNet stem and four layers of basic blocks; `dilate[k]` replaces layer k+2's stride by
    dilation, block 0 of a layer keeping the dilation from before it (torchvision's
    `_make_layer`)."""

    def __init__(self, layers, width, dilate):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, padding=3, bias=False)
        self.bn1 = bn(width)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c_in, dilation = width, 1
        for l, blocks in enumerate(layers):
            planes = width << l
            stride = 1 if l == 0 else 2
            previous = dilation
            if l > 0 and dilate[l - 1]:
                dilation *= stride
                stride = 1
            seq = []
            for b in range(blocks):
                seq.append(BasicBlock(c_in, planes, stride if b == 0 else 1, previous if b == 0 else dilation))
                c_in = planes
            setattr(self, f"layer{l + 1}", nn.Sequential(*seq))
        self.out_channels = c_in

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def conv_bn_relu(c_in, c_out, kernel, dilation=1):
    pad = dilation * (kernel // 2)
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=pad, dilation=dilation, bias=False), bn(c_out), nn.ReLU())


class Pooling(nn.Sequential):
    """ASPP image pooling: global average pool, 1×1 conv, BN, ReLU, back to the map's size
    (bilinear from 1×1 = broadcast). Indices as torchvision's ASPPPooling (conv at 1)."""

    def __init__(self, c_in, c):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c_in, c, 1, bias=False), bn(c), nn.ReLU())

    def forward(self, x):
        size = x.shape[-2:]
        y = super().forward(x)
        return F.interpolate(y, size=size, mode="bilinear", align_corners=False)


class Aspp(nn.Module):
    def __init__(self, c_in, c, rates):
        super().__init__()
        branches = [conv_bn_relu(c_in, c, 1)] + [conv_bn_relu(c_in, c, 3, r) for r in rates]
        self.convs = nn.ModuleList(branches + [Pooling(c_in, c)])
        self.project = nn.Sequential(nn.Conv2d(5 * c, c, 1, bias=False), bn(c), nn.ReLU(), nn.Dropout(0.5))

    def forward(self, x):
        return self.project(torch.cat([branch(x) for branch in self.convs], dim=1))


class DeepLabV3Basic(nn.Module):
    """DeepLabv3 on a basic-block ResNet: `backbone.*`, `classifier.{0 (ASPP), 1 (3×3 conv),
    2 (BN), 3 (ReLU), 4 (1×1 conv with bias)}`, optional `fake_classifier` (global average pool
    of layer4 → Linear(C4, 1)); logits upsampled bilinearly to the input size."""

    def __init__(self, layers, width, dilate, rates, head, num_classes=1, fake_classifier=True):
        super().__init__()
        self.backbone = Backbone(layers, width, dilate)
        c4 = self.backbone.out_channels
        self.classifier = nn.Sequential(
            Aspp(c4, head, rates),
            nn.Conv2d(head, head, 3, padding=1, bias=False),
            bn(head),
            nn.ReLU(),
            nn.Conv2d(head, num_classes, 1),
        )
        self.fake_classifier = nn.Linear(c4, 1) if fake_classifier else None

    def forward(self, x):
        features = self.backbone(x)
        out = F.interpolate(self.classifier(features), size=x.shape[-2:], mode="bilinear", align_corners=False)
        result = {"out": out}
        if self.fake_classifier is not None:
            result["fake_logit"] = self.fake_classifier(features.mean(dim=(2, 3)))
        return result


def resnet10_os16_w8(fake_classifier=True):
    """`DeepLabV3Config::resnet10_os16_w8()`: Basic [1,1,1,1], width 8, output stride 16
    (layer4 dilated), ASPP rates 6/12/18, head 32 channels, 1 class."""
    return DeepLabV3Basic([1, 1, 1, 1], 8, [False, False, True], [6, 12, 18], 32, 1, fake_classifier)


def build(preset, weights):
    if preset in ("resnet50", "resnet101"):
        if weights:
            sys.exit("--weights is only supported for resnet10_os16_w8 here")
        constructor = getattr(torchvision.models.segmentation, f"deeplabv3_{preset}")
        return constructor(weights=None, weights_backbone=None, num_classes=1, aux_loss=False)
    if preset != "resnet10_os16_w8":
        sys.exit(f"unknown preset {preset!r}; use resnet50, resnet101 or resnet10_os16_w8")
    if not weights:
        return resnet10_os16_w8(fake_classifier=False)
    from safetensors.torch import load_file

    state = load_file(weights)
    model = resnet10_os16_w8(fake_classifier="fake_classifier.weight" in state)
    # strict=True: every name and shape must match both ways.
    model.load_state_dict(state, strict=True)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="resnet10_os16_w8")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--weights", help="safetensors state dict (resnet10_os16_w8 only)")
    ap.add_argument("--compare", help="the example's --dump output for the same input")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--tf32", choices=["off", "on"], default="off")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = args.tf32 == "on"
    torch.backends.cuda.matmul.allow_tf32 = args.tf32 == "on"
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = build(args.preset, args.weights).eval().to(device)
    x = fixed_input(args.batch, args.size).to(device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    times = []
    with torch.inference_mode():
        for _ in range(args.warmup):
            result = model(x)
        sync()
        for _ in range(args.iters):
            start = time.perf_counter()
            result = model(x)
            sync()
            times.append((time.perf_counter() - start) * 1e3)
    median = statistics.median(times)
    print(json.dumps({
        "impl": "torch",
        "preset": args.preset,
        "batch": args.batch,
        "size": args.size,
        "threads": torch.get_num_threads(),
        "ms_per_batch_median": median,
        "ms_per_image": median / args.batch,
        "ms_per_batch_min": min(times),
        "iters": args.iters,
        "warmup": args.warmup,
        "weights": args.weights,
        "device": args.device,
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "tf32": args.tf32,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "images_per_s": 1e3 * args.batch / median,
    }), flush=True)

    if args.compare:
        out = result["out"].cpu().numpy()
        candle = np.fromfile(args.compare, dtype="<f4")
        if candle.size != out.size:
            sys.exit(f"{args.compare}: {candle.size} values, expected {out.size} (same batch and size?)")
        report = {
            "compare": args.compare,
            "out_max_abs_diff": float(np.abs(candle.reshape(out.shape) - out).max()),
            "out_max_abs": float(np.abs(out).max()),
        }
        fake_path = args.compare + ".fake_logit"
        if "fake_logit" in result and os.path.exists(fake_path):
            fake = result["fake_logit"].cpu().numpy()
            report["fake_logit_max_abs_diff"] = float(np.abs(np.fromfile(fake_path, dtype="<f4").reshape(fake.shape) - fake).max())
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
