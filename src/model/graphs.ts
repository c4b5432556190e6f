/**
 * The graphs one network definition yields for ONNX Runtime:
 *  - `evalGraph`: normalised images -> log-probabilities, state as inputs, any batch size;
 *  - `trainStepGraph`: forward, loss, gradients (autodiff) and the optimizer update in one
 *    graph, run once per batch. State goes in under its state_dict name (`conv1.weight`) and
 *    comes out as `<name>.next`, to be fed back on the next step.
 */
import { gradients } from '../graph/autodiff.js';
import { Graph, type GraphOptions, NameTakenError, type Tensor } from '../graph/builder.js';
import * as op from '../graph/ops/index.js';
import { type OptimizerOptions, optimizerSlots, optimizerUpdate } from '../graph/optim.js';
import type { Dim } from '../graph/shape.js';
import {
  classifierOutput,
  correctCount,
  isClassification,
  type LossSpec,
  lossOf,
  outputsOf,
  targetShape,
} from './loss.js';
import {
  AVERAGE_DECAY,
  CORRECT,
  GRAPH_NAMES,
  IMAGE,
  LOG_PROBS,
  LOSS,
  LR,
  OUTPUT,
  STEP,
  TARGET,
} from './graph-names.js';
import { type CallRecord, NetworkError, type Network, type StateBinding } from './network.js';

export { AVERAGE_DECAY, CORRECT, IMAGE, LOG_PROBS, LOSS, LR, OUTPUT, STEP, TARGET };

/** Name of the output that carries the next value of a state entry. */
export const next = (name: string): string => `${name}.next`;
/** Name of an optimizer slot of a parameter, e.g. `conv1.weight.momentum_buffer`. */
export const slotName = (param: string, slot: string): string => `${param}.${slot}`;
/** Name of the moving average of a model state entry, e.g. `conv1.weight.average`. */
export const averageName = (entry: string): string => `${entry}.average`;

/**
 * Runs `build`, turning a clash between a name of the model's state and one the graph gives its
 * own values (`lr`, `loss`, `<name>.next`, `<name>.momentum_buffer`, ...) into a NetworkError.
 */
function withOwnNames<T>(build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (!(e instanceof NameTakenError)) throw e;
    throw new NetworkError(
      `the model has a parameter or buffer named '${e.valueName}', ` +
        `a name the training graph gives one of its own values ` +
        `(${GRAPH_NAMES.join(', ')}, <name>.next, <name>.<optimizer slot>, <name>.average, <layer>.mask): rename it`,
    );
  }
}

export interface DropoutMaskInput {
  name: string;
  shape: readonly number[];
  p: number;
}

const fail = (message: string): never => {
  throw new Error(message);
};

/** Binds the network's state to graph inputs named by state_dict key, and collects training side outputs. */
class GraphBinding implements StateBinding {
  readonly bufferUpdates = new Map<string, Tensor>();
  readonly masks: DropoutMaskInput[] = [];
  private readonly tensors: Map<string, Tensor>;

  constructor(
    net: Network,
    private readonly graph: Graph,
  ) {
    this.tensors = new Map(net.stateSpecs.map((s) => [s.name, graph.input(s.name, 'float32', s.shape)]));
  }

  state(name: string): Tensor {
    return this.tensors.get(name) ?? fail(`no state entry '${name}' in this graph`);
  }

  updateBuffer(name: string, value: Tensor): void {
    this.bufferUpdates.set(name, value);
  }

  dropoutMask(name: string, shape: readonly number[], p: number): Tensor {
    this.masks.push({ name, shape, p });
    return this.graph.input(name, 'float32', shape);
  }
}

/**
 * Inputs [batch, C, H, W] (normalised) -> log-probabilities [batch, classes] (`LOG_PROBS`), or
 * for the regression losses the output as it is (`OUTPUT`); `onCall` sees each module call as
 * it is emitted (the summary reads shapes off it).
 */
export function evalGraph(
  net: Network,
  batch: Dim = 'N',
  onCall?: (call: CallRecord) => void,
  options: GraphOptions = {},
): Graph {
  return withOwnNames(() => buildEvalGraph(net, batch, onCall, options));
}

