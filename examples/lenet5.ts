/**
 * LeNet-5 (LeCun et al., 1998) as it is usually written in PyTorch: Tanh, average pooling and
 * fully connected layers, ending in logits (it trains with cross-entropy). 61,706 parameters.
 *
 *   net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
 *                       nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
 *                       nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))
 */
import { AvgPool2d, Conv2d, Flatten, Linear, Sequential, Tanh } from 'onnx-mnist-train';

export default new Sequential(
  new Conv2d(1, 6, 5, { padding: 2 }),
  new Tanh(),
  new AvgPool2d(2),
  new Conv2d(6, 16, 5),
  new Tanh(),
  new AvgPool2d(2),
  new Flatten(),
  new Linear(400, 120),
  new Tanh(),
  new Linear(120, 84),
  new Tanh(),
  new Linear(84, 10),
);
