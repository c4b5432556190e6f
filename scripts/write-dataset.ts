/**
 * `npx tsx scripts/write-dataset.ts --as <layout> --out <dir> [--data <idx dir>] [--seed N]`:
 * writes an IDX data set (the bundled MNIST by default, or Fashion-MNIST's folder) in another
 * layout `--data` reads, to check that each reader gives what the IDX reader gives:
 *   png-tree    train/<class>/<index>.png and test/<class>/<index>.png, grayscale, lossless, and
 *               classes.txt (the classes in the data's label order)
 *   kaggle-csv  train.csv and test.csv, `label,pixel0,...,pixel783` (Kaggle's digit-recognizer
 *               layout; its own test.csv has no labels, this one keeps them so it can test)
 *   rgb-tree    as png-tree, each digit in a random colour on a random background colour
 *               (colours drawn from --seed, far enough apart in brightness to stay legible)
 * Class folders take the data's class names ('/' written as '-'). The folder must not exist.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { ByteSplit } from '../src/data/dataset.js';
import { loadData } from '../src/data/source.node.js';
import { Rng } from '../src/util/rng.js';
import { messageOf } from '../src/util/errors.js';

const LAYOUTS = ['png-tree', 'kaggle-csv', 'rgb-tree'] as const;
type Layout = (typeof LAYOUTS)[number];

const USAGE = `usage: write-dataset.ts --as ${LAYOUTS.join('|')} --out <dir> [--data <idx dir>] [--seed N]`;
function parsed() {
  try {
    return parseArgs({
      options: {
        as: { type: 'string' },
        out: { type: 'string' },
        data: { type: 'string' },
        seed: { type: 'string', default: '1' },
      },
    }).values;
  } catch (error) {
    console.error(`error: ${messageOf(error)}\n${USAGE}`);
    process.exit(2);
  }
}
const values = parsed();
const layout = values.as as Layout;
if (!LAYOUTS.includes(layout) || !values.out) {
  console.error(USAGE);
  process.exit(2);
}
if (existsSync(values.out)) {
  console.error(`error: ${values.out}: exists; give a new folder`);
  process.exit(1);
}
const out = values.out;
const seed = Number(values.seed);

/** A seeded pair of colours whose brightness differs by at least a third of the range. */
function colours(rng: Rng): [number[], number[]] {
  for (;;) {
    const fg = [rng.int(256), rng.int(256), rng.int(256)];
    const bg = [rng.int(256), rng.int(256), rng.int(256)];
    const luma = (c: number[]) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
    if (Math.abs(luma(fg) - luma(bg)) >= 85) return [fg, bg];
  }
}

/** Example `i` of a grey split as interleaved RGB: the ink in one colour over another. */
function coloured(split: ByteSplit, i: number, rng: Rng): Buffer {
  const size = split.shape[1] * split.shape[2];
  const [fg, bg] = colours(rng);
  const rgb = Buffer.alloc(size * 3);
  for (let p = 0; p < size; p++) {
    const a = split.images[i * size + p] / 255;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(bg[c] * (1 - a) + fg[c] * a);
  }
  return rgb;
}

async function writeTree(split: ByteSplit, part: string, rgb: boolean): Promise<void> {
  const [, height, width] = split.shape;
  const size = height * width;
  const names = (split.classNames ?? []).map((n) => n.replaceAll('/', '-'));
  for (const name of names) mkdirSync(join(out, part, name), { recursive: true });
  writeFileSync(join(out, 'classes.txt'), `${names.join('\n')}\n`); // the data's label order, not the sorted one
  const rng = new Rng(seed, part === 'train' ? 1 : 2);
  const digits = String(split.count).length;
  const PARALLEL = 16;
  for (let start = 0; start < split.count; start += PARALLEL) {
    const writes: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(start + PARALLEL, split.count); i++) {
      const pixels = rgb ? coloured(split, i, rng) : Buffer.from(split.images.subarray(i * size, (i + 1) * size));
      const file = join(out, part, names[split.labels[i]], `${String(i).padStart(digits, '0')}.png`);
      writes.push(
        sharp(pixels, { raw: { width, height, channels: rgb ? 3 : 1 } })
          .png()
          .toFile(file),
      );
    }
    await Promise.all(writes);
  }
}

function writeCsv(split: ByteSplit, file: string): void {
  const size = split.images.length / split.count;
  const header = ['label', ...Array.from({ length: size }, (_, p) => `pixel${p}`)].join(',');
  const rows = Array.from({ length: split.count }, (_, i) =>
    [split.labels[i], ...split.images.subarray(i * size, (i + 1) * size)].join(','),
  );
  writeFileSync(file, `${header}\n${rows.join('\n')}\n`);
}

const data = await loadData(values.data, { shape: [1, 28, 28] });
if (data.format !== 'idx') throw new Error(`${values.data}: an IDX folder is what this script converts`);
const splits = { train: data.train as ByteSplit, test: data.test as ByteSplit };
mkdirSync(out, { recursive: true });
for (const [part, split] of Object.entries(splits)) {
  if (layout === 'kaggle-csv') writeCsv(split, join(out, `${part}.csv`));
  else await writeTree(split, part, layout === 'rgb-tree');
  console.log(`${out}: ${part}, ${split.count} examples`);
}
