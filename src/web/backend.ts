/**
 * onnxruntime-web's two execution providers as the library runs them: WebAssembly everywhere,
 * WebGPU where the browser gives an adapter (its graphs portable, its first runs checked against
 * WebAssembly: checked-session.ts). `Ort` is the onnxruntime-web module a caller loaded (its
 * `onnxruntime-web/wasm` or `onnxruntime-web/webgpu` build); nothing here loads one.
 */
import type * as OrtWeb from 'onnxruntime-web/wasm';
import type { InferenceSession } from '../train/core/runtime.js';

export type Ort = typeof OrtWeb;

export const BACKENDS = ['webgpu', 'wasm'] as const;
export type Backend = (typeof BACKENDS)[number];
export const isBackend = (name: string | null): name is Backend => BACKENDS.some((b) => b === name);

/**
 * A session of `model` on `provider`. ORT's warnings are off: on WebGPU every session warns (as
 * a console error) that it placed shape ops on the CPU, which it does by design.
 */
export function openSession(
  ort: Ort,
  model: Uint8Array,
  provider: Backend,
  options: InferenceSession.SessionOptions = {},
): Promise<InferenceSession> {
  return ort.InferenceSession.create(model, { ...options, executionProviders: [provider], logSeverityLevel: 3 });
}
