/**
 * `--model x.onnx` that cannot be trained: one line naming the file and the problem, exit 1,
 * no run folder. Each bad model is a PyTorch export (test/fixtures/onnx) edited here.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type onnxProto from 'onnx-proto';
import { describe, expect, test } from 'vitest';
import { onnx, parseModel } from '../../src/graph/serialize.js';
import { lines, ROOT, runCli } from '../helpers/cli.js';
import { dimsOf, graphOf, initializerOf, nodeOf } from '../helpers/models.js';
import { last, must } from '../helpers/must.js';
import { SUPPORTED_OPS } from '../../src/model/onnx-import.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx-model-'));
const quick = ['--train-limit', '64', '--test-limit', '32', '--epochs', '1', '--threads', '1', '--batch-size', '32'];
const fixture = (name: string) => parseModel(readFileSync(join(ROOT, 'test/fixtures/onnx', `${name}.onnx`)));

/** A fixture model, edited, written as `<name>.onnx` in the temporary folder. */
function edited(name: string, from: string, edit: (m: onnxProto.onnx.ModelProto) => void, folder = dir): string {
  const model = fixture(from);
  edit(model);
  const file = join(folder, `${name}.onnx`);
  writeFileSync(file, onnx.ModelProto.encode(model).finish());
  return file;
}
const dims = (m: onnxProto.onnx.ModelProto, which: 'input' | 'output') => dimsOf(graphOf(m)[which][0]);

/** lenet5 with its '7.weight' moved to external data: `location`, and `offset`/`length` when given. */
function withExternalWeight(name: string, location: string, folder = dir, offset?: number, length?: number): string {
  return edited(
    name,
    'lenet5',
    (m) => {
      const t = initializerOf(m, '7.weight');
      t.rawData = new Uint8Array(0);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        { key: 'location', value: location },
        ...(offset === undefined ? [] : [{ key: 'offset', value: String(offset) }]),
        ...(length === undefined ? [] : [{ key: 'length', value: String(length) }]),
      ];
    },
    folder,
  );
}

