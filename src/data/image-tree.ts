/**
 * A tree of one folder of images per class, as torchvision's ImageFolder reads it, from its
 * files' paths alone: the rules `--data` (image-folder.node.ts) and the training page (a
 * dropped or chosen folder) share. Class names are the folders' names, sorted by code unit as
 * Python sorts them; `train/` with `test/` (or `val/`) holds both splits. Pure.
 */
import { DataError } from './idx-format.js';

const IMAGE_EXTENSIONS = /\.(png|jpe?g|webp|gif|tiff?|bmp)$/i;
export const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.test(name);
/** Names in ImageFolder's order (Python's sorted(): by code unit, not by locale). */
export const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Why a tree's class folders cannot make a classifier (none, or one), or undefined. */
export function classFoldersProblem(names: readonly string[]): string | undefined {
  if (names.length === 0) return 'holds no class folders (one subfolder of images per class)';
  if (names.length === 1) return `holds one class folder only ('${names[0]}'): a classifier needs at least two classes`;
  return undefined;
}
export const EMPTY_CLASS = 'holds no images (PNG, JPEG, WebP, GIF or TIFF): an empty class cannot be learned';

/**
 * The input shape of the built-in seed CNN for a tree of images: grey 28x28 (as MNIST), or colour 32x32 (as CIFAR-10).
 */
export const treeInputShape = (colour: boolean): number[] => (colour ? [3, 32, 32] : [1, 28, 28]);
/** How many images, spread over a tree, are looked at to tell colour from grey. */
const COLOUR_SAMPLE = 16;
/** Channels differing by more than this are colour, not a grey image's compression noise. */
const COLOUR_SPREAD = 24;

/** Whether an RGB image as planes ([3, H, W], row-major) holds any colour. */
export function hasColour(rgb: ArrayLike<number>): boolean {
  const plane = rgb.length / 3;
  for (let p = 0; p < plane; p++) {
    const r = rgb[p];
    const g = rgb[plane + p];
    const b = rgb[2 * plane + p];
    if (Math.max(r, g, b) - Math.min(r, g, b) > COLOUR_SPREAD) return true;
  }
  return false;
}

/**
 * The seed CNN's input shape for a tree of `total` images: colour when any of a few spread over
 * it, decoded as RGB planes by `decodeRgb` (undefined: it would not decode), holds colour.
 */
export async function sampledInputShape(
  total: number,
  decodeRgb: (index: number) => Promise<Uint8Array | undefined>,
): Promise<number[]> {
  for (const i of spread(total, COLOUR_SAMPLE)) {
    const rgb = await decodeRgb(i);
    if (rgb && hasColour(rgb)) return treeInputShape(true);
  }
  return treeInputShape(false);
}

/** `count` indices spread evenly over `total` (all of them when there are fewer). */
export function spread(total: number, count: number): number[] {
  if (total <= count) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * total) / count));
}

