/**
 * `npm run bench:data -- <image tree> [--shape 1,28,28] [--rounds 3]`: how long `--data` takes
 * to read a folder of images per class the first time (scanning, decoding every image with
 * sharp, writing the cache) and the next time (scanning, reading the cache), in alternating
 * rounds with a fresh cache folder for each cold read; prints each round and the medians.
 * e.g. a PNG tree from `npx tsx scripts/write-dataset.ts --as png-tree` (70,000 images).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadData } from '../src/data/source.node.js';
import { median, round } from './trainer-steps.js';

const { values, positionals } = parseArgs({
  options: { shape: { type: 'string', default: '1,28,28' }, rounds: { type: 'string', default: '3' } },
  allowPositionals: true,
});
const tree = positionals[0];
if (!tree) {
  console.error('usage: npm run bench:data -- <image tree> [--shape C,H,W] [--rounds N]');
  process.exit(2);
}
const shape = values.shape.split(',').map(Number);

async function seconds(): Promise<{ s: number; images: number }> {
  const start = performance.now();
  const data = await loadData(tree, { shape });
  return { s: (performance.now() - start) / 1000, images: data.train.count + data.test.count };
}

const cold: number[] = [];
const warm: number[] = [];
for (let r = 1; r <= Number(values.rounds); r++) {
  const cache = mkdtempSync(join(tmpdir(), 'decode-cache-'));
  process.env.XDG_CACHE_HOME = cache;
  const first = await seconds();
  const second = await seconds();
  rmSync(cache, { recursive: true, force: true });
  cold.push(first.s);
  warm.push(second.s);
  console.log(`round ${r}: ${first.images} images, first read ${round(first.s)} s, second read ${round(second.s)} s`);
}
console.log(
  JSON.stringify({
    tree,
    shape,
    first_read_s_median: round(median(cold)),
    second_read_s_median: round(median(warm)),
    speedup: round(median(cold) / median(warm), 1),
  }),
);
