/** The forgetting report: which confusions grew, and the one sentence the draw page shows. */
import { expect, test } from 'vitest';
import { FORGETTING_REPORTED, forgettingNote, grownConfusions, type Scored } from '../../src/train/core/forgetting.js';

/** A 3-class evaluation of 1000 images per class, all right except `wrong` ([label, predicted, count]). */
function scored(wrong: [number, number, number][]): Scored {
  const confusion = [0, 1, 2].map((label) => [0, 1, 2].map((p) => (p === label ? 1000 : 0)));
  for (const [label, predicted, n] of wrong) {
    confusion[label][label] -= n;
    confusion[label][predicted] += n;
  }
  const correct = confusion.reduce((sum, row, label) => sum + row[label], 0);
  return { correct, count: 3000, confusion };
}

test('the confusions that grew most come first, as fractions of their class', () => {
  const before = scored([[1, 2, 10]]);
  const after = scored([
    [1, 2, 120],
    [0, 2, 30],
    [2, 0, 10],
  ]);
  expect(grownConfusions(before, after)).toEqual([
    { label: 1, as: 2, before: 0.01, after: 0.12 },
    { label: 0, as: 2, before: 0, after: 0.03 },
  ]);
  expect(grownConfusions(after, before)).toEqual([]);
});

test('a fall of more than 0.3 points is one sentence naming the classes hurt most; less is nothing', () => {
  const before = scored([]);
  const after = scored([
    [1, 2, 120],
    [0, 2, 30],
  ]);
  expect(forgettingNote(before, after)).toBe(
    'This conflicts with MNIST: its 1s now read as 2 in 12% of cases (0.0% before) and its 0s as 2 in 3.0%; ' +
      'MNIST test accuracy fell from 100.00% to 95.00%.',
  );
  expect(FORGETTING_REPORTED).toBe(0.003);
  expect(forgettingNote(before, scored([[1, 2, 9]]))).toBeUndefined(); // 0.30 points
  expect(forgettingNote(before, scored([[1, 2, 10]]))).toMatch(
    /^This conflicts with MNIST: its 1s now read as 2 in 1.0% of cases/,
  ); // 0.33
  expect(forgettingNote(before, before)).toBeUndefined();
  expect(
    forgettingNote(
      before,
      scored([
        [1, 2, 120],
        [1, 0, 30],
      ]),
    ),
  ).toBe(
    'This conflicts with MNIST: its 1s now read as 2 in 12% of cases (0.0% before) and as 0 in 3.0%; ' +
      'MNIST test accuracy fell from 100.00% to 95.00%.',
  );
});