/** Megabytes, or gigabytes from 1 GB up, to one decimal. */
const bytesText = (bytes: number): string =>
  bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`;

/**
 * Why `images` decoded at `shape` (one byte a value) would not fit in `budget` bytes, saying how
 * many would, or undefined when they fit. `whose` names the budget ("this page's budget").
 */
export function decodedSizeProblem(
  images: number,
  shape: readonly number[],
  budget: number,
  whose: string,
): string | undefined {
  const size = shape.reduce((a, b) => a * b, 1);
  if (images * size <= budget) return undefined;
  return (
    `${images.toLocaleString('en-US')} images at [${shape.join(',')}] take ${bytesText(images * size)} decoded; ` +
    `${whose}, ${bytesText(budget)}, holds ${Math.floor(budget / size).toLocaleString('en-US')}: ` +
    `use fewer images or a smaller input`
  );
}

/** The names a class list (`classes.txt`) gives: one per line, blank lines and surrounding spaces ignored. */
export const classList = (text: string): string[] =>
  text
    .split(/\r?\n/)
    .map((n) => n.trim())
    .filter((n) => n !== '');

/**
 * The classes of a tree in label order: its folders sorted (ImageFolder's order), or as a
 * `classes.txt` at the tree's root lists them (Keras's `class_names`: the order is the user's
 * choice), which must name each class folder once. `where` names the list in an error.
 */
export function classOrder(folders: readonly string[], listed: readonly string[] | undefined, where: string): string[] {
  const sorted = [...folders].sort(byName);
  if (!listed) return sorted;
  const same = listed.length === sorted.length && [...listed].sort(byName).every((n, i) => n === sorted[i]);
  if (!same) throw new DataError(where, `lists ${listed.join(', ')}; the class folders are ${sorted.join(', ')}`);
  return [...listed];
}

/** A path's last part, whichever separator it uses. */
const fileName = (path: string): string => path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);

/**
 * The examples of a tree in file-name order across its classes (ties keep class order). Training
 * shuffles, so any order would do; this one lets a tree written from a numbered data set
 * (scripts/write-dataset.ts names each file by its index) keep that set's order, so one seed draws
 * the same batches from either. Node's reader and the page's both list by it.
 */
export function inFileNameOrder<T>(items: readonly T[], pathOf: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, name: fileName(pathOf(item)) }))
    .sort((a, b) => byName(a.name, b.name))
    .map(({ item }) => item);
}

/** One image of a listed tree: its index among the paths given, and its class. */
export interface TreeImage {
  index: number;
  label: number;
}

export interface ImageTreeListing {
  classNames: string[];
  train: TreeImage[];
  /** The tree's own test split (`test/` or `val/`), when it has one. */
  test?: TreeImage[];
  /** Files that are not images, by path. */
  ignored: string[];
}

/** The images under `prefix` (e.g. 'train/'), by class folder; files directly in it belong to no class. */
function classesUnder(paths: readonly string[], prefix: string, exclude: readonly string[]): Map<string, number[]> {
  const classes = new Map<string, number[]>();
  paths.forEach((path, index) => {
    if (!path.startsWith(prefix)) return;
    const parts = path.slice(prefix.length).split('/');
    if (parts.length < 2 || exclude.includes(parts[0]) || parts[0].startsWith('.')) return;
    classes.set(parts[0], [...(classes.get(parts[0]) ?? []), index]);
  });
  return classes;
}

/** The images of one split, labelled by `classNames`; an empty class is refused. */
function labelled(
  root: string,
  paths: readonly string[],
  classes: Map<string, number[]>,
  classNames: readonly string[],
  ignored: string[],
): TreeImage[] {
  const images: TreeImage[] = [];
  classNames.forEach((name, label) => {
    const files = classes.get(name) ?? [];
    const kept = files.filter((i) => isImageName(paths[i]));
    if (kept.length === 0) throw new DataError(`${root}/${name}`, EMPTY_CLASS);
    for (const index of kept) images.push({ index, label });
    for (const index of files) if (!isImageName(paths[index])) ignored.push(paths[index]);
  });
  return inFileNameOrder(images, (image) => paths[image.index]);
}

/**
 * The tree whose files are `paths` ('/'-separated, relative to the folder `root` names):
 * `class/image`, or `train/class/image` with `test/class/image` (or `val/`).
 */
export function listImageTree(root: string, paths: readonly string[], listed?: readonly string[]): ImageTreeListing {
  const top = new Set(paths.filter((p) => p.includes('/')).map((p) => p.split('/')[0]));
  const testName = ['test', 'val'].find((n) => top.has(n));
  const trainPrefix = top.has('train') ? 'train/' : '';
  const trainRoot = trainPrefix ? `${root}/train` : root;
  const classes = classesUnder(paths, trainPrefix, trainPrefix ? [] : testName ? [testName] : []);
  const classNames = classOrder([...classes.keys()], listed, `${root}/classes.txt`);
  const problem = classFoldersProblem(classNames);
  if (problem) throw new DataError(trainRoot, problem);
  const ignored: string[] = [];
  const train = labelled(trainRoot, paths, classes, classNames, ignored);
  if (!testName) return { classNames, train, ignored };
  const testClasses = classesUnder(paths, `${testName}/`, []);
  const testNames = [...testClasses.keys()].sort(byName);
  if (testNames.join('\n') !== [...classNames].sort(byName).join('\n'))
    throw new DataError(
      `${root}/${testName}`,
      `its class folders (${testNames.join(', ')}) are not the training folders' (${classNames.join(', ')})`,
    );
  return { classNames, train, test: labelled(`${root}/${testName}`, paths, testClasses, classNames, ignored), ignored };
}