function buildEvalGraph(
  net: Network,
  batch: Dim,
  onCall: ((call: CallRecord) => void) | undefined,
  options: GraphOptions,
): Graph {
  const graph = new Graph(`${net.name}-eval`, options);
  const x = graph.input(IMAGE, 'float32', [batch, ...net.inputShape]);
  const binding = new GraphBinding(net, graph);
  const y = net.forward(x, 'eval', binding, onCall);
  const { loss } = net.options;
  if (isClassification(loss)) {
    graph.output(classifierOutput(y, loss).logProbs, LOG_PROBS);
  } else {
    outputsOf(y); // refuses an output that is not [N, K]
    graph.output(y, OUTPUT);
  }
  return graph;
}

/**
 * The network's outputs per example (its classes, for a classifier): its output
 * is [N, K]. Emitting it finds a layer that does not fit (a NetworkError).
 */
export function classCount(net: Network): number {
  return evalGraph(net).outputs[0].tensor.shape[1] as number;
}

/**
 * One entry of the state a training step carries: fed in under `name`, returned as
 * `next(name)` (a frozen parameter is fed and never returned). The layout of a run's whole
 * state, described once here; the trainer, checkpoints and tests read it instead of parsing names.
 */
export type CarriedEntry = { name: string; shape: readonly number[] } & (
  | { role: 'parameter' }
  /** A parameter the step does not train (frozen): no gradient, no optimizer state, no `.next`. */
  | { role: 'frozen' }
  /** A buffer the network updates itself (BatchNorm running statistics). */
  | { role: 'buffer' }
  /** Optimizer state of parameter `of`, e.g. slot `momentum_buffer` of `conv1.weight`. */
  | { role: 'optimizer'; of: string; slot: string }
  /** The exponential moving average of model state entry `of` (parameter or buffer). */
  | { role: 'average'; of: string }
);

/** True for the entries that make up the model's state (its state_dict): parameters, trained or frozen, and buffers. */
export const isModelState = (e: CarriedEntry): boolean =>
  e.role === 'parameter' || e.role === 'frozen' || e.role === 'buffer';

export interface TrainStepGraph {
  graph: Graph;
  batch: number;
  /** Dropout masks to feed each step, in layer order. */
  masks: DropoutMaskInput[];
  /**
   * The state fed in (and, but for frozen parameters, returned as `.next`):
   * parameters with their optimizer slots, frozen parameters, buffers, then averages.
   */
  carried: CarriedEntry[];
  /** The `target` input: int64 class indices [batch], or float32 [batch, K] for the regression losses. */
  target: { dtype: 'int64' | 'float32'; shape: number[] };
  /** True when the step outputs `correct` (classification losses). */
  counts: boolean;
}

export interface TrainStepOptions {
  /**
   * Keep an exponential moving average of the model state (parameters and BatchNorm
   * statistics), as torch.optim.swa_utils.AveragedModel or tf.train.ExponentialMovingAverage
   * do: avg <- avg + (1 - d) (value - avg) after each update, with d the scalar input
   * `average_decay` (scheduled in TypeScript, like the learning rate).
   */
  average?: boolean;
  /** Only ops every ORT execution provider runs (GraphOptions.portable): what a WebGPU session needs. */
  portable?: boolean;
  /**
   * Parameters not to train, by name (PyTorch's `requires_grad_(False)`): they get no gradient
   * and no optimizer state, so the backward pass stops where nothing trained lies behind it.
   */
  frozen?: ReadonlySet<string>;
  /** Cross-entropy's label smoothing (see loss.ts). */
  labelSmoothing?: number;
}

/**
 * The dropout-mask inputs a training step of `batch` images takes, in feed order: the forward
 * pass in train mode alone, without the gradients and the update that trainStepGraph adds
 * (the batch worker needs them before the step's graph is built).
 */
export function dropoutMasks(net: Network, batch: number): DropoutMaskInput[] {
  const graph = new Graph(`${net.name}-masks`);
  const binding = new GraphBinding(net, graph);
  net.forward(graph.input(IMAGE, 'float32', [batch, ...net.inputShape]), 'train', binding);
  return binding.masks;
}

