#!/usr/bin/python3
"""The examples/ networks written in PyTorch, and what to do with them (Debian's python3-torch;
not part of the project's tests or CI):

  check MODEL CHECKPOINT --data-dir DIR   load a checkpoint's model.safetensors into the PyTorch
                                          twin with load_state_dict(strict=True) and print its
                                          MNIST test accuracy as JSON
  state-dicts                             print each twin's state_dict names and shapes as JSON
                                          (test/fixtures/pytorch_layers.py stores them)

MODEL is the name of a file in examples/ (seed-cnn, tiny-gap, resnet-gn, lenet5).
"""
import argparse
import json
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SeedCnn(nn.Module):
    """examples/seed-cnn.ts (and the built-in default)."""

    def __init__(self, dropout=0.1):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 12, 3, padding=1), nn.BatchNorm2d(12)
        self.conv2, self.bn2 = nn.Conv2d(12, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.trans1 = nn.Conv2d(32, 12, 1)
        self.conv3, self.bn3 = nn.Conv2d(12, 16, 3, padding=1), nn.BatchNorm2d(16)
        self.conv4, self.bn4 = nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.trans2 = nn.Conv2d(32, 12, 1)
        self.conv5, self.bn5 = nn.Conv2d(12, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.conv6, self.bn6 = nn.Conv2d(32, 10, 3, padding=0), nn.BatchNorm2d(10)
        self.drop = nn.Dropout(dropout)

    def unit(self, conv, bn, x):
        return F.relu(self.drop(bn(conv(x))))

    def forward(self, x):
        x = self.unit(self.conv2, self.bn2, self.unit(self.conv1, self.bn1, x))
        x = self.trans1(F.max_pool2d(x, 2))
        x = self.unit(self.conv4, self.bn4, self.unit(self.conv3, self.bn3, x))
        x = self.trans2(F.max_pool2d(x, 2))
        x = self.unit(self.conv6, self.bn6, self.unit(self.conv5, self.bn5, x))
        return F.log_softmax(F.adaptive_avg_pool2d(x, 1).flatten(1), dim=1)


def tiny_gap(dropout=0.05):
    """examples/tiny-gap.ts"""
    def conv_block(cin, cout, padding=0):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.Dropout(dropout))
    return nn.Sequential(OrderedDict(
        block1=nn.Sequential(conv_block(1, 8), conv_block(8, 10), conv_block(10, 16)),
        transition=nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(16, 8, 1, bias=False)),
        block2=nn.Sequential(conv_block(8, 12), conv_block(12, 16), conv_block(16, 16)),
        head=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 10, 1, bias=False), nn.Flatten(), nn.LogSoftmax(dim=1)),
    ))


class Block(nn.Module):
    """examples/resnet-gn.ts's residual block."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.GroupNorm(4, cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.GroupNorm(4, cout))
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        return self.body(x) + (self.shortcut(x) if self.shortcut is not None else x)


def resnet_gn():
    """examples/resnet-gn.ts"""
    return nn.Sequential(OrderedDict(
        stem=nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.GroupNorm(4, 8), nn.ReLU()),
        block1=Block(8, 8), relu1=nn.ReLU(), block2=Block(8, 16, 2), relu2=nn.ReLU(), block3=Block(16, 32, 2), relu3=nn.ReLU(),
        head=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)),
    ))


def lenet5():
    """examples/lenet5.ts"""
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


TWINS = {'seed-cnn': SeedCnn, 'tiny-gap': tiny_gap, 'resnet-gn': resnet_gn, 'lenet5': lenet5}


def read_safetensors(path):
    """A safetensors file as {name: tensor} (no dependency on the safetensors package)."""
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    dtypes = {'F32': np.float32, 'F64': np.float64, 'I64': np.int64}
    out = {}
    for name, t in header.items():
        if name == '__metadata__':
            continue
        a, b = t['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(body[a:b], dtype=dtypes[t['dtype']]).reshape(t['shape']).copy())
    return out


def read_idx(path):
    with open(path, 'rb') as f:
        data = f.read()
    dims = struct.unpack('>' + 'I' * data[3], data[4:4 + 4 * data[3]])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * data[3]).reshape(dims)


def check(args):
    model = TWINS[args.model]()
    state = read_safetensors(os.path.join(args.checkpoint, 'model.safetensors'))
    model.load_state_dict(state, strict=True)  # raises on any missing or unexpected name, or another shape
    model.eval()
    images = read_idx(os.path.join(args.data_dir, 't10k-images-idx3-ubyte'))
    labels = torch.from_numpy(read_idx(os.path.join(args.data_dir, 't10k-labels-idx1-ubyte')).astype(np.int64))
    x = ((torch.from_numpy(images.astype(np.float32) / 255.0) - 0.1307) / 0.3081).unsqueeze(1)
    with torch.no_grad():
        correct = int((model(x).argmax(1) == labels).sum())
    print(json.dumps({'model': args.model, 'checkpoint': args.checkpoint, 'load_state_dict': 'strict=True: ok',
                      'test_correct': correct, 'test_count': len(labels), 'test_accuracy': correct / len(labels)}))


def state_dicts():
    return {name: {'state': [[k, list(v.shape)] for k, v in make().state_dict().items()],
                   'parameters': sum(p.numel() for p in make().parameters())} for name, make in TWINS.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    c = sub.add_parser('check')
    c.add_argument('model', choices=sorted(TWINS))
    c.add_argument('checkpoint')
    c.add_argument('--data-dir', required=True)
    sub.add_parser('state-dicts')
    args = p.parse_args()
    if args.command == 'check':
        check(args)
    else:
        print(json.dumps(state_dicts(), indent=1))


if __name__ == '__main__':
    main()
