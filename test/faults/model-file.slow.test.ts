/**
 * `--model` with a file that cannot be trained: each gets one line naming the file (and the
 * layer, where one does not fit), exit 1, and no run folder.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { lines, ROOT, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'model-file-'));
/**
 * A model file in a temporary folder, importing the package's source by its absolute path
 * (an .mts file: a .ts one there, with no "type": "module" above it, would load as CommonJS).
 */
function modelFile(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `import * as nn from '${join(ROOT, 'src/index.js')}';\n${body}\n`);
  return file;
}
const quick = ['--train-limit', '64', '--test-limit', '32', '--epochs', '1', '--threads', '1', '--batch-size', '32'];

/** LeNet-5 on 28x28 without padding: 16x4x4 = 256 features reach fc1. */
const lenetUnpadded = `export default new nn.Sequential({
  conv1: new nn.Conv2d(1, 6, 5), relu1: new nn.ReLU(), pool1: new nn.MaxPool2d(2),
  conv2: new nn.Conv2d(6, 16, 5), relu2: new nn.ReLU(), pool2: new nn.MaxPool2d(2),
  flatten: new nn.Flatten(), fc1: new nn.Linear(400, 120), relu3: new nn.ReLU(), fc2: new nn.Linear(120, 10),
});`;

const cases: [string, string, (file: string) => string][] = [
  ['a layer that does not fit its input', lenetUnpadded, (f) => `error: ${f}: layer 'fc1' (Linear 400->120) got 256 features`],
  [
    'a conv given the wrong channel count',
    'export default new nn.Sequential(new nn.Conv2d(1, 8, 3), new nn.Conv2d(4, 10, 3), new nn.AdaptiveAvgPool2d(1), new nn.Flatten());',
    (f) => `error: ${f}: layer '1' (Conv2d 4->10, 3x3) got 8 channels`,
  ],
  [
    'an output that is not [N, classes]',
    'export default new nn.Sequential(new nn.Conv2d(1, 10, 3));',
    (f) =>
      `error: ${f}: the model's output is [N,10,26,26]; a classifier's must be [N, classes]: end it with a Linear, or with Flatten after global average pooling`,
  ],
  [
    'an output of 5 classes for 10',
    'export default new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 5));',
    (f) => `error: ${f}: the model gives 5 outputs per image; the data has 10 classes`,
  ],
  [
    'an input shape the data cannot give',
    'export const inputShape = [3, 32, 32];\nexport default new nn.Sequential(new nn.Flatten(), new nn.Linear(3072, 10));',
    (f) => `error: ${f}: the model takes [3,32,32] images; the data gives [1,28,28]`,
  ],
  [
    'no default export',
    'export const net = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 10));',
    (f) => `error: ${f}: has no default export: end it with \`export default new Sequential(...)\` (or your module)`,
  ],
  [
    'a default export that is a class, not an instance',
    'export default class Net extends nn.Sequential {}',
    (f) => `error: ${f}: its default export is a class or function 'Net', not a module: export an instance, e.g. \`export default new Net()\``,
  ],
  [
    'a default export that is not a module',
    'export default { layers: 3 };',
    (f) => `error: ${f}: its default export is a object, not a module: export an instance, e.g. \`export default new Net()\``,
  ],
  ['a file that throws', "throw new Error('no GPU found');", (f) => `error: ${f}: failed to load: no GPU found`],
  [
    'a constructor that throws',
    'export default new nn.Sequential(new nn.GroupNorm(3, 8));',
    (f) => `error: ${f}: failed to load: GroupNorm(3, 8): the groups must divide the channels`,
  ],
  [
    'a model with nothing to train',
    'export default new nn.Sequential(new nn.AdaptiveAvgPool2d(1), new nn.Flatten());',
    (f) => `error: ${f}: the model has no parameters to train`,
  ],
];

describe('--model files that cannot be trained are refused in one line, with no run folder', () => {
  cases.forEach(([label, body, message], i) => {
    test(label, () => {
      const file = modelFile(`case-${i}.mts`, body);
      const out = join(dir, `run-${i}`);
      const r = runCli('train', ['--model', file, ...quick, '--out', out]);
      expect(lines(r.stderr)).toEqual([message(file)]);
      expect(r.status).toBe(1);
      expect(existsSync(out)).toBe(false);
    });
  });

  test('a file with a syntax error, a missing file, an .onnx that is not one and a .txt', () => {
    const broken = modelFile('broken.mts', 'export default new nn.Sequential(;');
    const r = runCli('summary', ['--model', broken]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${broken}: failed to load: .*(Unexpected|Expected|error)`, 'i'));
    const missing = join(dir, 'nope.ts');
    expect(lines(runCli('summary', ['--model', missing]).stderr)).toEqual([`error: ${missing}: file not found`]);
    const onnx = join(dir, 'net.onnx');
    writeFileSync(onnx, 'x');
    expect(lines(runCli('summary', ['--model', onnx]).stderr)).toEqual([`error: ${onnx}: not a loadable ONNX model (index out of range: 1 + 1 > 1)`]);
    const txt = join(dir, 'net.txt');
    writeFileSync(txt, 'x');
    expect(lines(runCli('summary', ['--model', txt]).stderr)).toEqual([
      `error: ${txt}: not a model file: expected a TypeScript module (.ts, .mts, .js, .mjs) or an .onnx`,
    ]);
  });

  test('summary refuses a layer that does not fit, by name', () => {
    const file = modelFile('summary-case.mts', lenetUnpadded);
    const r = runCli('summary', ['--model', file]);
    expect(lines(r.stderr)).toEqual([`error: ${file}: layer 'fc1' (Linear 400->120) got 256 features`]);
    expect(r.status).toBe(1);
  });
});

test('a .ts model file that Node loads as CommonJS (a second copy of the package) is refused, saying what to do', () => {
  const file = modelFile('commonjs.ts', 'export default new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 10));');
  const r = runCli('summary', ['--model', file]);
  expect(lines(r.stderr)).toEqual([
    `error: ${file}: was loaded as CommonJS (no "type": "module" in a package.json above it), with its own copy of this package: rename it to .mts, or add "type": "module"`,
  ]);
  expect(r.status).toBe(1);
});
