import * as ort from '../../src/util/ort.node.js';
import { describe, expect, test } from 'vitest';
import { Graph } from '../../src/graph/builder.js';
import * as op from '../../src/graph/ops/index.js';
import { parseModel, serializeModel } from '../../src/graph/serialize.js';
import { ShapeError } from '../../src/graph/shape.js';
import { OPSET } from '../../src/train/node-runtime.js';
import { runOnce } from '../helpers/ort.js';

describe('graph builder', () => {
  test('an emitted model loads in onnxruntime-node with the declared inputs and outputs', async () => {
    const g = new Graph('tiny');
    const x = g.input('x', 'float32', ['N', 3]);
    g.output(op.relu(x), 'y');
    const bytes = serializeModel(g, { opset: OPSET });
    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    const model = parseModel(bytes);
    expect(Number(model.irVersion)).toBe(8);
    expect(Number(model.opsetImport[0].version)).toBe(OPSET);
    expect(model.graph?.input?.[0].type?.tensorType?.shape?.dim?.[0].dimParam).toBe('N');
  });

  test('a hand-computable graph gives the expected numbers', async () => {
    // y = conv(x, w, b) on a 3x3 image with a 2x2 kernel of ones, then relu(y - 10)
    const g = new Graph('hand');
    const x = g.input('x', 'float32', [1, 1, 3, 3]);
    const w = g.initializer('w', 'float32', [1, 1, 2, 2], Float32Array.of(1, 1, 1, 1));
    const b = g.initializer('b', 'float32', [1], Float32Array.of(0.5));
    const y = op.conv(x, w, b);
    expect(y.shape).toEqual([1, 1, 2, 2]);
    g.output(op.relu(op.sub(y, 10)), 'y');
    const out = await runOnce(g, { x: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9) });
    // window sums: 12, 16, 24, 28 (+0.5 bias) -> minus 10 -> relu
    expect(Array.from(out.y.data as Float32Array)).toEqual([2.5, 6.5, 14.5, 18.5]);
    expect(out.y.dims).toEqual([1, 1, 2, 2]);
  });

  test('a shape mismatch throws naming the op, the tensors and both shapes', () => {
    const g = new Graph();
    const x = g.input('image', 'float32', [8, 3, 28, 28]);
    const w = g.input('conv1.weight', 'float32', [12, 1, 3, 3]);
    expect(() => op.conv(x, w)).toThrow(ShapeError);
    expect(() => op.conv(x, w)).toThrow(
      'Conv: input has 3 channels but the weight expects 1 ' +
        "('image' float32[8,3,28,28], 'conv1.weight' float32[12,1,3,3])",
    );
    const a = g.input('a', 'float32', [2, 3]);
    const c = g.input('c', 'float32', [4]);
    expect(() => op.add(a, c)).toThrow("Add: shapes do not broadcast ('a' float32[2,3], 'c' float32[4])");
  });

  test('reshape infers -1 through a symbolic batch', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['N', 4, 5, 6]);
    expect(op.reshape(x, ['N', -1]).shape).toEqual(['N', 120]);
    expect(op.flatten(x, 1).shape).toEqual(['N', 120]);
    expect(() => op.reshape(x, [7, -1])).toThrow(ShapeError);
  });

  test('nodes nothing depends on are left out of the file', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    op.exp(x); // unused
    g.output(op.neg(x), 'y');
    const model = parseModel(serializeModel(g, { opset: OPSET }));
    expect(model.graph?.node?.map((n) => n.opType)).toEqual(['Neg']);
  });

  test('an output that renames a result names the result itself; one that renames an input keeps its Identity', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const n = op.neg(x);
    g.output(n, 'n.next'); // read below too, as the training step's momentum buffer is
    g.output(op.exp(n), 'y');
    g.output(x, 'x.copy');
    const nodes = parseModel(serializeModel(g, { opset: OPSET })).graph?.node ?? [];
    expect(nodes.map((p) => [p.opType, p.input, p.output])).toEqual([
      ['Neg', ['x'], ['n.next']],
      ['Exp', ['n.next'], ['y']],
      ['Identity', ['x'], ['x.copy']],
    ]);
  });

  test('names are unique: a second input with the same name is refused', () => {
    const g = new Graph();
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow("already has a value named 'x'");
  });
});
