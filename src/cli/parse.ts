/** Commander argument parsers: a bad value becomes commander's one-line "invalid argument" error. */
import { type Command, InvalidArgumentError } from 'commander';
import { UsageError } from './errors.js';

function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('not a number.');
  return n;
}

export function positiveInt(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = number(value);
  if (n <= 0) throw new InvalidArgumentError('must be greater than 0.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = number(value);
  if (n < 0) throw new InvalidArgumentError('must be 0 or more.');
  return n;
}

export function probability(value: string): number {
  const n = number(value);
  if (n < 0 || n >= 1) throw new InvalidArgumentError('must be in [0, 1).');
  return n;
}

/** A share strictly between 0 and 1 (`--val-split 0.1`). */
export function share(value: string): number {
  const n = number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('must be between 0 and 1.');
  return n;
}

/** `--augment`: none, or rotate, shift and flip joined by + (rotate+shift). */
export function augmentKinds(value: string): string[] {
  const kinds = value.split('+');
  const known = ['none', 'rotate', 'shift', 'flip'];
  if (kinds.some((k) => !known.includes(k)) || (kinds.includes('none') && kinds.length > 1)) {
    throw new InvalidArgumentError('expected none, or rotate, shift and flip joined by + (rotate+shift).');
  }
  return kinds;
}

/** A seed: the random streams take 32-bit words, so larger values would silently wrap. */
export function uint32(value: string): number {
  const n = nonNegativeInt(value);
  if (n > 0xffffffff) throw new InvalidArgumentError('must be at most 4294967295 (2^32 - 1).');
  return n;
}

/** A moving-average decay: strictly between 0 and 1. */
export function emaDecay(value: string): number {
  const n = number(value);
  if (n <= 0 || n >= 1) throw new InvalidArgumentError('must be in (0, 1).');
  return n;
}

/** A path: an empty one (`--out ""`) is a mistake, not "the default". */
export function nonEmptyPath(value: string): string {
  if (value === '') throw new InvalidArgumentError('must not be empty.');
  return value;
}

/** A comma-separated list of name patterns (`--train-only fc,classifier`): none empty. */
export function patternList(value: string): string[] {
  const patterns = value.split(',').map((p) => p.trim());
  if (patterns.some((p) => p === ''))
    throw new InvalidArgumentError('expected name patterns separated by commas, none empty.');
  return patterns;
}

/**
 * Refuses, in one line, the flags npm took as its own settings: `npm run train --epochs=1`
 * (no `--`) hands `--epochs=1` to npm, which keeps it as `npm_config_epochs` and runs the
 * script without it, so the run would silently use the default. Then parses the command line.
 */
export function parseCommand(program: Command, env: NodeJS.ProcessEnv = process.env): Command {
  if (env.npm_lifecycle_event !== undefined) {
    const taken = program.options
      .flatMap(({ long, required, optional }) => {
        const value = long === undefined ? undefined : env[`npm_config_${long.slice(2).replace(/-/g, '_')}`];
        return long === undefined ? [] : [{ long, takesValue: required || optional, value }];
      })
      .filter((f) => f.value !== undefined);
    if (taken.length > 0) {
      const given = (f: (typeof taken)[number]) =>
        !f.takesValue ? f.long : `${f.long} ${f.value === 'true' || f.value === '' ? '<value>' : f.value}`;
      const flags = taken.map(given).join(' ');
      const script = env.npm_lifecycle_event;
      throw new UsageError(
        `npm took ${taken.map((f) => f.long).join(', ')} as its own setting${taken.length > 1 ? 's' : ''}: ` +
          `npm run passes flags to a script only after --, as in npm run ${script} -- ${flags}`,
      );
    }
  }
  return program.parse();
}
