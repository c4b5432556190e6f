/**
 * `--data`: a data set from a path, whatever its kind, told apart by what it holds:
 * - a folder of the four MNIST-style IDX files, plain or gzipped (MNIST, Fashion-MNIST);
 * - CIFAR-10's binary batches (data_batch_*.bin, test_batch.bin), or a folder holding them;
 * - a CSV file (Kaggle's layout: `label,pixel0,...`), or a folder with train.csv (and test.csv);
 * - a tree of one folder per class (ImageFolder's layout), images decoded to the model's input
 *   shape, with a cache (decode-cache.node.ts); or `train/` and `test/` (or `val/`) trees.
 * The test split is the data's own (IDX's t10k files, test_batch.bin, test.csv, a test/ or val/
 * folder), else a seeded share of the training examples (`valSplit`). Nothing given: the
 * bundled MNIST.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { splitFromCifar } from './cifar-format.js';
import { splitFromCsv } from './csv-format.js';
import type { ByteSplit, Dataset, Split } from './dataset.js';
import { holdOut } from './hold-out.js';
import { decodeImage, decodeImages, type ImageEntry, scanTree } from './image-folder.node.js';
import { byName, classList, decodedSizeProblem, sampledInputShape, treeInputShape } from './image-tree.js';
import { DataError } from './idx-format.js';
import { readCache, writeCache } from './decode-cache.node.js';
import { MNIST_FILES } from './mnist-format.js';
import { bundledMnistDir, loadDataset } from './mnist.node.js';

export { holdOut, subset } from './hold-out.js';

export type DataFormat = 'idx' | 'cifar10' | 'csv' | 'image-folder';

export interface LoadedData extends Dataset {
  format: DataFormat;
  /** What the reader passed over or decided, for the user to hear (skipped files, a held-out share). */
  notes: string[];
}

export interface DataOptions {
  /** One example's shape as the model takes it: image trees are decoded to it. */
  shape: readonly number[];
  /** The share of training examples held out for testing when the data has no test split (default 0.1). */
  valSplit?: number;
  /** Draws the held-out examples. */
  seed?: number;
  /** Decoding progress of an image tree. */
  onProgress?(done: number, total: number): void;
  /** The machine's memory in bytes (default: os.totalmem()): an image tree may take half of it decoded. */
  memory?: number;
}

const isDir = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
const has = (dir: string, name: string) => existsSync(join(dir, name)) || existsSync(join(dir, `${name}.gz`));

/** What kind of data `path` holds. */
export function formatOf(path: string): DataFormat {
  if (!existsSync(path)) throw new DataError(path, 'no such file or folder');
  if (!isDir(path)) {
    if (/\.csv$/i.test(path)) return 'csv';
    if (/\.bin$/i.test(path)) return 'cifar10';
    throw new DataError(
      path,
      'not data this reader knows: a folder ' +
        '(IDX files, CIFAR-10 batches, train.csv, or one folder of images per class), a .csv or a CIFAR-10 .bin',
    );
  }
  if ([...MNIST_FILES.train, ...MNIST_FILES.test].some((f) => has(path, f))) return 'idx';
  const names = readdirSync(path);
  if (names.some((n) => /^data_batch_\d+\.bin$/.test(n)) || isDir(join(path, 'cifar-10-batches-bin'))) return 'cifar10';
  if (names.includes('train.csv')) return 'csv';
  return 'image-folder';
}

/** Fashion-MNIST's classes (torchvision's FashionMNIST.classes), known by the SHA-256 of its 60,000 training labels. */
const KNOWN_IDX_CLASSES: Record<string, readonly string[]> = {
  '657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7': [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ],
};

/**
 * IDX files name no classes: a `classes.txt` beside them (one name per line) does, else a data
 * set known by its labels (Fashion-MNIST), else they stay the digits.
 */
function withIdxClassNames(data: Dataset<ByteSplit>): Dataset<ByteSplit> {
  const file = join(data.dir, 'classes.txt');
  const listed = existsSync(file) ? classList(readFileSync(file, 'utf8')) : undefined;
  const names = listed ?? KNOWN_IDX_CLASSES[createHash('sha256').update(data.train.labels).digest('hex')];
  return names
    ? { ...data, train: { ...data.train, classNames: names }, test: { ...data.test, classNames: names } }
    : data;
}

/** The held-out share of `train` as its test split, noted. */
function withHeldOut<S extends Split>(train: S, options: DataOptions, notes: string[]): { train: S; test: S } {
  const share = options.valSplit ?? 0.1;
  const split = holdOut(train, share, options.seed ?? 1);
  notes.push(
    `no test split in the data: ${split.test.count} of ${train.count} examples ` +
      `(${Math.round(100 * share)}%, drawn from the seed) held out to test on`,
  );
  return split;
}

function loadCifar(path: string, options: DataOptions, notes: string[]): { train: ByteSplit; test: ByteSplit } {
  const dir = isDir(join(path, 'cifar-10-batches-bin')) ? join(path, 'cifar-10-batches-bin') : path;
  const read = (file: string) => ({ name: file, bytes: new Uint8Array(readFileSync(file)) });
  if (!isDir(dir)) return withHeldOut(splitFromCifar([read(dir)]), options, notes);
  const batches = readdirSync(dir)
    .filter((n) => /^data_batch_\d+\.bin$/.test(n))
    .sort();
  const train = splitFromCifar(batches.map((n) => read(join(dir, n))));
  return existsSync(join(dir, 'test_batch.bin'))
    ? { train, test: splitFromCifar([read(join(dir, 'test_batch.bin'))]) }
    : withHeldOut(train, options, notes);
}

