/**
 * The data a run trains on, as the CLIs read it: `--data` (src/data/source.node.ts: IDX files,
 * CIFAR-10 batches, a CSV, a folder of images per class; the bundled MNIST without it), images
 * decoded to the model's input shape with a progress bar, `--class-names` where the data has
 * none, and what depends on the data: its per-channel normalisation (computed on the training
 * split, MNIST's for the bundled MNIST) and the augmentation that fits it (rotation and shift
 * for one channel, as for digits; shift and flip for colour images, as for photos).
 */
import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { AugmentOptions } from '../data/augment.js';
import type { Dataset } from '../data/dataset.js';
import { MNIST_NORMALIZATION, type Normalization, normalization } from '../data/normalize.js';
import { type LoadedData, loadData } from '../data/source.node.js';
import type { TrainConfig } from '../train/core/config.js';
import { DEFAULT_RECIPE } from '../train/core/recipe.js';
import { FileError } from '../util/errors.js';

/** The augmentation for natural (colour) images: RandomCrop(padding=4) as a shift, and RandomHorizontalFlip. */
export const NATURAL_AUGMENT: AugmentOptions = { rotate: 0, shift: 4, flip: true };

/** `--class-names`: a comma-separated list, or a file of one name per line. */
export function classNamesOf(value: string): string[] {
  const names = value.includes(',') || !/\.txt$/i.test(value) ? value.split(',') : readFileSync(value, 'utf8').split(/\r?\n/);
  const kept = names.map((n) => n.trim()).filter((n) => n !== '');
  if (kept.length < 2) throw new FileError(value, 'needs at least two class names');
  return kept;
}

/** A progress bar on stderr while an image tree is decoded (none when stderr is not a terminal). */
function decodingBar(): { onProgress(done: number, total: number): void; stop(): void } {
  let bar: cliProgress.SingleBar | undefined;
  return {
    onProgress(done, total) {
      if (!process.stderr.isTTY) return;
      bar ??= new cliProgress.SingleBar(
        { stream: process.stderr, format: 'decoding images {bar} {value}/{total} ({eta_formatted} left)' },
        cliProgress.Presets.shades_classic,
      );
      if (done === 0 || bar.getTotal() !== total) bar.start(total, done);
      else bar.update(done);
    },
    stop: () => bar?.stop(),
  };
}

/** The run's data, read as `config` says, for a model taking `shape`, with its notes printed. */
export async function readRunData(config: Pick<TrainConfig, 'dataDir' | 'valSplit' | 'seed' | 'classNames'>, shape: readonly number[]): Promise<LoadedData> {
  const bar = decodingBar();
  let data: LoadedData;
  try {
    data = await loadData(config.dataDir, { shape, valSplit: config.valSplit, seed: config.seed, onProgress: bar.onProgress });
  } finally {
    bar.stop();
  }
  for (const note of data.notes) console.error(`note: ${note}`);
  const classNames = config.classNames;
  if (!classNames) return data;
  return { ...data, train: { ...data.train, classNames }, test: { ...data.test, classNames } };
}

/** What a new run's recipe takes from its data: its normalisation and, unless given, its augmentation. */
export function dataDefaults(data: Dataset, config: TrainConfig, augmentGiven: boolean): Partial<TrainConfig> {
  const normalize: Normalization | undefined = config.dataDir === undefined ? undefined : roundedStats(normalization(data.train));
  const augment = augmentGiven ? config.augment : data.train.shape[0] === 1 ? DEFAULT_RECIPE.augment : NATURAL_AUGMENT;
  return { augment, ...(normalize && !sameAs(normalize, MNIST_NORMALIZATION) && { normalize }) };
}

/** Four decimals, as torchvision's tutorials write them: the statistics of a data set, not of its rounding. */
const roundedStats = (n: Normalization): Normalization => ({ mean: n.mean.map((m) => Number(m.toFixed(4))), std: n.std.map((s) => Number(s.toFixed(4))) });
const sameAs = (a: Normalization, b: Normalization) => a.mean.join() === b.mean.join() && a.std.join() === b.std.join();
