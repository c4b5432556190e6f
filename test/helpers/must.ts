/**
 * Lookups a test needs to succeed, said instead of asserted with `!`: a missing value fails the
 * test with what was missing, where `x!` would fail later on `undefined` with no name.
 */

/** `value`, or a failure naming `what` when it is null or undefined. */
export function must<T>(value: T, what: string): NonNullable<T> {
  if (value === null || value === undefined) throw new Error(`${what}: missing`);
  return value;
}

/** `map`'s value under `key`, or a failure naming the key. */
export const entry = <K, V>(map: ReadonlyMap<K, V>, key: K): NonNullable<V> =>
  must(map.get(key), `entry ${String(key)}`);

/** The last element of `list`, or a failure when it is empty. */
export const last = <T>(list: readonly T[]): T => must(list.at(-1), 'the last element of an empty list');
