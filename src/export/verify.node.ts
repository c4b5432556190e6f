/**
 * Export verification for Node: verify-core.ts's check (the exported model against the
 * evaluation graph of the same checkpoint on a whole test split, 1e-4 on every probability,
 * the same prediction everywhere, no NaN or infinity) with onnxruntime-node.
 */
import type { Split } from '../data/dataset.js';
import type { Normalization } from '../data/normalize.js';
import type { Network } from '../model/network.js';
import type { StateDict } from '../model/state-dict.js';
import { nodeRuntime } from '../train/node-runtime.js';
import { type Verification, verifyModel } from './verify-core.js';

export {
  assertFaithful,
  ExportError,
  exportVerified,
  PROBABILITY_TOLERANCE,
  type Verification,
  verifyModel,
} from './verify-core.js';

export function verifyExport(
  net: Network,
  state: StateDict,
  model: Uint8Array,
  split: Split,
  normalize: Normalization,
  batchSize = 1000,
): Promise<Verification> {
  return verifyModel(nodeRuntime(), net, state, model, split, normalize, batchSize);
}
