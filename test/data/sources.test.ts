import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CIFAR10_CLASSES, splitFromCifar } from '../../src/data/cifar-format.js';
import { splitFromCsv } from '../../src/data/csv-format.js';
import { cacheFolder } from '../../src/data/decode-cache.node.js';
import { formatOf, holdOut, loadData } from '../../src/data/source.node.js';

const tmp = mkdtempSync(join(tmpdir(), 'sources-'));
const savedCache = process.env.XDG_CACHE_HOME;
beforeAll(() => {
  process.env.XDG_CACHE_HOME = join(tmp, 'cache'); // never the user's own cache
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
});

describe('CSV (Kaggle digit-recognizer layout)', () => {
  const csv = (rows: (number | string)[][], header = ['label', 'p0', 'p1', 'p2', 'p3']) =>
    [header.join(','), ...rows.map((r) => r.join(','))].join('\n');

  test('label column then pixels: bytes kept as bytes, shape inferred as a square', () => {
    const split = splitFromCsv(
      csv([
        [3, 0, 255, 7, 9],
        [1, 1, 2, 3, 4],
      ]),
      'x.csv',
    );
    expect(split.shape).toEqual([1, 2, 2]);
    expect(split.count).toBe(2);
    expect(split.images).toBeInstanceOf(Uint8Array);
    expect(Array.from(split.images)).toEqual([0, 255, 7, 9, 1, 2, 3, 4]);
    expect(Array.from(split.labels)).toEqual([3, 1]);
  });

  test('values that are not bytes stay floats; the label column may be anywhere; CRLF and a trailing newline are fine', () => {
    const text = `p0,p1,label,p2,p3\r\n0.5,-1,2,3,4\r\n`;
    const split = splitFromCsv(text, 'x.csv');
    expect(split.images).toBeInstanceOf(Float32Array);
    expect(Array.from(split.images)).toEqual([0.5, -1, 3, 4]);
    expect(Array.from(split.labels)).toEqual([2]);
  });

  test.each([
    ['a row with a missing column', csv([[1, 2, 3, 4]]), 'x.csv: line 2 has 4 columns, the header 5'],
    ['a pixel that is not a number', csv([[1, 2, 'x', 4, 5]]), "x.csv: line 2, column 'p1': 'x' is not a number"],
    ['an empty cell', csv([[1, 2, '', 4, 5]]), "x.csv: line 2, column 'p1': '' is not a number"],
    ['a label that is not a class index', csv([[1.5, 2, 3, 4, 5]]), "x.csv: line 2: label '1.5' is not a class index"],
    ['a negative label', csv([[-1, 2, 3, 4, 5]]), "x.csv: line 2: label '-1' is not a class index"],
    [
      'no label column',
      csv([[1, 2, 3, 4, 5]], ['y', 'p0', 'p1', 'p2', 'p3']),
      "x.csv: has no 'label' column (its header: y,p0,p1,p2,...)",
    ],
    ['a header only', 'label,p0,p1,p2,p3\n', 'x.csv: holds no examples (a header row, then one row per example)'],
    [
      'rows that are not a square image',
      csv([[1, 2, 3, 4]], ['label', 'a', 'b', 'c']),
      'x.csv: rows hold 3 values, not a square image: give the shape',
    ],
  ])('%s: one line naming the file and the line', (_, text, message) => {
    expect(() => splitFromCsv(text, 'x.csv')).toThrow(message);
  });

  test("a label beyond the model's classes names the line", () => {
    expect(() =>
      splitFromCsv(
        csv([
          [0, 1, 2, 3, 4],
          [12, 1, 2, 3, 4],
        ]),
        'x.csv',
        { classes: 10 },
      ),
    ).toThrow('x.csv: line 3: label 12 is out of range: the model gives 10 classes');
  });

  test('a shape that does not match the row says both', () => {
    expect(() => splitFromCsv(csv([[1, 2, 3, 4, 5]]), 'x.csv', { shape: [3, 2, 2] })).toThrow(
      'x.csv: rows hold 4 values; [3,2,2] needs 12',
    );
  });
});

