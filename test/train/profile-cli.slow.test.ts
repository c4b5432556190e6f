/** `npm run train -- --profile`: the trace in the run folder and the table printed. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';

test('npm run train -- --profile writes a trace into the run folder and prints the table', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'profile-')), 'run');
  const r = runCli('train', [
    '--profile',
    '3',
    '--max-steps',
    '12',
    '--train-limit',
    '512',
    '--test-limit',
    '100',
    '--batch-size',
    '64',
    '--threads',
    '1',
    '--out',
    out,
  ]);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(
    new RegExp(
      `profile of 3 training steps after 5 warm-up steps, median step \\d+\\.\\d ms \\(trace: ${out}/profile\\.json`,
    ),
  );
  expect(r.stdout).toMatch(/^Conv +\d+\.\d\d +\d+\.\d%/m);
  const trace = JSON.parse(readFileSync(join(out, 'profile.json'), 'utf8')) as { cat?: string; name?: string }[];
  expect(trace.filter((e) => e.name === 'model_run')).toHaveLength(8); // profiling ended after the 8th step
  expect(existsSync(join(out, 'checkpoints'))).toBe(true);
});
