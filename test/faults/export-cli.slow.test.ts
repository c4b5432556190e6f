/**
 * `npm run export` when things go wrong: broken checkpoints, places that cannot be written,
 * temporaries of a killed export and links planted at temporary names, data the network cannot take. Each failure is
 * one line naming the file and the problem, exit code 1, and nothing written.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { bundledMnistDir, loadSplit } from '../../src/data/mnist.node.js';
import { cardMismatch } from '../../src/export/model-card.node.js';
import { sha256Hex } from '../../src/util/sha256.node.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/util/safetensors.node.js';
import { lines, ROOT, runCli } from '../helpers/cli.js';
import { idx, replaceCheckpointFile, shortRun, writeDataDir } from './export-fixtures.js';
import { entry } from '../helpers/must.js';

let checkpoint: string;
/** 200 real MNIST test images (and 10 training images): a full export in a few seconds. */
let smallData: string;

beforeAll(() => {
  const root = mkdtempSync(join(tmpdir(), 'export-cli-'));
  checkpoint = shortRun(join(root, 'run'));
  smallData = join(root, 'data');
  mkdirSync(smallData);
  const test10k = loadSplit(bundledMnistDir(), 'test');
  writeFileSync(join(smallData, 't10k-images-idx3-ubyte'), idx([200, 28, 28], test10k.images.subarray(0, 200 * 784)));
  writeFileSync(join(smallData, 't10k-labels-idx1-ubyte'), idx([200], test10k.labels.subarray(0, 200)));
  // export reads only the test split; training files are there for completeness
  writeFileSync(join(smallData, 'train-images-idx3-ubyte'), idx([10, 28, 28], test10k.images.subarray(0, 10 * 784)));
  writeFileSync(join(smallData, 'train-labels-idx1-ubyte'), idx([10], test10k.labels.subarray(0, 10)));
});

const exportTo = (out: string, extra: string[] = []) =>
  runCli('export', ['--checkpoint', checkpoint, '--data-dir', smallData, '--out', out, ...extra]);

/** Expects exactly `error` on stderr, exit code 1, and no verification run. */
function expectRefused(r: ReturnType<typeof runCli>, error: string): void {
  expect(lines(r.stderr)).toEqual([`error: ${error}`]);
  expect(r.status).toBe(1);
}

describe('an unwritable --out is refused at once, naming the path', () => {
  test('--out under a regular file', () => {
    const root = mkdtempSync(join(tmpdir(), 'export-out-'));
    const file = join(root, 'somefile');
    writeFileSync(file, 'keep me');
    for (const out of [join(file, 'x.onnx'), join(file, 'a', 'b', 'x.onnx')]) {
      const r = exportTo(out);
      expectRefused(r, `${out}: cannot write: ${file} is a file, not a folder`);
      expect(r.stdout).not.toContain('verifying'); // refused before the long part
    }
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    expect(readdirSync(root)).toEqual(['somefile']);
  });

  test('--out an existing folder', () => {
    const root = mkdtempSync(join(tmpdir(), 'export-out-'));
    const out = join(root, 'model.onnx');
    mkdirSync(out);
    const r = exportTo(out);
    expectRefused(r, `${out}: cannot write: is a folder, not a file`);
    expect(readdirSync(root)).toEqual(['model.onnx']);
    expect(readdirSync(out)).toEqual([]);
  });

  test('the card beside --out an existing folder', () => {
    const root = mkdtempSync(join(tmpdir(), 'export-out-'));
    mkdirSync(join(root, 'm.json'));
    const r = exportTo(join(root, 'm.onnx'));
    expectRefused(r, `${join(root, 'm.json')}: cannot write: is a folder, not a file`);
    expect(readdirSync(root)).toEqual(['m.json']);
  });

  test('--out in /proc, which takes no new files', () => {
    const r = exportTo('/proc/x.onnx');
    expectRefused(r, '/proc/x.onnx: cannot write: cannot create a file in /proc (ENOENT)');
    expect(existsSync('/proc/x.onnx')).toBe(false);
    expect(existsSync('/proc/x.json')).toBe(false);
  });
});