describe('CIFAR-10 binary batches', () => {
  const record = (label: number, fill: number) => {
    const r = new Uint8Array(1 + 3072).fill(fill);
    r[0] = label;
    return r;
  };
  const batch = (...records: Uint8Array[]) => {
    const out = new Uint8Array(records.length * 3073);
    for (const [i, r] of records.entries()) out.set(r, i * 3073);
    return out;
  };

  test('records become [3, 32, 32] bytes with their labels and the ten class names', () => {
    const split = splitFromCifar([
      { name: 'a.bin', bytes: batch(record(9, 5), record(0, 200)) },
      { name: 'b.bin', bytes: batch(record(4, 1)) },
    ]);
    expect(split.count).toBe(3);
    expect(split.shape).toEqual([3, 32, 32]);
    expect(Array.from(split.labels)).toEqual([9, 0, 4]);
    expect(split.images[3072]).toBe(200);
    expect(split.classNames).toEqual(CIFAR10_CLASSES);
  });

  test('a truncated batch, and a label beyond ten classes, each name the file', () => {
    expect(() => splitFromCifar([{ name: 'cut.bin', bytes: batch(record(1, 1)).subarray(0, 3000) }])).toThrow(
      'cut.bin: 3000 bytes is not a whole number of CIFAR-10 records (3073 bytes each: a label, then 3x32x32 pixels)',
    );
    expect(() => splitFromCifar([{ name: 'bad.bin', bytes: batch(record(1, 1), record(10, 1)) }])).toThrow(
      'bad.bin: record 1: label 10 is out of range (10 classes)',
    );
  });
});

describe('holding out a test split', () => {
  const split = {
    images: Uint8Array.from({ length: 100 }, (_, i) => i),
    labels: Uint8Array.from({ length: 100 }, (_, i) => i % 10),
    count: 100,
    shape: [1, 1, 1],
  };

  test('a seeded share: the same for the same seed, disjoint, together the whole', () => {
    const a = holdOut(split, 0.1, 7);
    const b = holdOut(split, 0.1, 7);
    const c = holdOut(split, 0.1, 8);
    expect(a.test.count).toBe(10);
    expect(a.train.count).toBe(90);
    expect(Array.from(a.test.images)).toEqual(Array.from(b.test.images));
    expect(Array.from(a.test.images)).not.toEqual(Array.from(c.test.images));
    expect([...a.train.images, ...a.test.images].sort((x, y) => x - y)).toEqual(Array.from(split.images));
    expect(Array.from(a.test.labels)).toEqual(Array.from(a.test.images).map((i) => i % 10));
  });

  test('a share outside (0, 1) is refused', () => {
    expect(() => holdOut(split, 1, 1)).toThrow('--val-split: 1: the share held out must be between 0 and 1');
    expect(() => holdOut(split, 0, 1)).toThrow('--val-split: 0: the share held out must be between 0 and 1');
  });
});

