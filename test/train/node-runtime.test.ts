/**
 * The Node runtime's session options: ORT's threads spin-wait as ORT's default has them, except
 * in training steps when ONNX_MNIST_SPIN_WAIT=0 or the caller says so (evaluation keeps the
 * default); and ORT runs a session made without spinning.
 */
import * as ort from '../../src/util/ort.node.js';
import { afterEach, expect, test } from 'vitest';
import { Graph } from '../../src/graph/builder.js';
import * as op from '../../src/graph/ops/index.js';
import { serializeModel } from '../../src/graph/serialize.js';
import { OPSET } from '../../src/train/core/opset.js';
import { createSession, nodeRuntime, ortSessionOptions } from '../../src/train/node-runtime.js';

const saved = process.env.ONNX_MNIST_SPIN_WAIT;
afterEach(() => {
  if (saved === undefined) delete process.env.ONNX_MNIST_SPIN_WAIT;
  else process.env.ONNX_MNIST_SPIN_WAIT = saved;
});

const spinning = (options: ort.InferenceSession.SessionOptions) =>
  (options.extra as { session?: { intra_op?: { allow_spinning?: string } } } | undefined)?.session?.intra_op
    ?.allow_spinning !== '0';

test("sessions spin-wait by default, as ORT's do", () => {
  delete process.env.ONNX_MNIST_SPIN_WAIT;
  const runtime = nodeRuntime({ threads: 2 });
  expect(runtime.optionsFor('train-step')).toMatchObject({ threads: 2, spinWait: true });
  expect(spinning(ortSessionOptions(runtime.optionsFor('train-step')))).toBe(true);
  expect(spinning(ortSessionOptions(runtime.optionsFor('eval')))).toBe(true);
  expect(spinning(ortSessionOptions())).toBe(true);
});

test('ONNX_MNIST_SPIN_WAIT=0 or spinWait: false stops training steps spinning, not evaluation', () => {
  process.env.ONNX_MNIST_SPIN_WAIT = '0';
  const runtime = nodeRuntime({ threads: 2 });
  expect(runtime.optionsFor('train-step')).toMatchObject({ threads: 2, spinWait: false });
  expect(spinning(ortSessionOptions(runtime.optionsFor('train-step')))).toBe(false);
  expect(spinning(ortSessionOptions(runtime.optionsFor('eval')))).toBe(true);
  delete process.env.ONNX_MNIST_SPIN_WAIT;
  expect(nodeRuntime({ spinWait: false }).optionsFor('train-step').spinWait).toBe(false);
});

test('ORT runs a session made without spinning', async () => {
  const g = new Graph('double');
  const x = g.input('x', 'float32', [2, 3]);
  g.output(op.add(x, x), 'y');
  const session = await createSession(serializeModel(g, { opset: OPSET }), { threads: 2, spinWait: false });
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) });
  expect(Array.from(out.y.data as Float32Array)).toEqual([2, 4, 6, 8, 10, 12]);
  await session.release();
});
