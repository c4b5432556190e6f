/**
 * `--model` with a file that cannot be trained: each gets one line naming the file (and the
 * layer, where one does not fit), exit 1, and no run folder.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { lines, ROOT, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'training-model-'));
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
  [
    'a layer that does not fit its input',
    lenetUnpadded,
    (f) => `error: ${f}: layer 'fc1' (Linear 400->120) got 256 features`,
  ],
  [
    'a conv given the wrong channel count',
    'export default new nn.Sequential(' +
      'new nn.Conv2d(1, 8, 3), new nn.Conv2d(4, 10, 3), new nn.AdaptiveAvgPool2d(1), new nn.Flatten());',
    (f) => `error: ${f}: layer '1' (Conv2d 4->10, 3x3) got 8 channels`,
  ],
  [
    'an output that is not [N, classes]',
    'export default new nn.Sequential(new nn.Conv2d(1, 10, 3));',
    (f) =>
      `error: ${f}: the model's output is [N,10,26,26]; ` +
      `a classifier's must be [N, classes]: end it with a Linear, or with Flatten after global average pooling`,
  ],
  [
    'an output of 5 classes for 10',
    'export default new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 5));',
    (f) => `error: ${f}: the model gives 5 outputs per image; the data has 10 classes`,
  ],
  [
    'an input shape the data cannot give',
    'export const inputShape = [3, 32, 32];\n' +
      'export default new nn.Sequential(new nn.Flatten(), new nn.Linear(3072, 10));',
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
    (f) =>
      `error: ${f}: its default export is a class or function 'Net', not a module: ` +
      `export an instance, e.g. \`export default new Net()\``,
  ],
  [
    'a default export that is not a module',
    'export default { layers: 3 };',
    (f) =>
      `error: ${f}: its default export is a object, not a module: ` +
      `export an instance, e.g. \`export default new Net()\``,
  ],
  ['a file that throws', "throw new Error('no GPU found');", (f) => `error: ${f}: failed to load: no GPU found`],
  [
    'a constructor that throws',
    'export default new nn.Sequential(new nn.GroupNorm(3, 8));',
    (f) => `error: ${f}: failed to load: GroupNorm(3, 8): the groups must divide the channels`,
  ],
  [
    "a parameter named '__metadata__', which safetensors reserves (a run trained, then no checkpoint loaded)",
    `class Net extends nn.Module {
  readonly fc = new nn.Linear(784, 10);
  readonly __metadata__ = new nn.Parameter([1], () => new Float32Array(1));
  forward(x: nn.Tensor, ctx: nn.Context): nn.Tensor { return this.fc.call(new nn.Flatten().call(x, ctx), ctx); }
}
export default new Net();`,
    (f) =>
      `error: ${f}: the model (Net): ` +
      `a parameter or buffer named '__metadata__', which safetensors files reserve: rename it`,
  ],
  [
    "a parameter named 'lr', as the training graph names its learning rate (a stack trace)",
    `class Net extends nn.Module {
  readonly fc = new nn.Linear(784, 10);
  readonly lr = new nn.Parameter([1], () => new Float32Array(1));
  forward(x: nn.Tensor, ctx: nn.Context): nn.Tensor { return this.fc.call(new nn.Flatten().call(x, ctx), ctx); }
}
export default new Net();`,
    (f) =>
      `error: ${f}: the model (Net): a parameter or buffer named 'lr', a name the training graph gives one of its ` +
      `own inputs or outputs (input, target, log_probs, output, lr, step, loss, correct, average_decay): rename it`,
  ],
  [
    "two entries of one name: a property 'fc.weight' beside a Linear 'fc'",
    `class Net extends nn.Module {
  readonly fc = new nn.Linear(784, 10);
  readonly 'fc.weight' = new nn.Parameter([10, 784], () => new Float32Array(7840));
  forward(x: nn.Tensor, ctx: nn.Context): nn.Tensor { return this.fc.call(new nn.Flatten().call(x, ctx), ctx); }
}
export default new Net();`,
    (f) =>
      `error: ${f}: layer 'fc' (Linear 784->10): ` +
      `two parameters or buffers named 'fc.weight' (a property name with a dot?): rename one`,
  ],
  [
    "a parameter named as the step graph names its optimizer slot: 'fc.weight.momentum_buffer'",
    `class Net extends nn.Module {
  readonly fc = new nn.Linear(784, 10);
  readonly 'fc.weight.momentum_buffer' = new nn.Parameter([10], () => new Float32Array(10));
  forward(x: nn.Tensor, ctx: nn.Context): nn.Tensor {
    return nn.op.add(this.fc.call(new nn.Flatten().call(x, ctx), ctx), ctx.value(this['fc.weight.momentum_buffer']));
  }
}
export default new Net();`,
    (f) =>
      `error: ${f}: the model has a parameter or buffer named 'fc.weight.momentum_buffer', a name the training ` +
      'graph gives one of its own values (input, target, log_probs, output, lr, step, loss, correct, average_decay, ' +
      '<name>.next, <name>.<optimizer slot>, <name>.average, <layer>.mask): rename it',
  ],
  [
    'a parameter whose name holds a control character',
    `class Net extends nn.Module {
  readonly fc = new nn.Linear(784, 10);
  readonly 'bias\\nfake' = new nn.Parameter([10], () => new Float32Array(10));
  forward(x: nn.Tensor, ctx: nn.Context): nn.Tensor {
    return nn.op.add(this.fc.call(new nn.Flatten().call(x, ctx), ctx), ctx.value(this['bias\\nfake']));
  }
}
export default new Net();`,
    (f) =>
      `error: ${f}: the model (Net): a parameter or buffer named "bias\\nfake", with a control character: rename it`,
  ],
  [
    'a parameter initialised to NaN: the model is blamed, not the learning rate',
    `class Net extends nn.Module {
  readonly fc = new nn.Linear(784, 10);
  readonly shift = new nn.Parameter([10], () => new Float32Array(10).fill(Number.NaN));
  forward(x: nn.Tensor, ctx: nn.Context): nn.Tensor {
    return nn.op.add(this.fc.call(new nn.Flatten().call(x, ctx), ctx), ctx.value(this.shift));
  }
}
export default new Net();`,
    (f) =>
      `error: ${f}: loss became NaN at epoch 1, batch 0, step 0 (lr 0.05): ` +
      `the model gives non-finite outputs from its initial weights, before any update; no checkpoint was written yet`,
  ],
  [
    'a parameter the forward never uses (a stack trace, and a run folder that blocked the same --out)',
    `class Net extends nn.Module {
  readonly fc = new nn.Linear(784, 10);
  readonly spare = new nn.Linear(10, 10);
  forward(x: nn.Tensor, ctx: nn.Context): nn.Tensor { return this.fc.call(new nn.Flatten().call(x, ctx), ctx); }
}
export default new Net();`,
    (f) =>
      `error: ${f}: parameter 'spare.weight' does not affect the loss (a layer the forward never calls?): ` +
      `remove it, or freeze it (--freeze spare.weight)`,
  ],
  [
    'a top-level await that never settles (exit 0 with nothing done, before)',
    'await new Promise(() => {});\nexport default new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 10));',
    (f) => `error: ${f}: never finished (a top-level await that never settles?)`,
  ],
  [
    'a forward that divides by zero: not a learning-rate problem, so no --lr advice',
    `class DivideByZero extends nn.Module {
  forward(x: nn.Tensor): nn.Tensor { return nn.op.div(x, 0); }
}
export default new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 10), new DivideByZero());`,
    (f) =>
      `error: ${f}: loss became NaN at epoch 1, batch 0, step 0 (lr 0.05): ` +
      `the model gives non-finite outputs from its initial weights, before any update; no checkpoint was written yet`,
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
    expect(lines(runCli('summary', ['--model', onnx]).stderr)).toEqual([
      `error: ${onnx}: not a loadable ONNX model (index out of range: 1 + 1 > 1)`,
    ]);
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

test('a Linear of 10^9 weights is refused before anything is allocated, with the figures (it grew to 21 GB until the OOM killer ended it)', () => {
  const file = modelFile(
    'huge.mts',
    'export default new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 1275510), new nn.Linear(1275510, 10));',
  );
  const out = join(dir, 'run-huge');
  const started = performance.now();
  const r = runCli('train', ['--model', file, '--out', out]);
  expect(r.status).toBe(1);
  expect(lines(r.stderr)).toHaveLength(1);
  expect(lines(r.stderr)[0]).toMatch(
    new RegExp(
      `^error: ${file}: the run needs about \\d+\\.\\d GB \\(the model 3\\.78 GB; with the ` +
        `optimizer's state and the step's two copies 18\\.9 GB; activations at this batch size \\d+\\.\\d+ GB\\), ` +
        `more than 80% of this machine's \\d+\\.\\d GB \\(\\d+\\.\\d+? GB\\); pass --no-memory-check to go ahead$`,
    ),
  );
  expect(performance.now() - started).toBeLessThan(30_000);
  expect(existsSync(out)).toBe(false);
});

test('a model whose evaluation gives NaN is stopped when that happens, with no checkpoint it could not read back', () => {
  const file = modelFile(
    'eval-nan.mts',
    `class NaNWhenEvaluated extends nn.Module {
  forward(x: nn.Tensor, ctx: nn.Context): nn.Tensor { return ctx.mode === 'eval' ? nn.op.mul(x, Number.NaN) : x; }
}
export default new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 10), new NaNWhenEvaluated());`,
  );
  const out = join(dir, 'run-eval-nan');
  const r = runCli('train', ['--model', file, ...quick, '--out', out]);
  expect(r.status).toBe(1);
  expect(lines(r.stderr)).toEqual([
    `error: ${file}: the validation loss became NaN after epoch 1, step 2: the evaluated model gives non-finite outputs; ` +
      'no checkpoint was written yet',
  ]);
  expect(existsSync(join(out, 'checkpoints')) ? readdirSync(join(out, 'checkpoints')) : []).toEqual([]);
});

test('a helper the model file imports, edited before --resume or export, is refused by name (it would train another network)', () => {
  const sub = mkdtempSync(join(dir, 'pinned-'));
  const helper = join(sub, 'helper.mts');
  writeFileSync(
    helper,
    `import * as nn from '${join(ROOT, 'src/index.js')}';\nexport const act = () => new nn.ReLU();\n`,
  );
  const file = join(sub, 'net.mts');
  writeFileSync(
    file,
    `import * as nn from '${join(ROOT, 'src/index.js')}';\nimport { act } from './helper.mjs';\n` +
      `export default new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 32), act(), new nn.Linear(32, 10));\n`,
  );
  const out = join(sub, 'run');
  expect(runCli('train', ['--model', file, ...quick, '--out', out]).status).toBe(0);
  expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).config.model.imports).toEqual({
    [helper]: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  writeFileSync(
    helper,
    `import * as nn from '${join(ROOT, 'src/index.js')}';\nexport const act = () => new nn.Tanh();\n`,
  );
  const message = new RegExp(
    `^error: ${helper}: imported by the run's model file ${file}, ` +
      `edited since the run started \\(SHA-256 [0-9a-f]{12}\\.\\.\\., now [0-9a-f]{12}\\.\\.\\.\\): ` +
      `the run would train another network; restore it or start a new run$`,
  );
  const resumed = runCli('train', ['--out', out, '--resume', '--epochs', '2']);
  expect(resumed.status).toBe(1);
  expect(lines(resumed.stderr)).toHaveLength(1);
  expect(lines(resumed.stderr)[0]).toMatch(message);
  const exported = runCli('export', ['--checkpoint', out, '--out', join(sub, 'm.onnx')]);
  expect(exported.status).toBe(1);
  expect(lines(exported.stderr)[0]).toMatch(message);
});

test('a model file gone before --resume: restore the run’s copy where it was (no --model advice); it resumes', () => {
  const sub = mkdtempSync(join(dir, 'gone-'));
  const file = join(sub, 'net.mts');
  writeFileSync(
    file,
    `import * as nn from '${join(ROOT, 'src/index.js')}';\n` +
      `export default new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 10));\n`,
  );
  const out = join(sub, 'run');
  expect(runCli('train', ['--model', file, ...quick, '--out', out]).status).toBe(0);
  rmSync(file);
  const refused = runCli('train', ['--out', out, '--resume', '--epochs', '2']);
  const copy = join(out, 'model.mts');
  // No advice to pass --model <run>/model.mts: outside the repository the copy cannot import the package.
  expect(lines(refused.stderr)).toEqual([
    `error: ${file}: the run's model file is gone; the run keeps a copy: restore it where it was ` +
      `(cp ${copy} ${file}), where it finds what it imports`,
  ]);
  copyFileSync(copy, file);
  const resumed = runCli('train', ['--out', out, '--resume', '--epochs', '2']);
  expect(resumed.status, resumed.stderr).toBe(0);
});

test('a .ts model file that Node loads as CommonJS (a second copy of the package) is refused, saying what to do', () => {
  const file = modelFile('commonjs.ts', 'export default new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 10));');
  const r = runCli('summary', ['--model', file]);
  expect(lines(r.stderr)).toEqual([
    `error: ${file}: was loaded as CommonJS (no "type": "module" in a package.json above it), ` +
      `with its own copy of this package: rename it to .mts, or add "type": "module"`,
  ]);
  expect(r.status).toBe(1);
});
