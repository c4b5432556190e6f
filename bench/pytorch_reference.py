#!/usr/bin/python3
"""The same network in PyTorch, as the reference our TypeScript/ONNX pipeline is measured
against (Debian's python3-torch and python3-torchvision; not part of the project itself).

  speed   --threads T        median training-step ms at batch 128, test-set evaluation
          [--epoch per-image|batch]  seconds, and one epoch's seconds with augmentation
                              (per image as the seed did, or per batch); prints JSON
  train    --epochs E --step-size S --seed N
                              the default recipe on an IDX folder (Fashion-MNIST's too), the
                              test accuracy after each epoch as JSON lines
  fixture --out FILE         one float64 training step on 16 real images (dropout off),
                              written as safetensors: the test fixture for the whole-network
                              forward/backward/update check (test/train/pytorch-step.test.ts)
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'examples', 'pytorch'))
from twins import SeedCnn as Net, read_idx  # noqa: E402  the seed CNN with the state_dict names the TypeScript side uses


def idx_file(data_dir, name):
    """An IDX file, plain or gzipped (Fashion-MNIST's Debian package ships .gz), as an array."""
    path = os.path.join(data_dir, name)
    if os.path.exists(path):
        return read_idx(path)
    with gzip.open(path + '.gz', 'rb') as f:
        data = f.read()
    dims = struct.unpack('>' + 'I' * data[3], data[4:4 + 4 * data[3]])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * data[3]).reshape(dims)


def mnist(data_dir, split, mean=0.1307, std=0.3081):
    prefix = 'train' if split == 'train' else 't10k'
    images = idx_file(data_dir, f'{prefix}-images-idx3-ubyte')
    labels = idx_file(data_dir, f'{prefix}-labels-idx1-ubyte')
    x = (torch.from_numpy(images.astype(np.float32) / 255.0) - mean) / std
    return x.unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def affine_batch(pixels):
    """The batch-wise augmentation: one affine_grid + grid_sample for the whole batch of [0,1]
    pixels (rotation within +-7 degrees, whole-pixel shifts within +-2)."""
    n = pixels.shape[0]
    angle = (torch.rand(n) * 14 - 7) * math.pi / 180
    shift = torch.randint(-2, 3, (n, 2)).float() * 2 / 28
    theta = torch.stack([
        torch.stack([angle.cos(), -angle.sin(), shift[:, 0]], 1),
        torch.stack([angle.sin(), angle.cos(), shift[:, 1]], 1),
    ], 1)
    grid = F.affine_grid(theta, (n, 1, 28, 28), align_corners=False)
    return F.grid_sample(pixels, grid, mode='bilinear', padding_mode='zeros', align_corners=False)