function loadCsv(path: string, options: DataOptions, notes: string[]): { train: Split; test: Split } {
  const file = isDir(path) ? join(path, 'train.csv') : path;
  const read = (f: string) =>
    splitFromCsv(readFileSync(f, 'utf8'), f, { shape: options.shape.length === 3 ? options.shape : undefined });
  const train = read(file);
  const testFile = join(dirname(file), 'test.csv');
  // Kaggle's test.csv has no labels: it cannot test; then a share of train.csv does.
  if (
    isDir(path) &&
    existsSync(testFile) &&
    readFileSync(testFile, 'utf8').split('\n', 1)[0].split(',').includes('label')
  )
    return { train, test: read(testFile) };
  return withHeldOut(train, options, notes);
}

/** The share of the machine's memory the decoded images of a tree may take: the run needs the rest. */
const DECODED_SHARE = 0.5;

/** An image tree decoded at the model's shape, from the cache when nothing changed. */
async function decodeTree(
  root: string,
  classNames: readonly string[],
  files: ImageEntry[],
  options: DataOptions,
  notes: string[],
): Promise<ByteSplit> {
  const tooBig = decodedSizeProblem(
    files.length,
    options.shape,
    DECODED_SHARE * (options.memory ?? totalmem()),
    "half this machine's memory",
  );
  if (tooBig) throw new DataError(root, tooBig);
  const cached = readCache(root, options.shape, files);
  const decoded =
    cached ?? (await decodeImages(files, options.shape, (done) => options.onProgress?.(done, files.length)));
  if (!cached) writeCache(root, options.shape, files, decoded);
  if (decoded.failed.length > 0)
    notes.push(
      `${root}: skipped ${decoded.failed.length} image${decoded.failed.length > 1 ? 's' : ''} that would not decode ` +
        `(${basename(decoded.failed[0])}${decoded.failed.length > 1 ? ', ...' : ''})`,
    );
  const count = decoded.labels.length;
  if (count === 0) throw new DataError(root, 'none of its images would decode');
  return { images: decoded.images, labels: decoded.labels as Uint8Array, count, shape: options.shape, classNames };
}

/** A tree's training folder and the name of its test folder, if it has one. */
function treeRoots(path: string): { trainRoot: string; testName: string | undefined; exclude: string[] } {
  const testName = ['test', 'val'].find((n) => isDir(join(path, n)));
  const trainRoot = isDir(join(path, 'train')) ? join(path, 'train') : path;
  return { trainRoot, testName, exclude: trainRoot === path && testName ? [testName] : [] };
}

/**
 * The input shape the built-in seed CNN takes for the data at `path`: for a tree of images,
 * 3x32x32 when a few images spread over it hold colour, else 1x28x28; for other data 1x28x28
 * (CIFAR-10 and CSV give their own shape).
 */
export async function builtinInputShape(path: string | undefined): Promise<number[]> {
  if (path === undefined || formatOf(path) !== 'image-folder') return treeInputShape(false);
  const { trainRoot, exclude } = treeRoots(path);
  const { files } = scanTree(trainRoot, exclude);
  return sampledInputShape(files.length, (i) => decodeImage(files[i].path, [3, 32, 32]));
}

async function loadImageFolder(
  path: string,
  options: DataOptions,
  notes: string[],
): Promise<{ train: ByteSplit; test: ByteSplit }> {
  const { trainRoot, testName, exclude } = treeRoots(path);
  const listFile = join(path, 'classes.txt');
  const listed = existsSync(listFile)
    ? { names: classList(readFileSync(listFile, 'utf8')), file: listFile }
    : undefined;
  const scanned = scanTree(trainRoot, exclude, listed);
  if (scanned.ignored.length > 0) {
    const { length } = scanned.ignored;
    const what = length === 1 ? '1 file that is not an image' : `${length} files that are not images`;
    notes.push(`${trainRoot}: skipped ${what} (${scanned.ignored[0]}${length > 1 ? ', ...' : ''})`);
  }
  const train = await decodeTree(trainRoot, scanned.classNames, scanned.files, options, notes);
  if (!testName) return withHeldOut(train, options, notes);
  const testRoot = join(path, testName);
  // Its folders sorted, then labelled in the training classes' order (a classes.txt's, where there is one).
  const test = scanTree(testRoot);
  if (test.classNames.join('\n') !== [...scanned.classNames].sort(byName).join('\n')) {
    throw new DataError(
      testRoot,
      `its class folders (${test.classNames.join(', ')}) ` +
        `are not the training folders' (${scanned.classNames.join(', ')})`,
    );
  }
  const labelOf = test.classNames.map((name) => scanned.classNames.indexOf(name));
  const files = test.files.map((f) => ({ ...f, label: labelOf[f.label] }));
  return { train, test: await decodeTree(testRoot, scanned.classNames, files, options, notes) };
}

/** The data at `path` (absent: the bundled MNIST), split into training and test examples. */
export async function loadData(path: string | undefined, options: DataOptions): Promise<LoadedData> {
  const notes: string[] = [];
  // IDX images are one channel: a model of more is told so by the shape check that follows.
  const size = options.shape[0] === 1 ? ([options.shape[1], options.shape[2]] as const) : undefined;
  if (path === undefined) return { ...loadDataset(bundledMnistDir(), size), format: 'idx', notes };
  const format = formatOf(path);
  const dir = path;
  switch (format) {
    case 'idx':
      return { ...withIdxClassNames(loadDataset(path, size)), format, notes };
    case 'cifar10':
      return { dir, ...loadCifar(path, options, notes), format, notes };
    case 'csv':
      return { dir, ...loadCsv(path, options, notes), format, notes };
    case 'image-folder':
      return { dir, ...(await loadImageFolder(path, options, notes)), format, notes };
  }
}
