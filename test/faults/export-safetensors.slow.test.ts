/**
 * Corrupted safetensors headers: decodeSafetensors returns a valid result or throws a
 * SafetensorsError naming the file, never anything else; the export CLI prints one line.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { seedCnn } from '../../src/model/seed-cnn.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  type SafeTensor,
  type SafeTensors,
  SafetensorsError,
} from '../../src/util/safetensors.node.js';
import { lines, runCli } from '../helpers/cli.js';
import { replaceCheckpointFile, shortRun } from './export-fixtures.js';
import { entry } from '../helpers/must.js';

const FILE = 'ckpt/model.safetensors';

/** A checkpoint-like model.safetensors: the seed CNN's state (F32) plus BatchNorm counters (I64). */
function realModelFile(): Uint8Array {
  const net = seedCnn();
  const tensors = new Map<string, SafeTensor>();
  for (const [name, t] of net.initialState(7)) tensors.set(name, { dtype: 'F32', shape: t.shape, data: t.data });
  tensors.set('bn1.num_batches_tracked', { dtype: 'I64', shape: [], data: BigInt64Array.of(12n) });
  return encodeSafetensors(tensors, { format: 'pt', producer: 'onnx-mnist-train' });
}

function headerLength(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
}

/** Hand-made files: a header object (serialised as is) followed by `dataBytes` zero bytes. */
function file(header: unknown, dataBytes: number, rawHeader?: string | Uint8Array): Uint8Array {
  const json = typeof rawHeader === 'object' ? rawHeader : Buffer.from(rawHeader ?? JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

/**
 * Decoding either succeeds with self-consistent tensors or fails with a one-line
 * SafetensorsError naming the file. Plain checks, not expect(): this runs ~30,000 times.
 */
function expectValidOrSafetensorsError(bytes: Uint8Array): 'ok' | 'error' {
  let result: SafeTensors;
  try {
    result = decodeSafetensors(bytes, FILE);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw new Error(`not a SafetensorsError: ${String(e)}`, { cause: e });
    if (!e.message.startsWith(`${FILE}: `) || e.message.includes('\n'))
      throw new Error(`not one line naming the file: ${e.message}`);
    return 'error';
  }
  for (const [name, t] of result.tensors) {
    const valid =
      t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) && t.data.length === t.shape.reduce((a, b) => a * b, 1);
    if (!valid) throw new Error(`decoded an inconsistent tensor '${name}': [${t.shape}] with ${t.data.length} values`);
  }
  if (!Object.values(result.metadata).every((v) => typeof v === 'string'))
    throw new Error('decoded metadata that is not all strings');
  return 'ok';
}

describe('decodeSafetensors from a file read into a Buffer', () => {
  test('an I64 after an odd number of floats decodes (a Buffer slice is a view, not an aligned copy)', () => {
    const tensors = new Map<string, SafeTensor>([
      ['a', { dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) }],
      ['b', { dtype: 'I64', shape: [1], data: BigInt64Array.of(7n) }],
      ['c', { dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 3) }],
      ['d', { dtype: 'U16', shape: [1], data: Uint16Array.of(513) }],
    ]);
    // at an odd offset of its pool
    const bytes = Buffer.concat([Buffer.alloc(3), Buffer.from(encodeSafetensors(tensors))]).subarray(3);
    const decoded = decodeSafetensors(bytes, 'x.safetensors').tensors;
    expect(Array.from(entry(decoded, 'a').data as Float32Array)).toEqual([1, 2, 3]);
    expect(entry(decoded, 'b').data[0]).toBe(7n);
    expect(Array.from(entry(decoded, 'c').data as Uint8Array)).toEqual([1, 2, 3]);
    expect(entry(decoded, 'd').data[0]).toBe(513);
  });
});