describe('never through a planted link', () => {
  test('links planted at the temporary names of the next 300 pids: no victim touched, no link removed or renamed into place', () => {
    const root = mkdtempSync(join(tmpdir(), 'export-links-'));
    const out = join(root, 'mnist.onnx');
    const victim = join(root, 'victim.txt');
    writeFileSync(victim, 'keep me');
    const next = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    const planted = Array.from({ length: 300 }, (_, k) => next + 1 + k).flatMap((pid) => [
      `${out}.tmp-${pid}`,
      join(root, `mnist.json.tmp-${pid}`),
    ]);
    for (const link of planted) symlinkSync(victim, link);
    const r = exportTo(out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    for (const f of [out, join(root, 'mnist.json')]) expect(lstatSync(f).isFile()).toBe(true);
    for (const link of planted) expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readdirSync(root)).toHaveLength(planted.length + 3);
  });
});

describe('the pair is written whole', () => {
  test('an --out name of 250 bytes, legal on any file system, is written with its card', () => {
    const root = mkdtempSync(join(tmpdir(), 'export-long-'));
    const out = join(root, `${'m'.repeat(245)}.onnx`);
    const r = exportTo(out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readdirSync(root).sort()).toEqual([`${'m'.repeat(245)}.json`, `${'m'.repeat(245)}.onnx`]);
  });

  test("the card records the SHA-256 of the .onnx written; files named like a killed export's temporaries are left alone", () => {
    const root = mkdtempSync(join(tmpdir(), 'export-pair-'));
    const out = join(root, 'mnist.onnx');
    const deadPid = 2_000_000_000; // above any pid_max (at most 2^22), so no process has it
    const kept = [
      `${out}.tmp-${deadPid}`,
      join(root, `mnist.json.tmp-${deadPid}`),
      `${out}.tmp-${process.pid}`,
      `${out}.tmp-backup`,
      join(root, `other.onnx.tmp-${deadPid}`),
    ];
    for (const f of kept) writeFileSync(f, 'half a file');

    const r = exportTo(out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const onnx = readFileSync(out);
    const card = JSON.parse(readFileSync(join(root, 'mnist.json'), 'utf8'));
    expect(card.onnx_sha256).toBe(sha256Hex(onnx));
    expect(cardMismatch(card, onnx)).toBeUndefined();
    expect(card.test_count).toBe(200);
    for (const f of kept) expect(readFileSync(f, 'utf8')).toBe('half a file');
    expect(readdirSync(root).sort()).toEqual(
      ['mnist.json', 'mnist.onnx', ...kept.map((f) => f.slice(root.length + 1))].sort(),
    );

    // A crash between the two renames leaves the new .onnx beside the old card: detectable.
    const older = { ...card, onnx_sha256: sha256Hex(Buffer.from('the model of an earlier export')) };
    expect(cardMismatch(older, onnx)).toMatch(
      /^the card records onnx_sha256 [0-9a-f]{64}, but the model's SHA-256 is [0-9a-f]{64}: the pair does not belong together$/,
    );
  });

  test('a card from before onnx_sha256 existed (models/mnist.json) is accepted as it is', () => {
    const card = JSON.parse(readFileSync(join(ROOT, 'models', 'mnist.json'), 'utf8'));
    expect(cardMismatch(card, readFileSync(join(ROOT, 'models', 'mnist.onnx')))).toBeUndefined();
  });
});

describe('export replaces no file it was not asked to', () => {
  test('without --out nothing is written (it used to replace the shipped models/mnist.onnx)', () => {
    const shipped = readFileSync(join(ROOT, 'models', 'mnist.onnx'));
    const r = runCli('export', ['--checkpoint', checkpoint, '--data-dir', smallData]);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual(["error: required option '--out <file>' not specified"]);
    expect(readFileSync(join(ROOT, 'models', 'mnist.onnx'))).toEqual(shipped);
  });

  test('an existing --out, or its card, is refused in one line and kept; --force replaces the pair', () => {
    const root = mkdtempSync(join(tmpdir(), 'export-exists-'));
    const out = join(root, 'mine.onnx');
    writeFileSync(out, 'a model of the user');
    const r = exportTo(out);
    expect(r.status).toBe(1);
    expect(lines(r.stderr)).toEqual([
      `error: ${out}: exists: export replaces a file only with --force (choose another --out, or pass --force)`,
    ]);
    expect(readFileSync(out, 'utf8')).toBe('a model of the user');
    const card = join(root, 'other.json');
    writeFileSync(card, '{"a card": "of the user"}');
    const cardOnly = exportTo(join(root, 'other.onnx'));
    expect(lines(cardOnly.stderr)).toEqual([
      `error: ${card}: exists: export replaces a file only with --force (choose another --out, or pass --force)`,
    ]);
    expect(existsSync(join(root, 'other.onnx'))).toBe(false);
    const forced = exportTo(out, ['--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(readFileSync(out).subarray(0, 4)).not.toEqual(Buffer.from('a mo'));
    expect(JSON.parse(readFileSync(join(root, 'mine.json'), 'utf8')).onnx_sha256).toBe(sha256Hex(readFileSync(out)));
  });
});

describe('a checkpoint that would export a broken model is refused, naming the tensor', () => {
  function editedCheckpoint(tensor: string, value: number): string {
    const dir = join(mkdtempSync(join(tmpdir(), 'export-bad-')), 'epoch-001');
    mkdirSync(dir);
    for (const f of readdirSync(checkpoint)) writeFileSync(join(dir, f), readFileSync(join(checkpoint, f)));
    const file = join(dir, 'model.safetensors');
    const { tensors, metadata } = decodeSafetensors(readFileSync(file), file);
    const t = entry(tensors, tensor);
    if (t.dtype !== 'F32') throw new Error(`${tensor} is not F32`);
    t.data[0] = value;
    // trainer.json's hash is updated, so the edit reaches export's own checks
    replaceCheckpointFile(dir, 'model.safetensors', encodeSafetensors(tensors, metadata));
    return dir;
  }

  test('a negative running variance', () => {
    const dir = editedCheckpoint('bn1.running_var', -0.5);
    const out = join(dir, '..', 'out', 'm.onnx');
    const r = runCli('export', ['--checkpoint', dir, '--data-dir', smallData, '--out', out]);
    expectRefused(
      r,
      "cannot export: 'bn1.running_var' holds -0.5 (element 0); " +
        'a variance cannot be negative (folding takes its square root)',
    );
    expect(existsSync(join(dir, '..', 'out'))).toBe(false);
  });

  test('NaN in a running mean', () => {
    const dir = editedCheckpoint('bn2.running_mean', NaN);
    const out = join(dir, '..', 'out', 'm.onnx');
    const r = runCli('export', ['--checkpoint', dir, '--data-dir', smallData, '--out', out]);
    // refused by loading the checkpoint or by folding it: either way one line naming the tensor
    const errors = lines(r.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: .*'bn2\.running_mean' holds NaN \(element 0\)/);
    expect(r.status).toBe(1);
    expect(existsSync(join(dir, '..', 'out'))).toBe(false);
  });
});

describe('verification data the network cannot take', () => {
  test('20x20 test images: one line naming the file, nothing written', () => {
    const root = mkdtempSync(join(tmpdir(), 'export-data-'));
    const dir = writeDataDir(join(root, 'data'), { count: 10 }, { count: 10, rows: 20, cols: 20 });
    const r = runCli('export', ['--checkpoint', checkpoint, '--data-dir', dir, '--out', join(root, 'out', 'm.onnx')]);
    expectRefused(r, `${join(dir, 't10k-images-idx3-ubyte')}: images are 20x20; the network needs 28x28`);
    expect(existsSync(join(root, 'out'))).toBe(false);
  });

  test('an empty test set: one line naming the file, nothing written', () => {
    const root = mkdtempSync(join(tmpdir(), 'export-data-'));
    const dir = writeDataDir(join(root, 'data'), { count: 10 }, { count: 0 });
    const r = runCli('export', ['--checkpoint', checkpoint, '--data-dir', dir, '--out', join(root, 'out', 'm.onnx')]);
    expectRefused(r, `${join(dir, 't10k-images-idx3-ubyte')}: holds no images (the header says 0)`);
    expect(existsSync(join(root, 'out'))).toBe(false);
  });
});
