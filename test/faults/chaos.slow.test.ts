/**
 * Chaos: a small training run is killed with SIGKILL at seeded random moments (while it
 * starts, trains, evaluates or writes checkpoints and metrics), each time followed by
 * `--resume`, until it finishes. It must end byte-identical to a run never interrupted:
 * the same final weights, optimizer buffers and per-epoch metrics.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import { startCli } from '../helpers/cli.js';

const KILLS = 12;
const recipe = ['--train-limit', '128', '--test-limit', '50', '--epochs', '6', '--batch-size', '32', '--threads', '1'];

const finalCheckpoint = (run: string) => join(run, 'checkpoints', 'epoch-006');
/** Everything a run measured, without the timings. */
const metrics = (run: string) =>
  readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { train_seconds: _t, test_seconds: _e, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });

test(`a run killed ${KILLS} times at random moments, resumed each time, ends byte-identical to an uninterrupted one`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-'));
  const reference = join(dir, 'reference');
  const started = performance.now();
  let startupMs = 0; // node, tsx, data, graphs, sessions: until the first epoch begins
  let firstEpochMs = 0; // its steps (the first ones warm ORT up), evaluation and checkpoint
  const first = startCli('train', [...recipe, '--out', reference]);
  first.child.stdout.on('data', (d: string) => {
    if (!startupMs && d.includes('Epoch 1/')) startupMs = performance.now() - started;
    if (startupMs && !firstEpochMs && d.includes('checkpoint:')) firstEpochMs = performance.now() - started - startupMs;
  });
  expect((await first.result).status).toBe(0);
  // A quarter of the kills land while the process starts (folder creation, lock, resume),
  // timed from the spawn; the rest between half and one and a half times the first epoch's
  // time after the attempt begins its epoch (steps, evaluation, checkpoint and metrics writes),
  // so that about half of them get a checkpoint further and the run is hit all along. Timing those from the
  // attempt's own start of training, not from its spawn, keeps them there when an attempt starts
  // up slower than the reference did (as under CI's parallel test files, where all 12 once
  // landed before the run folder existed); scaling them to the first epoch, which every
  // resumed attempt runs warming up again, not to the whole run's work, keeps the run moving
  // on a machine where that warm-up is long (where all 12 once landed before any checkpoint).
  const plan = (rng: Rng) =>
    rng.uniform() < 0.25
      ? { afterEpochStarts: false, delay: rng.uniform() * startupMs }
      : { afterEpochStarts: true, delay: (0.5 + rng.uniform()) * firstEpochMs };

  const run = join(dir, 'killed');
  const rng = new Rng(20261126);
  const attempt = () => startCli('train', existsSync(run) ? ['--out', run, '--resume'] : [...recipe, '--out', run]);
  let kills = 0;
  let finishedEarly = 0;
  /** Checkpoints present after each kill: shows that kills landed all along the run. */
  const trail: number[] = [];
  const progress = () =>
    existsSync(join(run, 'checkpoints'))
      ? readdirSync(join(run, 'checkpoints')).filter((n) => !n.includes('.partial-')).length
      : -1;
  while (kills < KILLS) {
    const { child, result } = attempt();
    const { afterEpochStarts, delay } = plan(rng);
    let timer: NodeJS.Timeout | undefined;
    if (!afterEpochStarts) timer = setTimeout(() => child.kill('SIGKILL'), delay);
    else {
      child.stdout.on('data', (d: string) => {
        if (!timer && d.includes('Epoch ')) timer = setTimeout(() => child.kill('SIGKILL'), delay);
      });
    }
    const r = await result;
    clearTimeout(timer);
    if (r.signal === 'SIGKILL') {
      kills++;
      trail.push(progress());
    } else {
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      finishedEarly++;
    }
  }
  const last = await attempt().result;
  expect(last.stderr).toBe('');
  expect(last.status).toBe(0);
  console.log(
    `chaos: ${kills} kills (checkpoints after each, -1 = no run folder yet: ${trail.join(' ')}); ` +
      `${finishedEarly} attempts ended before their kill`,
  );
  expect(Math.max(...trail)).toBeGreaterThan(0);
  for (const file of ['model.safetensors', 'optimizer.safetensors']) {
    expect(
      readFileSync(join(finalCheckpoint(run), file)).equals(readFileSync(join(finalCheckpoint(reference), file))),
      file,
    ).toBe(true);
  }
  expect(metrics(run)).toEqual(metrics(reference));
}, 600_000);
