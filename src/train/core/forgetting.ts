/**
 * What a fine-tune cost the model on the task it was trained for: the confusions that grew most
 * between two evaluations of the same test split (before and after), and the one sentence the
 * draw page shows when teaching conflicted with MNIST. Pure: it reads two EvalResults.
 */
import type { ClassifierResult } from './evaluator.js';

/** What the comparison reads of an evaluation (a classifier's EvalResult, or an export's Verification). */
export type Scored = Pick<ClassifierResult, 'correct' | 'count' | 'confusion'>;

/** Images of class `label` read as class `as`, as fractions of that class, before and after. */
export interface GrownConfusion {
  label: number;
  as: number;
  before: number;
  after: number;
}

/** A fall in accuracy larger than this (0.3 points) is reported. */
export const FORGETTING_REPORTED = 0.003;

/** The off-diagonal confusions that grew, largest growth first (at most `count`). */
export function grownConfusions(before: Scored, after: Scored, count = 2): GrownConfusion[] {
  const grown: GrownConfusion[] = [];
  after.confusion.forEach((row, label) => {
    const total = row.reduce((a, b) => a + b, 0);
    if (total === 0) return;
    row.forEach((n, as) => {
      if (as === label) return;
      const was = (before.confusion[label]?.[as] ?? 0) / total;
      if (n / total > was) grown.push({ label, as, before: was, after: n / total });
    });
  });
  return grown.sort((a, b) => b.after - b.before - (a.after - a.before)).slice(0, count);
}

const percent = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;

/**
 * One sentence when the accuracy fell by more than FORGETTING_REPORTED, naming the classes hurt
 * most, e.g. "This conflicts with MNIST: its 1s now read as 7 in 12% of cases (0.1% before);
 * MNIST test accuracy fell from 99.58% to 88.23%." Undefined when it did not.
 */
export function forgettingNote(before: Scored, after: Scored): string | undefined {
  const was = before.correct / before.count;
  const now = after.correct / after.count;
  // exactly 0.3 points is not more, in floating point too
  if (was - now <= FORGETTING_REPORTED + 1e-12) return undefined;
  const [worst, next] = grownConfusions(before, after);
  const also = !next
    ? ''
    : next.label === worst.label
      ? ` and as ${next.as} in ${percent(next.after)}`
      : ` and its ${next.label}s as ${next.as} in ${percent(next.after)}`;
  const hurt = worst
    ? `its ${worst.label}s now read as ${worst.as} in ${percent(worst.after)} of cases ` +
      `(${percent(worst.before)} before)${also}; `
    : '';
  return (
    `This conflicts with MNIST: ` +
    `${hurt}MNIST test accuracy fell from ${(100 * was).toFixed(2)}% to ${(100 * now).toFixed(2)}%.`
  );
}
