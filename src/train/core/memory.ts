/**
 * What a training run will hold in memory, estimated before anything is allocated, so that a
 * model too large for the machine is refused in one line instead of growing until the
 * kernel's OOM killer ends it (a Linear of 10^9 weights reached 21 GB). The estimate counts:
 * - the carried state, twice (the stepper's two sets of tensors take turns as input and output):
 *   every parameter and buffer, the optimizer's slots of the trained parameters, the moving average;
 * - the activations of one step at the batch size: every float value the forward pass computes,
 *   three times over (kept for the backward pass, their gradients, and working space);
 * - the batch itself and the initial state drawn on the way in.
 * ORT's memory planner reuses buffers, so a run needs less than this, seldom more.
 */
import { evalGraph } from '../../model/graphs.js';
import { isFloat } from '../../graph/dtype.js';
import { numel } from '../../graph/shape.js';
import type { Network } from '../../model/network.js';
import { optimizerSlots } from '../../graph/optim.js';
import type { TrainConfig } from './config.js';

const FLOAT = 4;
/** Forward activations kept, their gradients, and working space (im2col, reductions). */
const ACTIVATION_COPIES = 3;

export interface MemoryEstimate {
  /** Bytes of the model's state (parameters and buffers), once. */
  model: number;
  /** Bytes the stepper carries: state, optimizer slots and averages, in both sets, and the initial state drawn. */
  state: number;
  /** Bytes of one step's activations at the batch size. */
  activations: number;
  total: number;
}

/** Float values one example's forward pass computes (the evaluation graph at batch 1). */
function activationsPerExample(net: Network): number {
  const graph = evalGraph(net, 1);
  let values = 0;
  for (const node of graph.nodes)
    for (const t of node.outputs)
      if (isFloat(t.dtype) && t.shape.every((d) => typeof d === 'number')) values += numel(t.shape);
  return values;
}

/** The memory a run of `net` with `config` (batch size, optimizer, frozen parameters, average) needs, estimated. */
export function estimateMemory(
  net: Network,
  config: Pick<TrainConfig, 'batchSize' | 'optimizer' | 'average'>,
  frozen: ReadonlySet<string> = new Set(),
): MemoryEstimate {
  const model = net.stateSpecs.reduce((n, s) => n + numel(s.shape), 0) * FLOAT;
  const trained = net.parameterSpecs.filter((s) => !frozen.has(s.name)).reduce((n, s) => n + numel(s.shape), 0) * FLOAT;
  const slots = optimizerSlots(config.optimizer).length * trained;
  const carried = model + slots + (config.average ? model : 0);
  const state = 2 * carried + model;
  const activations = ACTIVATION_COPIES * activationsPerExample(net) * config.batchSize * FLOAT;
  return { model, state, activations, total: state + activations };
}

const GB = 1024 ** 3;
const gb = (bytes: number) => `${(bytes / GB).toFixed(bytes < 10 * GB ? 2 : 1)} GB`;

/** Why a run estimated at `e` does not fit `budget` bytes (`where` says whose budget), or undefined when it does. */
export function memoryProblem(e: MemoryEstimate, budget: number, where: string): string | undefined {
  if (e.total <= budget) return undefined;
  return (
    `the run needs about ${gb(e.total)} ` +
    `(the model ${gb(e.model)}; with the optimizer's state and the step's two copies ${gb(e.state)}; ` +
    `activations at this batch size ${gb(e.activations)}), more than ${where} (${gb(budget)})`
  );
}
