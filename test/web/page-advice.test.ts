/**
 * The training page's words for the core's refusals (web-demo/shared/recipe.ts): no CLI flag
 * (--lr) or API option (allowLargeModel) the page does not have, no checkpoint it does not keep.
 */
import { expect, test } from 'vitest';
import { divergedInPage, tooLargeInPage } from '../../web-demo/shared/recipe.js';

const diverged =
  'loss became NaN at epoch 1, batch 1, step 1 (lr 0.05); no checkpoint was written yet. Try a lower --lr.';

test('a diverged run: the page’s advice (its schedule), not --lr; a model broken from the start gets none', () => {
  expect(divergedInPage(diverged, false)).toBe(
    "loss became NaN at epoch 1, batch 1, step 1 (lr 0.05): the run diverged at the page's learning rate " +
      '(0.05, which it does not change); try the OneCycle schedule, which starts 25 times lower and warms up',
  );
  const broken =
    'loss became NaN at epoch 1, batch 0, step 0 (lr 0.05): the model gives non-finite outputs from its initial ' +
    'weights, before any update; no checkpoint was written yet';
  expect(divergedInPage(broken, true)).toBe(broken.replace('; no checkpoint was written yet', ''));
});

test('a run too large for the tab: a smaller batch or model, not allowLargeModel; other problems unchanged', () => {
  const tooLarge = "the run needs about 2.30 GB (...), more than the page's budget (2.00 GB)";
  const refused = `${tooLarge}; pass allowLargeModel: true to go ahead`;
  expect(tooLargeInPage(refused, 128)).toBe(`${tooLarge}: choose a batch of 64, or a smaller model`);
  expect(tooLargeInPage(refused, 64)).toBe(`${tooLarge}: choose a smaller model`);
  expect(tooLargeInPage('recipe: lr: must be positive', 128)).toBe('recipe: lr: must be positive');
});
