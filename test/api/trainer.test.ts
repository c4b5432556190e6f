/**
 * The library's Trainer on onnxruntime-node, as a user's code drives it (`onnx-mnist-train/node`):
 * partly frozen steps against PyTorch's, any input shape and class count through fit, evaluate
 * and the verified export, state out and in, regression losses, abort, and one-line errors.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { trainStepGraph } from '../../src/model/graphs.js';
import { importOnnx } from '../../src/model/onnx-import.js';
import {
  BatchNorm2d,
  type Context,
  Conv2d,
  createTrainer,
  Flatten,
  IDENTITY_NORMALIZATION,
  Linear,
  Module,
  ReLU,
  Sequential,
  type Split,
  type Tensor,
} from '../../src/node.js';
import { DEFAULT_SGD } from '../../src/train/core/recipe.js';
import * as ort from '../../src/util/ort.node.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../../src/util/safetensors-codec.js';
import { readFixture, relativeError } from '../helpers/fixture.js';
import { entry, last, must } from '../helpers/must.js';

const fx = readFixture('pytorch-library.safetensors');
const get = (name: string) => {
  const t = fx.get(name);
  if (!t) throw new Error(`fixture has no '${name}'`);
  return t;
};
const bnResidual = () =>
  new Uint8Array(readFileSync(fileURLToPath(new URL('../fixtures/onnx/bn-residual.onnx', import.meta.url))));

/** The fixture's 16 test images (normalised as PyTorch's reference normalised them) and labels. */
function fixtureBatch(): { inputs: Float32Array; labels: Int32Array } {
  return {
    inputs: Float32Array.from(get('frozen.input').data as Float64Array),
    labels: Int32Array.from(get('frozen.target').data as BigInt64Array, Number),
  };
}

/** The recipe of the fixture's steps: SGD momentum 0.9, weight decay 1e-4, lr 0.05, no dropout, inputs as given. */
const stepRecipe = {
  optimizer: { ...DEFAULT_SGD, weightDecay: 1e-4 },
  lr: 0.05,
  batchSize: 16,
  dropout: 0,
  augment: null,
  normalize: IDENTITY_NORMALIZATION,
};

describe.each([
  ['head', { trainOnly: ['fc'] }],
  ['stem', { freeze: ['conv1', 'bn1'] }],
])('a partly frozen step (%s) equals PyTorch’s with requires_grad_(False)', (name, selection) => {
  test('two SGD steps: trained tensors within 1e-4, frozen ones bit for bit, BatchNorm statistics as PyTorch moves them', async () => {
    const initial = importOnnx(bnResidual(), 'bn-residual').net.initialState(1);
    const trainer = await createTrainer(bnResidual(), { ...stepRecipe, ...selection }, { threads: 1 });
    try {
      const { inputs, labels } = fixtureBatch();
      const losses = [(await trainer.step(inputs, labels)).loss, (await trainer.step(inputs, labels)).loss];
      expect(Math.abs(losses[0] - Number(get(`frozen.${name}.loss1`).data[0]))).toBeLessThan(1e-5);
      expect(Math.abs(losses[1] - Number(get(`frozen.${name}.loss2`).data[0]))).toBeLessThan(1e-4);
      const state = trainer.modelState();
      const frozen = trainer.frozen;
      expect(frozen.size).toBeGreaterThan(0);
      for (const [entry, t] of state) {
        if (frozen.has(entry)) expect(t.data, `${entry} (frozen)`).toEqual(must(initial.get(entry), entry).data);
        else
          expect(relativeError(t.data, get(`frozen.${name}.after.${entry}`).data as Float64Array), entry).toBeLessThan(
            1e-4,
          );
      }
      // what PyTorch trained moved, and what it did not is where it was
      for (const entry of state.keys()) {
        const moved =
          relativeError(
            must(initial.get(entry), entry).data,
            get(`frozen.${name}.after.${entry}`).data as Float64Array,
          ) > 1e-6;
        expect(moved, `${entry} moved in PyTorch`).toBe(!frozen.has(entry));
      }
    } finally {
      await trainer.close();
    }
  });
});

