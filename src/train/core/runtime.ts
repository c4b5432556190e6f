/**
 * What the training core needs from an ONNX Runtime build: tensors and sessions. The Node
 * binding gives onnxruntime-node's (src/train/node-runtime.ts), a page gives onnxruntime-web's;
 * the core itself imports only the types both share (onnxruntime-common).
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { Split } from '../../data/dataset.js';
import type { Graph } from '../../graph/builder.js';
import { type Lowering, serializeModel } from '../../graph/serialize.js';
import type { BatchOptions, BatchSource } from './batch-source.js';
import { OPSET } from './opset.js';

export type { InferenceSession, Tensor };

export type SessionRole = 'train-step' | 'eval';

export interface Runtime {
  float32(data: Float32Array, dims: readonly number[]): Tensor;
  int64(data: BigInt64Array, dims: readonly number[]): Tensor;
  /**
   * A session for a serialised model, with the binding's options (threads, device, ...);
   * `role` says which graph it runs (a binding may profile the training step only).
   */
  session(model: Uint8Array, role: SessionRole): Promise<InferenceSession>;
  /**
   * Node rewrites this build runs faster than the graph as built (onnxruntime-node on x86
   * CPUs: convolutions on ORT's NCHWc kernels, graph/nchwc.ts); absent, graphs run as built.
   */
  lowering?(): Promise<Lowering | undefined>;
  /**
   * True when its sessions need portable graphs (GraphOptions.portable:
   * onnxruntime-web on WebGPU): the training step's and the Evaluator's.
   */
  readonly portable?: boolean;
  /**
   * The memory a run may use, in bytes, and whose it is in words ("80% of this machine's memory"); absent: not checked.
   */
  readonly memory?: { budget: number; where: string };
  /**
   * Where training batches are made: absent, in the caller's
   * thread (InlineBatches); Node's binding uses a worker thread.
   */
  batchSource?(split: Split, options: BatchOptions): Promise<BatchSource>;
}

/** `graph` serialised as `runtime` runs it: the core's opset, rewritten by the runtime's lowering if it has one. */
export async function modelFor(runtime: Runtime, graph: Graph): Promise<Uint8Array> {
  return serializeModel(graph, { opset: OPSET, lowering: await runtime.lowering?.() });
}