/**
 * One optimisation step: the loss (loss.ts: the network's loss kind, NLL after a final
 * LogSoftmax else cross-entropy by default) averaged over the batch, gradients by autodiff for
 * the parameters not frozen, the optimizer update, new BatchNorm running statistics.
 * Extra inputs: `lr` (and `step` for Adam). Extra outputs: `loss`, and `correct` (a count) for
 * the classification losses.
 */
export function trainStepGraph(
  net: Network,
  batch: number,
  optimizer: OptimizerOptions,
  options: TrainStepOptions = {},
): TrainStepGraph {
  return withOwnNames(() => buildTrainStepGraph(net, batch, optimizer, options));
}

function buildTrainStepGraph(
  net: Network,
  batch: number,
  optimizer: OptimizerOptions,
  { average = false, portable = false, frozen = new Set(), labelSmoothing }: TrainStepOptions,
): TrainStepGraph {
  const graph = new Graph(`${net.name}-train-step`, { portable });
  const x = graph.input(IMAGE, 'float32', [batch, ...net.inputShape]);
  const spec: LossSpec = { kind: net.options.loss, labelSmoothing };
  const target = targetShape(batch, spec, () => classCount(net));
  const targetInput = graph.input(TARGET, target.dtype, target.shape);
  const lr = graph.input(LR, 'float32', []);
  const step = optimizer.kind === 'sgd' ? undefined : graph.input(STEP, 'float32', []);
  const binding = new GraphBinding(net, graph);
  const { loss, logProbs } = lossOf(net.forward(x, 'train', binding), targetInput, spec);
  graph.output(loss, LOSS);
  if (logProbs) graph.output(correctCount(logProbs, targetInput), CORRECT);

  const trained = net.parameterSpecs.filter((s) => !frozen.has(s.name));
  const params = trained.map((s) => binding.state(s.name));
  const grads = gradients(loss, params);
  const carried: CarriedEntry[] = [];
  const slots = optimizerSlots(optimizer);
  const shapes = new Map(net.stateSpecs.map((spec) => [spec.name, spec.shape]));
  const shapeOf = (name: string) => shapes.get(name) ?? fail(`no state entry '${name}'`);
  const updatedModel: [string, Tensor][] = [];
  params.forEach((p, i) => {
    const grad = grads[i];
    if (!grad)
      throw new NetworkError(
        `parameter '${p.name}' does not affect the loss (a layer the forward never calls?): ` +
          `remove it, or freeze it (--freeze ${p.name})`,
      );
    const shape = shapeOf(p.name);
    const slotInputs = slots.map((s) => graph.input(slotName(p.name, s), 'float32', shape));
    const updated = optimizerUpdate(optimizer, p, grad, slotInputs, { lr, step });
    graph.output(updated.param, next(p.name));
    updatedModel.push([p.name, updated.param]);
    carried.push({ name: p.name, shape, role: 'parameter' });
    slotInputs.forEach((s, k) => {
      graph.output(updated.slots[k], next(s.name));
      carried.push({ name: s.name, shape, role: 'optimizer', of: p.name, slot: slots[k] });
    });
  });
  for (const s of net.parameterSpecs)
    if (frozen.has(s.name)) carried.push({ name: s.name, shape: s.shape, role: 'frozen' });
  for (const [name, value] of binding.bufferUpdates) {
    graph.output(value, next(name));
    updatedModel.push([name, value]);
    carried.push({ name, shape: shapeOf(name), role: 'buffer' });
  }
  if (average) carried.push(...averageOutputs(graph, updatedModel, shapeOf));
  return { graph, batch, masks: binding.masks, carried, target, counts: logProbs !== undefined };
}

/** The running average of each updated model value: an input, and its next value as an output. */
function averageOutputs(
  graph: Graph,
  updatedModel: readonly [string, Tensor][],
  shapeOf: (name: string) => readonly number[],
): CarriedEntry[] {
  const keep = op.sub(1, graph.input(AVERAGE_DECAY, 'float32', []));
  return updatedModel.map(([name, value]) => {
    const avg = graph.input(averageName(name), 'float32', shapeOf(name));
    graph.output(op.add(avg, op.mul(op.sub(value, avg), keep)), next(avg.name));
    return { name: avg.name, shape: shapeOf(name), role: 'average', of: name };
  });
}
