/**
 * A small residual network with GroupNorm (no batch statistics: it trains the same at any
 * batch size), strided convolutions instead of max-pooling, and a Linear head that gives
 * logits (so it trains with cross-entropy). 19,714 parameters. Without batch statistics it
 * starts slower than the BatchNorm networks here (docs/models.md has its figures). Each block adds its input to its
 * body's output; where the body halves the size and widens the channels, a strided 1x1 conv shortcut does too.
 *
 * The same network in PyTorch, for `load_state_dict` of its checkpoints:
 *   class Block(nn.Module):
 *       def __init__(self, cin, cout, stride=1):
 *           super().__init__()
 *           self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.GroupNorm(4, cout), nn.ReLU(),
 *                                     nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.GroupNorm(4, cout))
 *           self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None
 *       def forward(self, x):
 *           return self.body(x) + (self.shortcut(x) if self.shortcut is not None else x)
 *   net = nn.Sequential(OrderedDict(
 *       stem=nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.GroupNorm(4, 8), nn.ReLU()),
 *       block1=Block(8, 8), relu1=nn.ReLU(), block2=Block(8, 16, 2), relu2=nn.ReLU(),
 *       block3=Block(16, 32, 2), relu3=nn.ReLU(),
 *       head=nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))))
 *
 *   npm run summary -- --model examples/resnet-gn.ts
 */
import { AdaptiveAvgPool2d, Conv2d, Flatten, GroupNorm, Linear, ReLU, Residual, Sequential } from 'onnx-mnist-train';

/** conv-norm-relu-conv-norm, plus the input (or its strided 1x1 projection). */
function block(inChannels: number, outChannels: number, stride = 1): Residual {
  const body = new Sequential(
    new Conv2d(inChannels, outChannels, 3, { stride, padding: 1, bias: false }),
    new GroupNorm(4, outChannels),
    new ReLU(),
    new Conv2d(outChannels, outChannels, 3, { padding: 1, bias: false }),
    new GroupNorm(4, outChannels),
  );
  const projects = stride !== 1 || inChannels !== outChannels;
  return new Residual(body, projects ? new Conv2d(inChannels, outChannels, 1, { stride, bias: false }) : undefined);
}

export default new Sequential({
  stem: new Sequential(new Conv2d(1, 8, 3, { padding: 1, bias: false }), new GroupNorm(4, 8), new ReLU()),
  block1: block(8, 8),
  relu1: new ReLU(),
  block2: block(8, 16, 2), // 28 -> 14
  relu2: new ReLU(),
  block3: block(16, 32, 2), // 14 -> 7: global pooling then sees features of the whole digit
  relu3: new ReLU(),
  head: new Sequential(new AdaptiveAvgPool2d(1), new Flatten(), new Linear(32, 10)),
});
