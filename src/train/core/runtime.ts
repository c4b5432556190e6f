/**
 * What the training core needs from an ONNX Runtime build: tensors and sessions. The Node
 * binding gives onnxruntime-node's (src/train/session.ts), a page gives onnxruntime-web's;
 * the core itself imports only the types both share (onnxruntime-common).
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';

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
}
