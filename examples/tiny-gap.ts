/**
 * A course-style network under 8,000 parameters (ERA's "fewer than 8k, 99.4% within 15
 * epochs" assignment): 3x3 convs without bias, each followed by BatchNorm, ReLU and a little
 * Dropout; one max-pool with a 1x1 transition; global average pooling and a 1x1 conv to the
 * ten classes (no fully connected layer). 7,572 parameters.
 *
 *   npm run summary -- --model examples/tiny-gap.ts
 *   npm run train -- --model examples/tiny-gap.ts (the recipe docs/models.md reports)
 */
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
  LogSoftmax,
  MaxPool2d,
  ReLU,
  Sequential,
} from 'onnx-mnist-train';

const DROPOUT = 0.05;

/** A 3x3 conv without bias (BatchNorm has the shift), then BatchNorm, ReLU, Dropout. */
const convBlock = (inChannels: number, outChannels: number, padding = 0) =>
  new Sequential(
    new Conv2d(inChannels, outChannels, 3, { padding, bias: false }),
    new BatchNorm2d(outChannels),
    new ReLU(),
    new Dropout(DROPOUT),
  );

export default new Sequential({
  block1: new Sequential(convBlock(1, 8), convBlock(8, 10), convBlock(10, 16)), // 28 -> 22
  transition: new Sequential(new MaxPool2d(2), new Conv2d(16, 8, 1, { bias: false })), // 22 -> 11
  block2: new Sequential(convBlock(8, 12), convBlock(12, 16), convBlock(16, 16)), // 11 -> 5
  head: new Sequential(
    new AdaptiveAvgPool2d(1),
    new Conv2d(16, 10, 1, { bias: false }),
    new Flatten(),
    new LogSoftmax(1),
  ),
});
