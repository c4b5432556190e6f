#!/usr/bin/python3
"""The network of examples/node-transfer, written in PyTorch and exported as ONNX, as a user of
the library would bring it (Debian's python3-torch and python3-onnx; not part of the tests or CI):

  /usr/bin/python3 examples/pytorch/transfer_cnn.py

writes examples/node-transfer/transfer-cnn.onnx: tfjs-examples' mnist-transfer-cnn shape, made
smaller (two 3x3 convs, max pooling, dropout, then two dense layers), with the feature layers
under `features` and the dense head under `classifier`, exported in training mode (so its
initializers keep their state_dict names and dropout stays), untrained: its weights are
PyTorch's default initialisation for seed 0.
"""
import os

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


class TransferCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3), nn.ReLU(),
            nn.Conv2d(8, 16, 3), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 12 * 12, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def main():
    torch.manual_seed(0)
    model = TransferCnn().train()
    out = os.path.join(HERE, '..', 'node-transfer', 'transfer-cnn.onnx')
    torch.onnx.export(model, torch.zeros(2, 1, 28, 28), out, training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      opset_version=17, input_names=['input'], output_names=['logits'], dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}})
    print(f'wrote {os.path.relpath(out)}: {sum(p.numel() for p in model.parameters()):,} parameters')


if __name__ == '__main__':
    main()
