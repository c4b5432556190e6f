/**
 * Values that look like settings but say nothing: an empty path is not "the default", and an
 * environment switch that is neither 0 nor 1 is not "on". Each is one line, before anything is made.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { lines, ROOT, runCli } from '../helpers/cli.js';

const quick = ['--train-limit', '128', '--test-limit', '100', '--threads', '1', '--batch-size', '64', '--epochs', '1'];

test.each([
  ['train', ['--out', '']],
  ['train', ['--data-dir', '']],
  ['train', ['--model', '']],
  ['export', ['--checkpoint', 'runs/x', '--out', '']],
  ['export', ['--checkpoint', '']],
  ['predict', ['digit.png', '--model', '']],
  ['summary', ['--model', '']],
])('%s %j: refused in one line, nothing made', (script, args) => {
  const cwd = mkdtempSync(join(tmpdir(), 'cli-values-'));
  const r = runCli(script, [...(script === 'train' ? quick : []), ...args], { cwd });
  const flag = args[args.indexOf('') - 1];
  expect(lines(r.stderr)).toEqual([
    expect.stringMatching(
      new RegExp(`^error: option '${flag} <\\w+>' argument '' is invalid\\. must not be empty\\.$`),
    ),
  ]);
  expect(r.status).toBe(1);
  expect(readdirSync(cwd)).toEqual([]);
});

test.each([
  ['ONNX_MNIST_NCHWC', 'yes'],
  ['ONNX_MNIST_NCHWC', 'false'],
  ['ONNX_MNIST_SPIN_WAIT', 'off'],
  ['ONNX_MNIST_SPIN_WAIT', '2'],
])('%s=%s: refused in one line before a run folder is made', (name, value) => {
  const out = join(mkdtempSync(join(tmpdir(), 'cli-values-')), 'run');
  const r = runCli('train', [...quick, '--out', out], { env: { [name]: value } });
  expect(lines(r.stderr)).toEqual([`error: ${name}=${value}: expected 0 (off) or 1 (on)`]);
  expect(r.status).toBe(1);
  expect(existsSync(out)).toBe(false);
});

test('ONNX_MNIST_NCHWC=0 and an empty ONNX_MNIST_SPIN_WAIT still train', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'cli-values-')), 'run');
  const r = runCli('train', [...quick, '--max-steps', '1', '--out', out], {
    env: { ONNX_MNIST_NCHWC: '0', ONNX_MNIST_SPIN_WAIT: '' },
    cwd: ROOT,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
