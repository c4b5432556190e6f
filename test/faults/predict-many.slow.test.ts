/**
 * `predict` on many files: a thousand photos named on the command line (onnxruntime-node's
 * telemetry crashed on a command line of ~29 KB: docs/upstream-reports.md), a folder of them,
 * or their paths on stdin, and pictures that inflate to more pixels than a digit needs.
 */
import { linkSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { lines, runCli } from '../helpers/cli.js';
import { digitLabel, digitPng } from '../helpers/digits.js';

const COUNT = 1500;
const INDICES = [0, 1, 2]; // a 7, a 2 and a 1
let dir: string;
let photos: string;
let files: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'predict-many-'));
  photos = join(dir, 'photos');
  mkdirSync(photos);
  const originals = await Promise.all(INDICES.map((i) => digitPng(dir, i)));
  // Hard links: 1,500 names, three files' worth of disk.
  files = Array.from({ length: COUNT }, (_, k) => {
    const file = join(photos, `photo-${String(k).padStart(5, '0')}.png`);
    linkSync(originals[k % INDICES.length], file);
    return file;
  });
});

const expected = (file: string, k: number) =>
  expect.stringMatching(new RegExp(`^${file}: ${digitLabel(INDICES[k % INDICES.length])} \\(`));

/** Every one of the COUNT photos answered with its digit, in order, and nothing else said. */
function expectAllAnswered(r: ReturnType<typeof runCli>): void {
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(lines(r.stdout)).toEqual(files.map(expected));
}

describe('a thousand photos and more', () => {
  test(`${COUNT} paths on the command line (over 29 KB of argv): every file answered, in order`, () => {
    const argv = files.join(' ');
    expect(argv.length).toBeGreaterThan(29_000);
    expectAllAnswered(runCli('predict', files));
  });

  test('a folder stands for its image files, in name order; other files and subfolders are left out', () => {
    writeFileSync(join(photos, 'notes.txt'), 'not a photo');
    writeFileSync(join(photos, '.hidden.png'), 'not looked at');
    mkdirSync(join(photos, 'sub.png'), { recursive: true });
    expectAllAnswered(runCli('predict', [photos]));
  });

  test("'-' reads the paths from stdin, one per line; a folder with no images, and an empty stdin, are one-line errors", () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const r = runCli('predict', ['-', empty], { input: `${files.slice(0, 4).join('\n')}\n\n` });
    expect(lines(r.stdout)).toEqual(files.slice(0, 4).map(expected));
    expect(lines(r.stderr)).toEqual([
      `error: ${empty}: a folder with no image files (.png, .jpg, .jpeg, .webp, .gif, .tif, .tiff)`,
    ]);
    expect(r.status).toBe(1);

    const none = runCli('predict', ['-'], { input: '' });
    expect(lines(none.stderr)).toEqual(['error: -: no image paths were read from stdin']);
    expect(none.status).toBe(1);
  });
});

test('a small PNG that inflates to 16000x16000 is refused at once, before decoding; the other files still answered', async () => {
  const bomb = join(dir, 'bomb.png');
  await sharp({ create: { width: 16000, height: 16000, channels: 3, background: '#000' } })
    .greyscale()
    .png({ compressionLevel: 9 })
    .toFile(bomb);
  const started = Date.now();
  const r = runCli('predict', [bomb, files[0]]);
  const seconds = (Date.now() - started) / 1000;
  expect(lines(r.stderr)).toEqual([
    `error: ${bomb}: is 16000x16000 pixels (256 megapixels), more than predict reads (50); scale it down`,
  ]);
  expect(lines(r.stdout)).toEqual([expected(files[0], 0)]);
  expect(r.status).toBe(1);
  console.log(`predict on a 16000x16000 PNG: refused in ${seconds.toFixed(1)} s (whole command)`);
});