def train(args):
    """The default recipe (SGD, momentum 0.9, lr 0.05, StepLR, batch 128, rotation within +-7
    degrees and whole-pixel shifts within +-2 per image, dropout 0.1), with the data's own mean
    and standard deviation to four decimals as `--data` computes them; one JSON line per epoch."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    pixels = torch.from_numpy(idx_file(args.data_dir, 'train-images-idx3-ubyte').astype(np.float64) / 255.0)
    mean, std = round(pixels.mean().item(), 4), round(pixels.std(unbiased=False).item(), 4)
    x_train, y_train = mnist(args.data_dir, 'train', mean, std)
    x_test, y_test = mnist(args.data_dir, 'test', mean, std)
    raw = x_train * std + mean
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=args.step_size, gamma=0.1)
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(x_train.shape[0])
        for start in range(0, x_train.shape[0], 128):
            idx = perm[start:start + 128]
            xb = (affine_batch(raw[idx]) - mean) / std
            opt.zero_grad()
            F.nll_loss(model(xb), y_train[idx]).backward()
            opt.step()
        schedule.step()
        model.eval()
        with torch.no_grad():
            correct = sum((model(x_test[s:s + 1000]).argmax(1) == y_test[s:s + 1000]).sum().item() for s in range(0, x_test.shape[0], 1000))
        print(json.dumps({'epoch': epoch, 'test_acc': correct / x_test.shape[0], 'seed': args.seed, 'mean': mean, 'std': std}), flush=True)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def speed(args):
    import torchvision.transforms as T
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x_train, y_train = mnist(args.data_dir, 'train')
    x_test, y_test = mnist(args.data_dir, 'test')
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        loss = F.nll_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    times = []
    for i in range(args.steps + 5):
        b = torch.randint(0, x_train.shape[0], (128,))
        t = time.perf_counter()
        step(x_train[b], y_train[b])
        if i >= 5:
            times.append((time.perf_counter() - t) * 1000)

    # One epoch with augmentation and dropout, batches of 128. 'per-image': as the seed's
    # train.py runs it (torchvision transforms image by image); 'batch': the efficient peer,
    # one affine_grid + grid_sample for the whole batch (rotation within +-7 degrees, whole
    # pixel shifts within +-2, on [0,1] pixels, then normalised).
    epoch_seconds = None
    if args.epoch != 'none':
        augment = T.Compose([T.RandomRotation((-7.0, 7.0)), T.RandomAffine(0, translate=(2 / 28, 2 / 28))])
        raw = x_train * 0.3081 + 0.1307
        t = time.perf_counter()
        perm = torch.randperm(x_train.shape[0])
        for start in range(0, x_train.shape[0], 128):
            idx = perm[start:start + 128]
            if args.epoch == 'per-image':
                xb = torch.stack([augment(img) for img in x_train[idx]])
            else:
                xb = (affine_batch(raw[idx]) - 0.1307) / 0.3081
            step(xb, y_train[idx])
        epoch_seconds = round(time.perf_counter() - t, 2)

    model.eval()
    t = time.perf_counter()
    with torch.no_grad():
        for start in range(0, x_test.shape[0], 1000):
            model(x_test[start:start + 1000]).argmax(1)
    eval_seconds = time.perf_counter() - t
    print(json.dumps({
        'impl': f'pytorch {torch.__version__}', 'threads': args.threads,
        'step_ms_median': round(median(times), 2), 'step_ms_min': round(min(times), 2),
        'epoch_seconds': epoch_seconds, 'eval_seconds': round(eval_seconds, 3),
    }))


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    blobs, offset = [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        dtype = {np.float64: 'F64', np.float32: 'F32', np.int64: 'I64'}[array.dtype.type]
        raw = array.tobytes()
        header[name] = {'dtype': dtype, 'shape': list(array.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b' ' * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def fixture(args):
    """Two SGD steps (momentum 0.9, weight decay 1e-4, lr 0.05) in float64, dropout off."""
    torch.manual_seed(0)
    x_test, y_test = mnist(args.data_dir, 'test')
    x, y = x_test[:16].double(), y_test[:16]
    model = Net(dropout=0.0).double()
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    model.train()
    tensors = {}
    for k, v in initial.items():
        if not k.endswith('num_batches_tracked'):
            tensors[f'initial.{k}'] = v.numpy()
    tensors['input'] = x.numpy()
    tensors['target'] = y.numpy()
    for s in range(2):
        opt.zero_grad()
        logp = model(x)
        loss = F.nll_loss(logp, y)
        loss.backward()
        if s == 0:
            tensors['step1.log_probs'] = logp.detach().numpy()
            for name, p in model.named_parameters():
                tensors[f'step1.grad.{name}'] = p.grad.numpy().copy()
        tensors[f'step{s + 1}.loss'] = np.array(loss.item())
        opt.step()
    for k, v in model.state_dict().items():
        if not k.endswith('num_batches_tracked'):
            tensors[f'step2.{k}'] = v.numpy()
    write_safetensors(args.out, tensors, {'producer': f'bench/pytorch_reference.py fixture (torch {torch.__version__})'})
    print(f'wrote {args.out}', file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('mode', choices=['speed', 'train', 'fixture'])
    p.add_argument('--data-dir', required=True)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--steps', type=int, default=30)
    p.add_argument('--epoch', choices=['none', 'per-image', 'batch'], default='none',
                   help='also time one epoch, augmenting per image (as the seed did) or per batch')
    p.add_argument('--out')
    p.add_argument('--epochs', type=int, default=15)
    p.add_argument('--step-size', type=int, default=7)
    p.add_argument('--seed', type=int, default=1)
    args = p.parse_args()
    {'speed': speed, 'train': train, 'fixture': fixture}[args.mode](args)


if __name__ == '__main__':
    main()
