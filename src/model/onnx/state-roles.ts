/**
 * Which initializers of an imported graph train. A training-mode export keeps PyTorch's
 * state_dict names (`features.0.weight`, `gamma`, `pos_embedding`): a float initializer under
 * such a name is a parameter whatever op reads it (an `nn.Parameter` read by Add or Mul, a
 * layer scale or a position embedding, trains as in PyTorch), but for a BatchNormalization's
 * mean and variance, which are buffers. Names the exporter made up (`onnx::Mul_12`) are values
 * it computed: constants, unless a Conv, Gemm or MatMul reads them as weights (an eval-mode
 * export renames the BatchNorm-folded conv weights so). A registered float buffer under its own
 * name cannot be told from a parameter in the file: it trains unless frozen (`--freeze`).
 */
import type { TensorValues } from '../../graph/tensor-proto.js';
import { ImportError, type NodeP } from './values.js';

export interface StateRoles {
  trainable: Set<string>;
  buffers: Set<string>;
  /** How many node inputs read each name. */
  uses: Map<string, number>;
}

/** A name PyTorch's state_dict would write, not one the exporter made up (`onnx::Conv_123`, `123`). */
const isStateName = (name: string): boolean => !name.includes('::') && !/^\d+$/.test(name);

const WEIGHT_READERS = new Set(['Conv', 'Gemm', 'MatMul']);

/** The roles of `initializers` as `nodes` read them; refuses weights an eval-mode export merged by value. */
export function stateRoles(nodes: readonly NodeP[], initializers: ReadonlyMap<string, TensorValues>): StateRoles {
  const uses = new Map<string, number>();
  for (const n of nodes) for (const i of n.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  const isFloat = (name: string | undefined): name is string =>
    name !== undefined && initializers.get(name)?.dtype === 'float32';
  const trainable = new Set<string>();
  const buffers = new Set<string>();
  for (const node of nodes) {
    const ins = node.input ?? [];
    ins.forEach((name, i) => {
      if (!isFloat(name)) return;
      if (node.opType === 'BatchNormalization' && i >= 3) buffers.add(name);
      else if (
        isStateName(name) ||
        WEIGHT_READERS.has(node.opType ?? '') ||
        (node.opType === 'BatchNormalization' && i >= 1)
      )
        trainable.add(name);
    });
  }
  for (const name of buffers) trainable.delete(name);
  for (const name of trainable) if (!isStateName(name) && (uses.get(name) ?? 0) > 1) throw mergedError(name, nodes);
  return { trainable, buffers, uses };
}

/**
 * An eval-mode export keeps one initializer of equal values and gives the others as Identity
 * nodes of it (resnet18's BatchNorm-folded conv biases: 20 tensors as 4). Each alias becomes an
 * initializer of its own again, a copy, so that each trains as in PyTorch.
 */
export function untieAliases(
  nodes: readonly NodeP[],
  initializers: ReadonlyMap<string, TensorValues>,
): { nodes: NodeP[]; initializers: Map<string, TensorValues> } {
  const untied = new Map(initializers);
  const kept: NodeP[] = [];
  for (const node of nodes) {
    const [source] = node.input ?? [];
    const [alias] = node.output ?? [];
    const values = node.opType === 'Identity' && source ? initializers.get(source) : undefined;
    if (values && alias && values.dtype === 'float32') untied.set(alias, { ...values, data: values.data.slice() });
    else kept.push(node);
  }
  return { nodes: kept, initializers: untied };
}

/** An exporter-named weight read by several nodes: equal values merged into one tensor, which would train as one. */
function mergedError(name: string, nodes: readonly NodeP[]): ImportError {
  const readers = nodes.filter((n) => (n.input ?? []).includes(name)).map((n) => `${n.opType} '${n.name}'`);
  return new ImportError(
    `initializer '${name}' is read by ${readers.length} nodes ` +
      `(${readers.slice(0, 3).join(', ')}${readers.length > 3 ? ', ...' : ''}): ` +
      'the exporter merged equal values, as it does in eval mode, and they would train as one; ' +
      'export in training mode (torch.onnx.export(..., training=torch.onnx.TrainingMode.TRAINING))',
  );
}
