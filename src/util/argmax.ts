/** Index of the first largest value (ties go to the lower index, as ArgMax and torch.argmax do). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
