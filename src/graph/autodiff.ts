/**
 * Reverse-mode autodiff over the builder's tape. Walks the nodes between `wrt` and `y`
 * backwards, asks each op's gradient rule for its input gradients, and sums contributions
 * where a tensor feeds several consumers. Gradients are new nodes in the same graph, which the
 * rules emit with the ops namespace passed to them here (so op files need not import each other).
 */
import type { Node, Tensor } from './builder.js';
import { isFloat } from './dtype.js';
import * as ops from './ops/index.js';

class GradientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GradientError';
  }
}

/** Nodes on some path from `wrt` to `y`, in emission order. */
function nodesBetween(nodes: readonly Node[], y: Tensor, wrt: readonly Tensor[]): Node[] {
  const dependsOnWrt = new Set<Tensor>(wrt);
  for (const node of nodes) {
    // Only float values carry gradients: a comparison's bool output (or an index) ends the path.
    if (node.inputs.some((t) => t && dependsOnWrt.has(t)))
      for (const t of node.outputs) if (isFloat(t.dtype)) dependsOnWrt.add(t);
  }
  const needed = new Set<Tensor>([y]);
  const path: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node.outputs.some((t) => needed.has(t))) continue;
    if (!node.inputs.some((t) => t && dependsOnWrt.has(t))) continue;
    path.push(node);
    for (const t of node.inputs) if (t && dependsOnWrt.has(t)) needed.add(t);
  }
  return path.reverse();
}

/**
 * d(y)/d(wrt[i]) for each i, with `dy` as the incoming gradient (default: ones for a scalar y).
 * Returns undefined for a tensor that y does not depend on.
 */
export function gradients(y: Tensor, wrt: readonly Tensor[], dy?: Tensor): (Tensor | undefined)[] {
  if (!isFloat(y.dtype)) throw new GradientError(`cannot differentiate ${y}: not a float tensor`);
  if (!dy && y.rank !== 0) throw new GradientError(`${y} is not a scalar: pass its incoming gradient`);
  const graph = y.graph;
  const path = nodesBetween([...graph.nodes], y, wrt);
  const contributions = new Map<Tensor, Tensor[]>([[y, [dy ?? graph.scalar(1, y.dtype)]]]);
  const total = (t: Tensor): Tensor | undefined => {
    const parts = contributions.get(t);
    if (!parts) return undefined;
    const sum = parts.reduce((a, b) => ops.add(a, b));
    contributions.set(t, [sum]);
    return sum;
  };

  for (let i = path.length - 1; i >= 0; i--) {
    const node = path[i];
    const dys = node.outputs.map(total);
    if (dys.every((d) => d === undefined)) continue;
    if (!node.gradient) throw new GradientError(`no gradient rule for ${node.op.type} (node '${node.name}')`);
    const dxs = node.gradient(dys, ops);
    node.inputs.forEach((x, k) => {
      const dx = dxs[k];
      if (!x || !dx || !isFloat(x.dtype)) return;
      const parts = contributions.get(x);
      if (parts) parts.push(dx);
      else contributions.set(x, [dx]);
    });
  }
  return wrt.map(total);
}