const cases: [string, (file: string) => string, () => string][] = [
  [
    'an op it cannot train',
    (f) => `error: ${f}: node '/1/Tanh': Celu cannot be trained here (supported: ${SUPPORTED_OPS.join(', ')})`,
    () => edited('celu', 'lenet5', (m) => (nodeOf(m, 'Tanh').opType = 'Celu')),
  ],
  [
    'several ops it cannot train: every kind is named, not only the first',
    (f) =>
      `error: ${f}: node '/1/Tanh': Celu cannot be trained here (nor 1 more Celu node); ` +
      `nor can Mish (node '/8/Tanh'), Selu (node '/10/Tanh') (supported: ${SUPPORTED_OPS.join(', ')})`,
    () =>
      edited('several', 'lenet5', (m) => {
        const named = (name: string) =>
          must(
            graphOf(m).node.find((n) => n.name === name),
            `node ${name}`,
          );
        named('/1/Tanh').opType = 'Celu';
        named('/4/Tanh').opType = 'Celu';
        named('/8/Tanh').opType = 'Mish';
        named('/10/Tanh').opType = 'Selu';
      }),
  ],
  [
    'two initializers of one name (the last used to win)',
    (f) => `error: ${f}: two initializers are named '0.weight': not a valid ONNX model`,
    () => edited('twice', 'lenet5', (m) => graphOf(m).initializer.push({ ...initializerOf(m, '0.weight') })),
  ],
  [
    'a Conv whose kernel_shape disagrees with its weight',
    (f) => `error: ${f}: Conv node '/0/Conv': kernel_shape [3,3] disagrees with its weight, [6,1,5,5]`,
    () =>
      edited('kernel', 'lenet5', (m) => {
        must(
          nodeOf(m, 'Conv').attribute?.find((a) => a.name === 'kernel_shape'),
          'kernel_shape',
        ).ints = [3, 3];
      }),
  ],
  [
    'a MaxPool of strides 0 (accepted before 07cd68c)',
    (f) => `error: ${f}: MaxPool node '/MaxPool': strides [0,0] must be positive`,
    () =>
      edited('pool-stride0', 'seed-cnn', (m) => {
        must(
          nodeOf(m, 'MaxPool').attribute?.find((a) => a.name === 'strides'),
          'strides',
        ).ints = [0, 0];
      }),
  ],
  [
    'an initial weight of Infinity (told to try a lower --lr before 07cd68c)',
    (f) => `error: ${f}: initializer '0.weight' holds Infinity (element 3): the model cannot start from it`,
    () =>
      edited('inf-init', 'lenet5', (m) => {
        const w = initializerOf(m, '0.weight');
        const values = new Float32Array(Uint8Array.from(must(w.rawData, '0.weight data')).buffer);
        values[3] = Number.POSITIVE_INFINITY;
        w.rawData = new Uint8Array(values.buffer);
      }),
  ],
  [
    'an initializer of the wrong size: a Conv bias of 5 for 6 channels (a stack trace)',
    (f) => `error: ${f}: '0.bias' holds 5 values where its layer wants [6]: not a valid model`,
    () =>
      edited('bias-size', 'lenet5', (m) => {
        const b = initializerOf(m, '0.bias');
        b.dims = [5];
        b.rawData = new Uint8Array(5 * 4);
      }),
  ],
  [
    'an opset below the range',
    (f) =>
      `error: ${f}: opset 11: models of opsets 13 to 17 can be imported (torch.onnx.export(..., opset_version=17))`,
    () => edited('opset11', 'lenet5', (m) => (m.opsetImport[0].version = 11)),
  ],
  [
    'an opset above the range',
    (f) =>
      `error: ${f}: opset 19: models of opsets 13 to 17 can be imported (torch.onnx.export(..., opset_version=17))`,
    () => edited('opset19', 'lenet5', (m) => (m.opsetImport[0].version = 19)),
  ],
  [
    'no trainable initializer',
    (f) => `error: ${f}: it has no trainable initializer (weights, biases or norm scales)`,
    () =>
      edited('nothing', 'lenet5', (m) => {
        const g = graphOf(m);
        g.node = [
          { name: 'gap', opType: 'GlobalAveragePool', input: ['input'], output: ['p'] },
          { name: 'flat', opType: 'Flatten', input: ['p'], output: ['output'] },
        ];
        g.initializer = [];
        dims(m, 'output')[1] = { dimValue: 1 };
      }),
  ],
  [
    'an input the data cannot give',
    (f) => `error: ${f}: the model takes [3,28,28] images; the data gives [1,28,28]`,
    () =>
      edited('rgb', 'lenet5', (m) => {
        dims(m, 'input')[1] = { dimValue: 3 };
        const w = initializerOf(m, '0.weight');
        w.dims = [6, 3, 5, 5];
        w.rawData = new Uint8Array(6 * 3 * 25 * 4);
      }),
  ],
  [
    'an input shape that is not fixed',
    (f) => `error: ${f}: its input 'input' must have fixed C, H and W`,
    () => edited('free', 'lenet5', (m) => (dims(m, 'input')[2] = { dimParam: 'H' })),
  ],
  [
    'a shape that cannot be resolved (a Reshape that does not divide)',
    (f) =>
      `error: ${f}: Reshape node '/6/Flatten': ` +
      `Reshape: cannot reshape to [-1,123] ('AveragePool_3:0' float32[N,16,5,5])`,
    () =>
      edited('reshape', 'lenet5', (m) => {
        const flatten = nodeOf(m, 'Flatten');
        flatten.opType = 'Reshape';
        flatten.attribute = [];
        flatten.input = [must(flatten.input, 'the Flatten input')[0], 'bad_shape'];
        graphOf(m).initializer.push({
          name: 'bad_shape',
          dims: [2],
          dataType: onnx.TensorProto.DataType.INT64,
          int64Data: [-1, 123],
        });
      }),
  ],
  [
    'an output that is not [N, classes]',
    (f) =>
      `error: ${f}: the model's output is [N,16,5,5]; ` +
      `a classifier's must be [N, classes]: end it with a Linear, or with Flatten after global average pooling`,
    () =>
      edited('features', 'lenet5', (m) => {
        const g = graphOf(m);
        g.node = g.node.slice(
          0,
          g.node.findIndex((n) => n.opType === 'Flatten'),
        );
        last(g.node).output = ['output'];
      }),
  ],
  [
    'an output of 5 classes',
    (f) => `error: ${f}: the model gives 5 outputs per image; the data has 10 classes`,
    () =>
      edited('five', 'lenet5', (m) => {
        for (const t of graphOf(m).initializer) {
          if (t.name === '11.weight') {
            t.dims = [5, 84];
            t.rawData = new Uint8Array(5 * 84 * 4);
          }
          if (t.name === '11.bias') {
            t.dims = [5];
            t.rawData = new Uint8Array(5 * 4);
          }
        }
      }),
  ],
  [
    'external data outside its folder',
    (f) =>
      `error: ${f}: refused external data location '../weights.bin': ` +
      `only a plain file name beside the model is accepted`,
    () => withExternalWeight('outside', '../weights.bin'),
  ],
  [
    'a file that is not an ONNX model',
    (f) => `error: ${f}: not a loadable ONNX model (invalid wire type 6 at offset 1)`,
    () => {
      const file = join(dir, 'text.onnx');
      writeFileSync(file, 'not a model at all');
      return file;
    },
  ],
];