test('a frozen parameter has no gradient, no optimizer slot and no next value in the step graph, which is smaller', () => {
  const net = importOnnx(bnResidual(), 'bn-residual').net;
  const full = trainStepGraph(net, 16, DEFAULT_SGD);
  const head = trainStepGraph(net, 16, DEFAULT_SGD, {
    frozen: new Set(net.parameterSpecs.map((s) => s.name).filter((n) => !n.startsWith('fc.'))),
  });
  expect(head.carried.filter((e) => e.role === 'optimizer').map((e) => e.name)).toEqual([
    'fc.weight.momentum_buffer',
    'fc.bias.momentum_buffer',
  ]);
  expect(head.carried.filter((e) => e.role === 'frozen').map((e) => e.name)).toContain('conv1.weight');
  expect(head.graph.outputs.map((o) => o.name)).not.toContain('conv1.weight.next');
  // no convolution is differentiated: the backward pass stops at the head
  expect(full.graph.nodes.filter((n) => n.op.type === 'Conv').length).toBeGreaterThan(
    head.graph.nodes.filter((n) => n.op.type === 'Conv').length,
  );
  expect(head.graph.nodes.length).toBeLessThan(full.graph.nodes.length / 2);
});

/** A 3-channel, 8x8, 4-class data set whose class is the brightest quarter of the image. */
function quarters(count: number, seed: number): Split {
  const images = new Uint8Array(count * 3 * 64);
  const labels = new Uint8Array(count);
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  for (let n = 0; n < count; n++) {
    const label = n % 4;
    labels[n] = label;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) {
          const quarter = (y < 4 ? 0 : 2) + (x < 4 ? 0 : 1);
          images[((n * 3 + c) * 8 + y) * 8 + x] = Math.round(
            255 * (quarter === label ? 0.5 + 0.5 * rand() : 0.4 * rand()),
          );
        }
  }
  return {
    images,
    labels,
    count,
    shape: [3, 8, 8],
    classNames: ['top left', 'top right', 'bottom left', 'bottom right'],
  };
}

const smallNet = () =>
  new Sequential({
    conv: new Conv2d(3, 8, 3, { padding: 1 }),
    bn: new BatchNorm2d(8),
    relu: new ReLU(),
    flatten: new Flatten(),
    fc: new Linear(8 * 64, 4),
  });

