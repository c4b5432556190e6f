/**
 * What a new run's recipe takes from its data, the same for `--data` and the training page:
 * the per-channel normalisation computed on the training split (MNIST's published constants
 * for the bundled MNIST), and the augmentation that fits the images (the digits' rotation and
 * shift for one channel; a padded random crop and a horizontal flip for colour, as for photos).
 */
import type { AugmentOptions } from '../../data/augment.js';
import type { Split } from '../../data/dataset.js';
import { MNIST_NORMALIZATION, type Normalization, normalization } from '../../data/normalize.js';
import type { TrainConfig } from './config.js';
import { DIGIT_AUGMENT } from './recipe.js';

/** The augmentation for natural (colour) images: RandomCrop(padding=4) as a shift, and RandomHorizontalFlip. */
const NATURAL_AUGMENT: AugmentOptions = { rotate: 0, shift: 4, flip: true };

/** The augmentation that fits images of `channels` channels when none is chosen. */
const augmentFor = (channels: number): AugmentOptions => ({ ...(channels === 1 ? DIGIT_AUGMENT : NATURAL_AUGMENT) });

/**
 * The recipe's normalisation and augmentation for `train`: `bundledMnist` keeps MNIST's
 * constants; `augment` (given by the user, null for none) overrides the data's choice.
 */
export function dataDefaults(
  train: Split,
  { bundledMnist, augment }: { bundledMnist: boolean; augment?: AugmentOptions | null },
): Partial<TrainConfig> {
  const normalize = bundledMnist ? undefined : roundedStats(normalization(train));
  return {
    augment: augment === undefined ? augmentFor(train.shape[0]) : augment,
    ...(normalize && !sameAs(normalize, MNIST_NORMALIZATION) && { normalize }),
  };
}

/** Four decimals, as torchvision's tutorials write them: the statistics of a data set, not of its rounding. */
const roundedStats = (n: Normalization): Normalization => ({
  mean: n.mean.map((m) => Number(m.toFixed(4))),
  std: n.std.map((s) => Number(s.toFixed(4))),
});
const sameAs = (a: Normalization, b: Normalization) => a.mean.join() === b.mean.join() && a.std.join() === b.std.join();
