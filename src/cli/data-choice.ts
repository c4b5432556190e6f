/**
 * The data a run trains on, as the CLIs read it: `--data` (src/data/source.node.ts: IDX files,
 * CIFAR-10 batches, a CSV, a folder of images per class; the bundled MNIST without it), images
 * decoded to the model's input shape with a progress bar, `--class-names` where the data has
 * none. What the recipe takes from the data is core/data-recipe.ts's, shared with the page.
 */
import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { type LoadedData, loadData } from '../data/source.node.js';
import type { TrainConfig } from '../train/core/config.js';
import { FileError } from '../util/errors.js';

/** `--class-names`: a comma-separated list, or a file of one name per line. */
export function classNamesOf(value: string): string[] {
  const names =
    value.includes(',') || !/\.txt$/i.test(value) ? value.split(',') : readFileSync(value, 'utf8').split(/\r?\n/);
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
export async function readRunData(
  config: Pick<TrainConfig, 'dataDir' | 'valSplit' | 'seed' | 'classNames'>,
  shape: readonly number[],
): Promise<LoadedData> {
  const bar = decodingBar();
  let data: LoadedData;
  try {
    data = await loadData(config.dataDir, {
      shape,
      valSplit: config.valSplit,
      seed: config.seed,
      onProgress: bar.onProgress,
    });
  } finally {
    bar.stop();
  }
  for (const note of data.notes) console.error(`note: ${note}`);
  const classNames = config.classNames;
  if (!classNames) return data;
  return { ...data, train: { ...data.train, classNames }, test: { ...data.test, classNames } };
}
