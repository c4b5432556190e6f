#!/usr/bin/python3
"""The networks `npm run bench:steps -- --pytorch` times in PyTorch beside ours (Debian's
python3-torch and python3-torchvision; not part of the project itself): torchvision's adapted
to MNIST's shape (1x28x28 in, 10 classes out), exported for `--model`, and the seed CNN and
the examples/ networks as their PyTorch twins (examples/pytorch/twins.py).

  export --out DIR [--models a,b] [--opset 13]   DIR/<name>.onnx, training-mode exports
  speed  --models a,b --threads T --steps S      median SGD step ms at batch 128 per model, JSON

Every network starts from torch.manual_seed(0); a torchvision net's first conv takes one channel
(its other settings kept), its classifier gives 10 outputs, stochastic depth is off.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.models as tv

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'examples', 'pytorch'))
from twins import TWINS  # noqa: E402  seed-cnn, tiny-gap, resnet-gn, lenet5


def one_channel(conv):
    return nn.Conv2d(1, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.groups, conv.bias is not None)


def resnet18():
    m = tv.resnet18(num_classes=10)
    m.conv1 = one_channel(m.conv1)
    return m


def efficientnet_b0():
    m = tv.efficientnet_b0(num_classes=10, stochastic_depth_prob=0.0)
    m.features[0][0] = one_channel(m.features[0][0])
    return m


def densenet():
    """densenet121's stem and first three dense blocks (the fourth cannot run on 28x28)."""
    d = tv.densenet121(num_classes=10)
    f = d.features
    features = nn.Sequential(one_channel(f.conv0), f.norm0, f.relu0, f.pool0, f.denseblock1, f.transition1, f.denseblock2, f.transition2, f.denseblock3)
    channels = 1024
    return nn.Sequential(features, nn.BatchNorm2d(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10))


def mobilenet_v3_small():
    m = tv.mobilenet_v3_small(num_classes=10)
    m.features[0][0] = one_channel(m.features[0][0])
    return m


def squeezenet1_1():
    m = tv.squeezenet1_1(num_classes=10)
    m.features[0] = one_channel(m.features[0])
    return m


def shufflenet_v2_x0_5():
    m = tv.shufflenet_v2_x0_5(num_classes=10)
    m.conv1[0] = one_channel(m.conv1[0])
    return m


TORCHVISION = {'resnet18': resnet18, 'efficientnet_b0': efficientnet_b0, 'densenet': densenet,
               'mobilenet_v3_small': mobilenet_v3_small, 'squeezenet1_1': squeezenet1_1,
               'shufflenet_v2_x0_5': shufflenet_v2_x0_5}
NETS = {**TORCHVISION, **TWINS}


def build(name):
    torch.manual_seed(0)
    return NETS[name]()


def export(args):
    os.makedirs(args.out, exist_ok=True)
    for name in args.models.split(','):
        model = build(name).train()
        path = os.path.join(args.out, f'{name}.onnx')
        torch.onnx.export(model, torch.randn(2, 1, 28, 28), path, training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                          opset_version=args.opset, input_names=['input'], output_names=['output'],
                          dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}})
        print(path)


def speed(args):
    torch.set_num_threads(args.threads)
    result = {'impl': f'pytorch {torch.__version__}', 'threads': args.threads, 'batch': args.batch, 'steps': {}}
    for name in args.models.split(','):
        model = build(name).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y = torch.randn(args.batch, 1, 28, 28), torch.randint(0, 10, (args.batch,))
        times = []
        for i in range(args.steps + 3):
            t = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            if i >= 3:  # warm-up steps left out
                times.append((time.perf_counter() - t) * 1000)
        result['steps'][name] = {'step_ms_median': round(statistics.median(times), 2), 'step_ms_min': round(min(times), 2)}
    print(json.dumps(result))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('mode', choices=['export', 'speed'])
    p.add_argument('--models', default=','.join(TORCHVISION))
    p.add_argument('--out')
    p.add_argument('--opset', type=int, default=13)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--batch', type=int, default=128)
    args = p.parse_args()
    export(args) if args.mode == 'export' else speed(args)


if __name__ == '__main__':
    main()