describe('a folder of images per class', () => {
  const png = (width: number, height: number, channels: 1 | 3, value: number) =>
    sharp(Buffer.alloc(width * height * channels, value), { raw: { width, height, channels } })
      .png()
      .toBuffer();
  let root: string;

  beforeAll(async () => {
    root = join(tmp, 'tree');
    for (const [name, value] of [
      ['cat', 40],
      ['dog', 200],
    ] as const) {
      mkdirSync(join(root, name, 'nested'), { recursive: true });
      writeFileSync(join(root, name, 'a.png'), await png(8, 8, 1, value));
      writeFileSync(join(root, name, 'b.png'), await png(40, 20, 3, value)); // colour, another size
      writeFileSync(join(root, name, 'nested', 'c.png'), await png(5, 5, 1, value));
    }
    writeFileSync(join(root, 'dog', 'notes.txt'), 'not an image');
    writeFileSync(join(root, 'dog', 'broken.png'), (await png(8, 8, 1, 9)).subarray(0, 30)); // truncated
    symlinkSync(root, join(root, 'cat', 'loop')); // a link back up: must not be followed
  });

  test('classes are the sorted folder names; every image is resized to the shape; what was skipped is said', async () => {
    const data = await loadData(root, { shape: [1, 4, 4], valSplit: 0.5, seed: 1 });
    expect(data.format).toBe('image-folder');
    expect(data.train.classNames).toEqual(['cat', 'dog']);
    expect(data.train.count + data.test.count).toBe(6);
    const all = [...data.train.images, ...data.test.images];
    const labels = [...data.train.labels, ...data.test.labels];
    // each image is a flat grey: its 16 pixels are its class's grey (colour turned to grey stays it)
    for (let i = 0; i < 6; i++)
      expect(new Set(all.slice(i * 16, (i + 1) * 16))).toEqual(new Set([labels[i] === 0 ? 40 : 200]));
    expect(data.notes).toEqual([
      `${root}: skipped 1 file that is not an image (dog/notes.txt)`,
      `${root}: skipped 1 image that would not decode (broken.png)`,
      'no test split in the data: 3 of 6 examples (50%, drawn from the seed) held out to test on',
    ]);
  });

  test('decoded once: the second read comes from the cache; an added image makes the cache stale', async () => {
    const shape = [3, 6, 6];
    const first = await loadData(root, { shape, valSplit: 0.5 });
    expect(readdirSync(cacheFolder()).length).toBeGreaterThan(0);
    let progress = 0;
    const second = await loadData(root, { shape, valSplit: 0.5, onProgress: () => progress++ });
    expect(progress).toBe(0); // nothing decoded
    expect(Array.from(second.train.images)).toEqual(Array.from(first.train.images));
    writeFileSync(join(root, 'cat', 'd.png'), await png(3, 3, 3, 40));
    const third = await loadData(root, { shape, valSplit: 0.5, onProgress: () => progress++ });
    expect(progress).toBeGreaterThan(0);
    expect(third.train.count + third.test.count).toBe(7);
  });

  test('a tree written from a numbered set reads back in that order, pixels and labels, as IDX reads the set', async () => {
    const numbered = join(tmp, 'numbered');
    const labels = [1, 0, 1, 1, 0, 0, 1, 0];
    for (const part of ['train', 'test'])
      for (const [i, label] of labels.entries()) {
        mkdirSync(join(numbered, part, `c${label}`), { recursive: true });
        writeFileSync(join(numbered, part, `c${label}`, `${i}.png`), await png(2, 2, 1, 10 * i));
      }
    const data = await loadData(numbered, { shape: [1, 2, 2] });
    for (const split of [data.train, data.test]) {
      expect(Array.from(split.labels)).toEqual(labels);
      expect(Array.from(split.images)).toEqual(labels.flatMap((_, i) => [10 * i, 10 * i, 10 * i, 10 * i]));
    }
  });

  test('a classes.txt at the root orders the classes of both splits; one that disagrees is refused', async () => {
    const listed = join(tmp, 'listed');
    for (const part of ['train', 'test'])
      for (const [name, value] of [
        ['x', 10],
        ['y', 20],
      ] as const) {
        mkdirSync(join(listed, part, name), { recursive: true });
        writeFileSync(join(listed, part, name, `${value}.png`), await png(2, 2, 1, value));
      }
    writeFileSync(join(listed, 'classes.txt'), 'y\nx\n');
    const data = await loadData(listed, { shape: [1, 2, 2] });
    expect(data.train.classNames).toEqual(['y', 'x']);
    for (const split of [data.train, data.test]) expect(Array.from(split.labels)).toEqual([1, 0]); // 10.png is x
    mkdirSync(join(listed, 'test', 'z'));
    writeFileSync(join(listed, 'test', 'z', '1.png'), await png(2, 2, 1, 1));
    await expect(loadData(listed, { shape: [1, 2, 2] })).rejects.toThrow(
      `${join(listed, 'test')}: its class folders (x, y, z) are not the training folders' (y, x)`,
    );
    writeFileSync(join(listed, 'classes.txt'), 'y\nz\n');
    await expect(loadData(listed, { shape: [1, 2, 2] })).rejects.toThrow(
      `${join(listed, 'classes.txt')}: lists y, z; the class folders are x, y`,
    );
  });

  test('train/ and test/ trees: the test tree is the test split, and must have the same classes', async () => {
    const split = join(tmp, 'split');
    for (const part of ['train', 'test'])
      for (const name of ['a', 'b']) {
        mkdirSync(join(split, part, name), { recursive: true });
        writeFileSync(join(split, part, name, 'x.png'), await png(4, 4, 1, 10));
      }
    const data = await loadData(split, { shape: [1, 4, 4] });
    expect([data.train.count, data.test.count]).toEqual([2, 2]);
    expect(data.notes).toEqual([]);
    mkdirSync(join(split, 'test', 'c'));
    writeFileSync(join(split, 'test', 'c', 'x.png'), await png(4, 4, 1, 10));
    await expect(loadData(split, { shape: [1, 4, 4] })).rejects.toThrow(
      `${join(split, 'test')}: its class folders (a, b, c) are not the training folders' (a, b)`,
    );
  });

  test.each([
    ['no class folders', [], 'holds no class folders (one subfolder of images per class)'],
    ['one class folder', ['only'], "holds one class folder only ('only'): a classifier needs at least two classes"],
    [
      'an empty class',
      ['full', 'empty'],
      'holds no images (PNG, JPEG, WebP, GIF or TIFF): an empty class cannot be learned',
    ],
  ])('%s: refused in one line', async (name, classes, problem) => {
    const dir = join(tmp, name.replaceAll(' ', '-'));
    mkdirSync(dir);
    for (const c of classes) {
      mkdirSync(join(dir, c));
      if (c !== 'empty') writeFileSync(join(dir, c, 'x.png'), await png(4, 4, 1, 1));
    }
    const where = name === 'an empty class' ? join(dir, 'empty') : dir;
    await expect(loadData(dir, { shape: [1, 4, 4] })).rejects.toThrow(`${where}: ${problem}`);
  });

  test('a tree whose decoded images would not fit in half the memory is refused before decoding, saying how many would', async () => {
    await expect(loadData(root, { shape: [3, 224, 224], valSplit: 0.5, memory: 1_000_000 })).rejects.toThrow(
      `${root}: 8 images at [3,224,224] take 1.1 MB decoded; ` +
        `half this machine's memory, 0.5 MB, holds 3: use fewer images or a smaller input`,
    );
  });

  test('a tree of only undecodable images is refused', async () => {
    const dir = join(tmp, 'garbage');
    for (const c of ['a', 'b']) {
      mkdirSync(join(dir, c), { recursive: true });
      writeFileSync(join(dir, c, 'x.png'), 'not a png');
    }
    await expect(loadData(dir, { shape: [1, 4, 4] })).rejects.toThrow(`${dir}: none of its images would decode`);
  });
});

