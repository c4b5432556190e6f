/**
 * `predict` honours EXIF orientation: a real test digit photographed upright, stored the way a
 * camera stores it under each of the eight orientation tags (pixels transformed here, see
 * helpers/orientation.ts), reads as the upright picture does.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { lines, runCli } from '../helpers/cli.js';
import { digitLabel, digitPixels, firstOf } from '../helpers/digits.js';
import { jpegWith, paperDigit, storedFor, TAGS } from '../helpers/orientation.js';
import { entry } from '../helpers/must.js';

interface Outcome {
  file: string;
  prediction: { label: number; probabilities: number[] };
}

const SIX = firstOf(6); // #11: rotated 180 degrees, it reads 9
const DIGITS = [SIX, firstOf(7), firstOf(4)];
let dir: string;
const path = (index: number, kind: string) => join(dir, `${index}-${kind}.jpg`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'predict-exif-'));
  for (const index of DIGITS) {
    const upright = await paperDigit(digitPixels(index));
    writeFileSync(path(index, 'upright'), await jpegWith(upright));
    for (const tag of TAGS) {
      const stored = storedFor(tag, upright);
      const jpeg = await jpegWith(stored, tag);
      expect((await sharp(jpeg).metadata()).orientation).toBe(tag);
      writeFileSync(path(index, `tag${tag}`), jpeg);
      // The same stored pixels with no orientation tag: what a reader ignoring EXIF sees.
      writeFileSync(path(index, `stored${tag}`), await jpegWith(stored));
    }
  }
});

const maxDiff = (a: readonly number[], b: readonly number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

describe('EXIF orientation', () => {
  test('the test helper stores pictures as the tags say (checked on a 3x2 picture, not with sharp)', () => {
    const upright = { width: 3, height: 2, data: Uint8Array.from('abcdef', (c) => c.charCodeAt(0)) };
    const rows = (tag: number) => {
      const s = storedFor(tag, upright);
      return Array.from({ length: s.height }, (_, y) =>
        String.fromCharCode(...s.data.subarray(y * s.width, (y + 1) * s.width)),
      );
    };
    expect(TAGS.map(rows)).toEqual([
      ['abc', 'def'], // 1
      ['cba', 'fed'], // 2: mirrored
      ['fed', 'cba'], // 3: upside down
      ['def', 'abc'], // 4: mirrored top-bottom
      ['ad', 'be', 'cf'], // 5: transposed
      ['cf', 'be', 'ad'], // 6: stored rotated 90 counter-clockwise, shown rotated 90 clockwise
      ['fc', 'eb', 'da'], // 7: transversed
      ['da', 'eb', 'fc'], // 8: stored rotated 90 clockwise
    ]);
  });

  test('each of the eight tags reads as the upright photo: same digit, probabilities within 1e-3', () => {
    const kinds = ['upright', ...TAGS.map((t) => `tag${t}`), ...TAGS.map((t) => `stored${t}`)];
    const files = DIGITS.flatMap((index) => kinds.map((kind) => path(index, kind)));
    const r = runCli('predict', [...files, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const byFile = new Map((JSON.parse(r.stdout) as Outcome[]).map((o) => [o.file, o.prediction]));
    for (const index of DIGITS) {
      const upright = entry(byFile, path(index, 'upright'));
      expect(upright.label).toBe(digitLabel(index));
      for (const tag of TAGS) {
        const oriented = entry(byFile, path(index, `tag${tag}`));
        expect(oriented.label, `#${index} tag ${tag}`).toBe(digitLabel(index));
        expect(maxDiff(oriented.probabilities, upright.probabilities), `#${index} tag ${tag}`).toBeLessThan(1e-3);
        // The transform matters: the stored pixels alone read differently (except tag 1).
        const ignored = entry(byFile, path(index, `stored${tag}`));
        if (tag !== 1)
          expect(
            maxDiff(ignored.probabilities, upright.probabilities),
            `#${index} stored for tag ${tag}`,
          ).toBeGreaterThan(0.1);
      }
    }
  });

  test('a phone photo of an upright 6 stored with orientation 3 reads 6, not 9', () => {
    const r = runCli('predict', [path(SIX, 'tag3'), path(SIX, 'stored3')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(new RegExp(`^${path(SIX, 'tag3')}: 6 \\(`)),
      // Without its tag, the same pixels are an upside-down 6: a 9.
      expect.stringMatching(new RegExp(`^${path(SIX, 'stored3')}: 9 \\(`)),
    ]);
  });
});