describe('any input shape and class count', () => {
  const train = quarters(256, 1);
  const test_ = quarters(64, 2);
  const recipe = {
    epochs: 3,
    batchSize: 32,
    lr: 0.05,
    augment: null,
    normalize: { mean: [0.3, 0.3, 0.3], std: [0.25, 0.25, 0.25] },
  };

  test('fit learns a 3x8x8, 4-class task; evaluate and the verified export agree; names travel in the card', async () => {
    const trainer = await createTrainer(smallNet(), recipe, { inputShape: [3, 8, 8], name: 'quarters', threads: 1 });
    try {
      const steps: number[] = [];
      const { history, stopped } = await trainer.fit(train, {
        validation: test_,
        onStep: (s) => void steps.push(s.step),
      });
      expect(stopped).toBe(false);
      expect(history).toHaveLength(3);
      expect(steps).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      const evaluation = await trainer.evaluate(test_);
      expect(evaluation.accuracy).toBeGreaterThan(0.9);
      expect(evaluation.accuracy).toBe(history[2].test_acc);
      const exported = await trainer.exportInference();
      expect(exported.card.class_names).toEqual(train.classNames);
      expect(exported.card.input_shape).toEqual([3, 8, 8]);
      expect(exported.card.classes).toBe(4);
      expect(exported.card.test_correct).toBe(evaluation.correct);
      expect(exported.card.normalization).toBe(
        '(x - [0.3, 0.3, 0.3]) / [0.25, 0.25, 0.25] per channel, applied inside the graph',
      );
      // the exported model takes pixels in [0,1] and reads them as evaluate did
      const session = await ort.InferenceSession.create(exported.onnx);
      const pixels = Float32Array.from(test_.images, (v) => v / 255);
      const probs = (await session.run({ image: new ort.Tensor('float32', pixels, [64, 3, 8, 8]) })).probabilities
        .data as Float32Array;
      const correct = Array.from(test_.labels).filter((label, i) => {
        const row = Array.from(probs.subarray(4 * i, 4 * i + 4));
        return row.indexOf(Math.max(...row)) === label;
      }).length;
      expect(correct).toBe(evaluation.correct);
    } finally {
      await trainer.close();
    }
  });

  test('state() loads into a fresh trainer, which then evaluates the same', async () => {
    const a = await createTrainer(smallNet(), recipe, { inputShape: [3, 8, 8], threads: 1 });
    const b = await createTrainer(smallNet(), { ...recipe, seed: 9 }, { inputShape: [3, 8, 8], threads: 1 });
    try {
      await a.fit(train, { epochs: 1 });
      const before = await b.evaluate(test_);
      b.loadState(a.state());
      const [ea, eb] = [await a.evaluate(test_), await b.evaluate(test_)];
      expect(eb).toEqual(ea);
      expect(eb.loss).not.toBe(before.loss);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('an aborted fit ends after the step in flight and says it stopped', async () => {
    const trainer = await createTrainer(smallNet(), recipe, { inputShape: [3, 8, 8], threads: 1 });
    const abort = new AbortController();
    try {
      const { stopped, history } = await trainer.fit(train, {
        validation: test_,
        onStep: (s) => {
          if (s.step === 5) abort.abort();
        },
        signal: abort.signal,
      });
      expect(stopped).toBe(true);
      expect(trainer.position.step).toBe(5);
      expect(history).toHaveLength(1); // the partial epoch, evaluated
      expect(history[0].batches).toBe(5);
    } finally {
      await trainer.close();
    }
  });
});

test('a module used twice is written under both of its names, as PyTorch’s state_dict lists it (strict loads want both)', async () => {
  class Twice extends Module {
    readonly flatten = new Flatten();
    readonly proj = new Linear(784, 32);
    readonly fc = new Linear(32, 32);
    readonly again = this.fc;
    readonly head = new Linear(32, 10);
    forward(x: Tensor, ctx: Context): Tensor {
      return this.head.call(
        this.again.call(this.fc.call(this.proj.call(this.flatten.call(x, ctx), ctx), ctx), ctx),
        ctx,
      );
    }
  }
  const trainer = await createTrainer(new Twice(), {}, { inputShape: [1, 28, 28], threads: 1 });
  try {
    const { tensors } = decodeSafetensors(trainer.state(), 'state');
    // torch: {k for k in Twice().state_dict()} (Debian's python3-torch), checked by hand
    expect([...tensors.keys()].sort()).toEqual([
      'again.bias',
      'again.weight',
      'fc.bias',
      'fc.weight',
      'head.bias',
      'head.weight',
      'proj.bias',
      'proj.weight',
    ]);
    expect(entry(tensors, 'again.weight').data).toEqual(entry(tensors, 'fc.weight').data);
    trainer.loadState(trainer.state()); // and reads its own back
  } finally {
    await trainer.close();
  }
});

describe.each(['mse', 'l1', 'bce-with-logits'] as const)('a regression loss (%s) through fit', (loss) => {
  test('float targets, the loss falls, no accuracy is claimed', async () => {
    const count = 128;
    const images = Float32Array.from({ length: count * 4 }, (_, i) => Math.sin(i * 1.7));
    // targets: two functions of the inputs (probabilities in [0,1] for BCE)
    const labels = Float32Array.from({ length: count * 2 }, (_, i) => {
      const n = i >> 1;
      const v = i % 2 ? images[4 * n] - images[4 * n + 1] : images[4 * n + 2] + 0.5 * images[4 * n + 3];
      return loss === 'bce-with-logits' ? 1 / (1 + Math.exp(-3 * v)) : v;
    });
    const data: Split = { images, labels, count, shape: [4, 1, 1] };
    const net = new Sequential({
      flatten: new Flatten(),
      fc1: new Linear(4, 16),
      relu: new ReLU(),
      fc2: new Linear(16, 2),
    });
    const trainer = await createTrainer(
      net,
      { loss, epochs: 8, batchSize: 16, lr: 0.05, augment: null, normalize: IDENTITY_NORMALIZATION },
      { inputShape: [4, 1, 1], threads: 1 },
    );
    try {
      const { history } = await trainer.fit(data, { validation: data });
      const [first, final] = [
        must(history[0].test_loss, 'the first test loss'),
        must(last(history).test_loss, 'the last test loss'),
      ];
      expect(final).toBeLessThan(0.6 * first);
      expect(history.every((m) => m.test_acc === undefined && m.train_acc === undefined)).toBe(true);
      const evaluation = await trainer.evaluate(data);
      expect(evaluation.accuracy).toBeUndefined();
      expect(evaluation.loss).toBeCloseTo(final, 5);
      await expect(trainer.exportInference(data)).rejects.toThrow(
        `exportInference: only classifiers export (this model's loss is ${loss})`,
      );
    } finally {
      await trainer.close();
    }
  });
});

describe('one-line errors', () => {
  const mnistShape = [1, 28, 28];
  test('a pattern that matches nothing', async () => {
    await expect(createTrainer(bnResidual(), { trainOnly: ['head'] })).rejects.toThrow(
      "trainOnly 'head' matches no parameter " +
        '(the model has 10: conv1.weight, bn1.weight, bn1.bias, conv2.weight, bn2.weight, bn2.bias, ...)',
    );
    await expect(createTrainer(bnResidual(), { freeze: ['**'] })).rejects.toThrow(
      'the selection leaves no parameter to train',
    );
  });

  test('weights that do not fit name the first three problems', async () => {
    const trainer = await createTrainer(bnResidual(), {}, { threads: 1 });
    try {
      const f32 = (shape: number[]): SafeTensor => ({
        dtype: 'F32',
        shape,
        data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
      });
      const state = new Map<string, SafeTensor>([
        ['conv1.weight', f32([8, 1, 5, 5])],
        ['head.weight', f32([10, 784])],
      ]);
      expect(() => trainer.loadState(encodeSafetensors(state), 'init.safetensors')).toThrow(
        "init.safetensors: the weights do not fit the model: 'conv1.weight' is [8,1,5,5], the model's [8,1,3,3]; " +
          "missing 'bn1.weight'; missing 'bn1.bias' (15 problems in all)",
      );
    } finally {
      await trainer.close();
    }
  });

  test('labels out of range, data of the wrong shape, float labels for a classifier', async () => {
    const trainer = await createTrainer(bnResidual(), { batchSize: 4 }, { threads: 1 });
    try {
      const images = new Uint8Array(8 * 784);
      await expect(
        trainer.fit({ images, labels: Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 12), count: 8, shape: mnistShape }),
      ).rejects.toThrow('fit: label 12 (example 7) is out of range: the model gives 10 classes (0-9)');
      await expect(trainer.fit({ images, labels: new Uint8Array(8), count: 8, shape: [1, 32, 32] })).rejects.toThrow(
        'fit: the model takes [1,28,28] images; the data gives [1,32,32]',
      );
      await expect(
        trainer.fit({ images: images.subarray(1), labels: new Uint8Array(8), count: 8, shape: mnistShape }),
      ).rejects.toThrow("fit: the data's inputs hold 6271 values, not 8 examples of [1,28,28] (6272)");
      await expect(trainer.step(new Float32Array(100), new Uint8Array(1))).rejects.toThrow(
        'step: the inputs hold 100 values, not whole examples of [1,28,28]',
      );
      await expect(trainer.step(new Float32Array(784), new Float32Array(1))).rejects.toThrow(
        'step: the labels are floats; a classification loss takes class indices',
      );
    } finally {
      await trainer.close();
    }
  });

  test('a model too large for the runtime’s memory is refused before its weights are drawn', async () => {
    const huge = new Sequential({
      flatten: new Flatten(),
      fc: new Linear(784, 1275510),
      head: new Linear(1275510, 10),
    });
    await expect(createTrainer(huge, {}, { inputShape: [1, 28, 28] })).rejects.toThrow(
      /^the run needs about \d+\.\d GB \(the model 3\.78 GB; .*\), more than 80% of this machine's .*; pass allowLargeModel: true to go ahead$/,
    );
  });

  test('a bad recipe names its field', async () => {
    await expect(createTrainer(bnResidual(), { lr: -1 })).rejects.toThrow(/^recipe: lr: /);
    await expect(createTrainer(smallNet(), {})).rejects.toThrow(
      'a Module needs inputShape [channels, height, width] of positive integers (got undefined)',
    );
  });
});