describe('.onnx models that cannot be trained are refused in one line, with no run folder', () => {
  cases.forEach(([label, message, make], i) => {
    test(label, () => {
      const file = make();
      const out = join(dir, `run-${i}`);
      const r = runCli('train', ['--model', file, ...quick, '--out', out]);
      expect(lines(r.stderr)).toEqual([message(file)]);
      expect(r.status).toBe(1);
      expect(existsSync(out)).toBe(false);
    });
  });
});

test('external data is read at its offset and length only: a small tensor in a 3 GiB file (read whole before)', () => {
  const folder = join(dir, 'external-large');
  mkdirSync(folder);
  const weights = must(initializerOf(fixture('lenet5'), '7.weight').rawData, '7.weight data');
  const data = join(folder, 'weights.bin');
  writeFileSync(data, Buffer.concat([Buffer.alloc(16), Buffer.from(weights)]));
  truncateSync(data, 3 * 2 ** 30); // sparse: no disk is used; reading it whole fails (over 2 GiB)
  const file = withExternalWeight('lenet5-large', 'weights.bin', folder, 16, weights.length);
  const r = runCli('summary', ['--model', file]);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe(runCli('summary', ['--model', join(ROOT, 'test/fixtures/onnx/lenet5.onnx')]).stdout);
  const beyond = withExternalWeight('lenet5-beyond', 'weights.bin', folder, 3 * 2 ** 30 - 8, 16);
  expect(lines(runCli('summary', ['--model', beyond]).stderr)).toEqual([
    `error: ${beyond}: external data of '7.weight': ` +
      'offset 3221225464 and length 16 do not fit its file (3221225472 bytes)',
  ]);
});

test('external data in a plain file beside the model is read, at its offset', () => {
  const folder = join(dir, 'external');
  mkdirSync(folder);
  const weights = must(initializerOf(fixture('lenet5'), '7.weight').rawData, '7.weight data');
  writeFileSync(join(folder, 'weights.bin'), Buffer.concat([Buffer.alloc(16), Buffer.from(weights)]));
  const file = withExternalWeight('lenet5-external', 'weights.bin', folder, 16, weights.length);
  const inline = runCli('summary', ['--model', join(ROOT, 'test/fixtures/onnx/lenet5.onnx')]);
  const external = runCli('summary', ['--model', file]);
  expect(external.stderr).toBe('');
  expect(external.stdout).toBe(inline.stdout);
  // A link beside the model that leads out of its folder is refused.
  const linked = join(dir, 'linked');
  mkdirSync(linked);
  symlinkSync(join(folder, 'weights.bin'), join(linked, 'weights.bin'));
  const viaLink = withExternalWeight('lenet5-link', 'weights.bin', linked);
  expect(lines(runCli('summary', ['--model', viaLink]).stderr)).toEqual([
    `error: ${viaLink}: refused external data location 'weights.bin': it leads out of the model's folder`,
  ]);
});