describe('what --data holds', () => {
  test('told apart by content; a path that is none of them is refused in one line', () => {
    const dir = join(tmp, 'kinds');
    mkdirSync(join(dir, 'idx'), { recursive: true });
    writeFileSync(join(dir, 'idx', 'train-images-idx3-ubyte.gz'), '');
    mkdirSync(join(dir, 'cifar'));
    writeFileSync(join(dir, 'cifar', 'data_batch_1.bin'), '');
    mkdirSync(join(dir, 'kaggle'));
    writeFileSync(join(dir, 'kaggle', 'train.csv'), '');
    writeFileSync(join(dir, 'x.zip'), '');
    expect(formatOf(join(dir, 'idx'))).toBe('idx');
    expect(formatOf(join(dir, 'cifar'))).toBe('cifar10');
    expect(formatOf(join(dir, 'kaggle'))).toBe('csv');
    expect(formatOf(join(dir, 'kaggle', 'train.csv'))).toBe('csv');
    expect(formatOf(join(dir, 'cifar', 'data_batch_1.bin'))).toBe('cifar10');
    expect(() => formatOf(join(dir, 'x.zip'))).toThrow(`${join(dir, 'x.zip')}: not data this reader knows`);
    expect(() => formatOf(join(dir, 'nothing'))).toThrow(`${join(dir, 'nothing')}: no such file or folder`);
    expect(existsSync(join(dir, 'nothing'))).toBe(false);
  });

  test('a Kaggle folder whose test.csv has no labels: a held-out share tests instead, and says so', async () => {
    const dir = join(tmp, 'kaggle-folder');
    mkdirSync(dir);
    const rows = Array.from({ length: 20 }, (_, i) => [i % 2, i, i, i, i].join(','));
    writeFileSync(join(dir, 'train.csv'), ['label,a,b,c,d', ...rows].join('\n'));
    writeFileSync(join(dir, 'test.csv'), 'a,b,c,d\n1,2,3,4\n');
    const data = await loadData(dir, { shape: [1, 2, 2] });
    expect([data.train.count, data.test.count]).toEqual([18, 2]);
    expect(data.notes).toEqual([
      'no test split in the data: 2 of 20 examples (10%, drawn from the seed) held out to test on',
    ]);
  });
});
