/**
 * The seed CNN (17,430 parameters), transcribed line by line from its PyTorch definition
 * (`class Net(nn.Module)` in bench/pytorch_reference.py): a class whose attributes are its
 * layers and whose forward calls them. The built-in default (src/model/seed-cnn.ts) is the
 * same network written as a Sequential; both have the same state_dict names, so checkpoints
 * of either load into the other and into PyTorch's Net.
 *
 *   npm run summary -- --model examples/seed-cnn.ts
 *   npm run train -- --model examples/seed-cnn.ts
 */
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  type Context,
  Conv2d,
  Dropout,
  Flatten,
  LogSoftmax,
  MaxPool2d,
  Module,
  ReLU,
  type Tensor,
} from 'onnx-mnist-train';

class Net extends Module {
  readonly conv1 = new Conv2d(1, 12, 3, { padding: 1 });
  readonly bn1 = new BatchNorm2d(12);
  readonly conv2 = new Conv2d(12, 32, 3, { padding: 1 });
  readonly bn2 = new BatchNorm2d(32);
  readonly trans1 = new Conv2d(32, 12, 1);
  readonly conv3 = new Conv2d(12, 16, 3, { padding: 1 });
  readonly bn3 = new BatchNorm2d(16);
  readonly conv4 = new Conv2d(16, 32, 3, { padding: 1 });
  readonly bn4 = new BatchNorm2d(32);
  readonly trans2 = new Conv2d(32, 12, 1);
  readonly conv5 = new Conv2d(12, 32, 3, { padding: 1 });
  readonly bn5 = new BatchNorm2d(32);
  readonly conv6 = new Conv2d(32, 10, 3, { padding: 0 });
  readonly bn6 = new BatchNorm2d(10);
  readonly drop = new Dropout(0.1);
  readonly relu = new ReLU();
  readonly pool = new MaxPool2d(2);
  readonly gap = new AdaptiveAvgPool2d(1);
  readonly flatten = new Flatten();
  readonly logSoftmax = new LogSoftmax(1);

  /** conv -> BatchNorm -> Dropout -> ReLU */
  unit(conv: Conv2d, bn: BatchNorm2d, x: Tensor, ctx: Context): Tensor {
    return this.relu.call(this.drop.call(bn.call(conv.call(x, ctx), ctx), ctx), ctx);
  }

  forward(x: Tensor, ctx: Context): Tensor {
    x = this.unit(this.conv2, this.bn2, this.unit(this.conv1, this.bn1, x, ctx), ctx);
    x = this.trans1.call(this.pool.call(x, ctx), ctx);
    x = this.unit(this.conv4, this.bn4, this.unit(this.conv3, this.bn3, x, ctx), ctx);
    x = this.trans2.call(this.pool.call(x, ctx), ctx);
    x = this.unit(this.conv6, this.bn6, this.unit(this.conv5, this.bn5, x, ctx), ctx);
    return this.logSoftmax.call(this.flatten.call(this.gap.call(x, ctx), ctx), ctx);
  }
}

export default new Net();
