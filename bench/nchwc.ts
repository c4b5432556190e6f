/**
 * `npm run bench:nchwc`: the training step as built (plain ONNX Conv: im2col + GEMM in ORT)
 * against the same graph with its convs lowered to ORT's NCHWc kernels (src/graph/nchwc.ts),
 * in one process: both sessions step the seed CNN from the same initial state on the same
 * batch, their steps interleaved, so the machine's drift hits both alike. Prints each side's
 * median ms per thread count, their ratio, and the loss of both after the last step (they
 * agree to float32 rounding). Options: --steps N (default 30), --threads 1,2
 */
import { parseArgs } from 'node:util';
import type * as ort from '../src/util/ort.node.js';
import { Tensor } from '../src/util/ort.node.js';
import { nchwcLowering } from '../src/graph/nchwc.js';
import { serializeModel } from '../src/graph/serialize.js';
import { LOSS, LR, next, trainStepGraph } from '../src/model/graphs.js';
import { seedCnn } from '../src/model/seed-cnn.js';
import { OPSET } from '../src/train/core/opset.js';
import { createSession, nchwcBlockSize } from '../src/train/node-runtime.js';
import { Rng } from '../src/util/rng.js';
import { DEFAULT_SGD } from '../src/train/core/recipe.js';

const { values: args } = parseArgs({
  options: { steps: { type: 'string', default: '30' }, threads: { type: 'string', default: '1,2' } },
});
const steps = Number(args.steps);
const block = await nchwcBlockSize();
const lowering = nchwcLowering(block);
if (!lowering) {
  console.log(
    JSON.stringify({
      nchwc_block: block,
      unavailable: 'this ONNX Runtime build has no NCHWc kernels on this CPU: graphs run as built',
    }),
  );
  process.exit(0);
}

const net = seedCnn();
const step = trainStepGraph(net, 128, DEFAULT_SGD);
const models = {
  as_built: serializeModel(step.graph, { opset: OPSET }),
  nchwc: serializeModel(step.graph, { opset: OPSET, lowering }),
};

/** Inputs of one step: the seed-1 initial state, zero momentum, one random batch, dropout masks keeping 90%. */
function initialFeeds(): Record<string, ort.Tensor> {
  const rng = new Rng(1);
  const state = net.initialState(1);
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of step.graph.inputs) {
    const shape = input.shape as number[];
    const n = shape.reduce((a, d) => a * d, 1);
    const saved = state.get(input.name);
    if (input.dtype === 'int64')
      feeds[input.name] = new Tensor(
        'int64',
        BigInt64Array.from({ length: n }, () => BigInt(rng.int(10))),
        shape,
      );
    else if (saved) feeds[input.name] = new Tensor('float32', Float32Array.from(saved.data), shape);
    else if (input.name === LR) feeds[input.name] = new Tensor('float32', Float32Array.of(0.05), shape);
    else if (step.masks.some((m) => m.name === input.name))
      feeds[input.name] = new Tensor(
        'float32',
        Float32Array.from({ length: n }, () => (rng.uniform() < 0.1 ? 0 : 1 / 0.9)),
        shape,
      );
    else if (step.carried.some((e) => e.name === input.name))
      feeds[input.name] = new Tensor('float32', new Float32Array(n), shape);
    else
      feeds[input.name] = new Tensor(
        'float32',
        Float32Array.from({ length: n }, () => rng.range(-0.5, 2.5)),
        shape,
      ); // images
  }
  return feeds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const result: Record<string, unknown> = { date: new Date().toISOString(), nchwc_block: block, steps };
for (const threads of args.threads.split(',').map(Number)) {
  const sides = ['as_built', 'nchwc'] as const;
  const sessions = await Promise.all(sides.map((side) => createSession(models[side], { threads })));
  const start = initialFeeds();
  const feeds = sides.map(() => ({ ...start }));
  const times: number[][] = [[], []];
  const losses = [0, 0];
  for (let i = 0; i < steps + 3; i++) {
    for (const k of i % 2 ? [1, 0] : [0, 1]) {
      const t0 = performance.now();
      const out = await sessions[k].run(feeds[k]);
      if (i >= 3) times[k].push(performance.now() - t0); // three warm-up steps
      losses[k] = (out[LOSS].data as Float32Array)[0];
      for (const e of step.carried) feeds[k][e.name] = out[next(e.name)];
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  const [plain, lowered] = times.map(median);
  result[`threads_${threads}`] = {
    as_built_ms_median: Number(plain.toFixed(1)),
    nchwc_ms_median: Number(lowered.toFixed(1)),
    nchwc_over_as_built: Number((lowered / plain).toFixed(3)),
    last_loss: { as_built: losses[0], nchwc: losses[1] },
  };
  console.error(`${threads} thread(s): as built ${plain.toFixed(1)} ms, NCHWc ${lowered.toFixed(1)} ms`);
}
console.log(JSON.stringify(result, null, 2));