describe('decodeSafetensors on corrupted headers', () => {
  const good = realModelFile();

  test('the uncorrupted file decodes', () => {
    const { tensors, metadata } = decodeSafetensors(good, FILE);
    expect(tensors.size).toBe(seedCnn().stateSpecs.length + 1);
    expect(metadata.producer).toBe('onnx-mnist-train');
  });

  test('every single-bit flip in the length and header gives a valid result or a SafetensorsError', () => {
    const bytes = Uint8Array.from(good);
    const end = 8 + headerLength(good);
    const outcomes = { ok: 0, error: 0 };
    for (let i = 0; i < end; i++) {
      for (let bit = 0; bit < 8; bit++) {
        bytes[i] ^= 1 << bit;
        outcomes[expectValidOrSafetensorsError(bytes)]++;
        bytes[i] ^= 1 << bit;
      }
    }
    expect(outcomes.error).toBeGreaterThan(0);
    expect(outcomes.ok + outcomes.error).toBe(end * 8);
  });

  test('4,000 seeded random byte replacements in the header give a valid result or a SafetensorsError', () => {
    const bytes = Uint8Array.from(good);
    const end = 8 + headerLength(good);
    // JSON's structural characters and digits are the likeliest to make another valid-looking header.
    const values = [0x00, 0x20, 0x22, 0x2c, 0x2d, 0x2e, 0x30, 0x31, 0x39, 0x3a, 0x5b, 0x5d, 0x65, 0x7b, 0x7d, 0xff];
    let seed = 12345;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let k = 0; k < 4000; k++) {
      const i = 8 + next(end - 8);
      const original = bytes[i];
      bytes[i] = values[next(values.length)];
      expectValidOrSafetensorsError(bytes);
      bytes[i] = original;
    }
  });

  const f32 = (shape: unknown, offsets: unknown) => ({ dtype: 'F32', shape, data_offsets: offsets });
  const bad: [string, Uint8Array, RegExp][] = [
    [
      'header length past the end',
      (() => {
        const b = file({}, 0);
        b[7] = 0x80;
        return b;
      })(),
      /truncated: the header length .* runs past the end of the file/,
    ],
    [
      'header not UTF-8',
      file(null, 0, Buffer.concat([Buffer.from('{"a'), Buffer.of(0xff), Buffer.from('":{}}')])),
      /the header is not valid UTF-8/,
    ],
    ['header not JSON', file(null, 0, '{"a":'), /the header is not JSON/],
    ['header an array', file([], 0), /the header is not a JSON object/],
    ['entry not an object', file({ a: 3 }, 0), /tensor 'a': not an object/],
    [
      'unknown dtype',
      file({ a: { dtype: 'F31', shape: [1], data_offsets: [0, 4] } }, 4),
      /tensor 'a': unknown dtype "F31"/,
    ],
    [
      'dtype not a string',
      file({ a: { dtype: 5, shape: [1], data_offsets: [0, 4] } }, 4),
      /tensor 'a': unknown dtype 5/,
    ],
    [
      'unsupported dtype',
      file({ a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, 4),
      /tensor 'a': dtype F16 is not supported \(F32, I64, U8, U16\)/,
    ],
    [
      'shape not an array',
      file({ a: f32(4, [0, 4]) }, 4),
      /tensor 'a': shape 4 is not a list of non-negative integers/,
    ],
    [
      'negative dimension',
      file({ a: f32([-1], [0, 4]) }, 4),
      /tensor 'a': shape \[-1\] is not a list of non-negative integers/,
    ],
    ['fractional dimension', file({ a: f32([1.5], [0, 6]) }, 6), /tensor 'a': shape \[1\.5\] is not a list/],
    [
      'huge dimensions',
      file({ a: f32([2 ** 40, 2 ** 40], [0, 4]) }, 4),
      /tensor 'a': F32 \[1099511627776,1099511627776\] needs .* bytes, data_offsets \[0,4\] give 4/,
    ],
    [
      'offsets missing',
      file({ a: { dtype: 'F32', shape: [1] } }, 4),
      /tensor 'a': data_offsets undefined is not two integers/,
    ],
    [
      'offsets reversed',
      file({ a: f32([0], [4, 0]) }, 4),
      /tensor 'a': data_offsets \[4,0\] are not 0 <= begin <= end <= 4/,
    ],
    ['offsets negative', file({ a: f32([1], [-4, 0]) }, 4), /data_offsets \[-4,0\] are not 0 <= begin <= end/],
    [
      'offsets past the data',
      file({ a: f32([1], [0, 8]) }, 4),
      /tensor 'a': data_offsets \[0,8\] are not 0 <= begin <= end <= 4/,
    ],
    [
      'size mismatch',
      file({ a: f32([2], [0, 4]) }, 4),
      /tensor 'a': F32 \[2\] needs 8 bytes, data_offsets \[0,4\] give 4/,
    ],
    [
      'overlap',
      file({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, 12),
      /tensor 'b' overlaps tensor 'a'|tensors 'a' and 'b' overlap/,
    ],
    ['gap', file({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, 12), /4 bytes .* no tensor|gap/],
    ['trailing bytes', file({ a: f32([1], [0, 4]) }, 8), /4 bytes after the last tensor|trailing/],
    ['metadata not a string map', file({ __metadata__: { a: 1 } }, 0), /__metadata__ is not a map of strings/],
    ['metadata an array', file({ __metadata__: ['a'] }, 0), /__metadata__ is not a map of strings/],
  ];
  for (const [name, bytes, message] of bad) {
    test(`refused with a SafetensorsError: ${name}`, () => {
      let error: unknown;
      try {
        decodeSafetensors(bytes, FILE);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SafetensorsError);
      expect((error as Error).message).toMatch(new RegExp(`^${FILE}: `));
      expect((error as Error).message).toMatch(message);
    });
  }

  test('a file safetensors.torch writes (header padded with spaces, empty metadata, a 0-d tensor) decodes', () => {
    const bytes = file(null, 8, '{"__metadata__":{},"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}   ');
    const { tensors } = decodeSafetensors(bytes, FILE);
    expect(entry(tensors, 'n').data).toEqual(BigInt64Array.of(0n));
  });
});

describe('npm run export on a checkpoint with a corrupted model.safetensors header', () => {
  let checkpoint: string;
  beforeAll(() => {
    checkpoint = shortRun(join(mkdtempSync(join(tmpdir(), 'export-st-')), 'run'));
  });

  // Each keeps the header's length; the SHA-256 in trainer.json is updated to match, so the
  // decoder, not the hash check, is what meets the damage.
  const corruptions: [string, (header: string) => string][] = [
    ['a key renamed', (h) => h.replace('"data_offsets"', '"data_offsetz"')],
    ['a shape turned into a number', (h) => h.replace('"shape":[12,1,3,3]', '"shape":121213333 ')],
    ['an offset pair reversed', (h) => h.replace('"data_offsets":[0,432]', '"data_offsets":[432,0]')],
  ];
  for (const [name, corrupt] of corruptions) {
    test(`${name}: one line naming model.safetensors, exit 1, nothing written`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'export-st-ckpt-'));
      const copy = join(dir, 'epoch-001');
      cpSync(checkpoint, copy, { recursive: true });
      const modelFile = join(copy, 'model.safetensors');
      const bytes = Buffer.from(readFileSync(modelFile));
      const n = headerLength(bytes);
      const header = bytes.subarray(8, 8 + n).toString('latin1');
      const changed = corrupt(header);
      expect(changed).not.toBe(header);
      expect(changed.length).toBe(header.length);
      bytes.write(changed, 8, 'latin1');
      replaceCheckpointFile(copy, 'model.safetensors', bytes);

      const out = join(dir, 'out', 'm.onnx');
      const r = runCli('export', ['--checkpoint', copy, '--out', out]);
      expect(r.status).toBe(1);
      const errors = lines(r.stderr);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^error: ${modelFile}: `));
      expect(errors[0]).not.toMatch(/SHA-256/);
      expect(existsSync(join(dir, 'out'))).toBe(false);
    });
  }
});
