/**
 * `onnx-mnist-train/web`: the library on onnxruntime-web, in a page or a Worker. Everything the
 * pure entry gives (layers, Module, op, data helpers), and the Trainer made on onnxruntime-web's
 * WebAssembly provider, or its WebGPU provider where the browser has an adapter (portable graphs,
 * each session's first runs checked against WebAssembly). The same Trainer as
 * `onnx-mnist-train/node`: only this file differs. Batches are made in the calling thread, so
 * train in a Worker to keep a page responsive.
 */
import { type ModelSource, type Recipe, Trainer, type TrainerSetup } from './api/trainer.js';
import type { Backend, Ort } from './web/backend.js';
import { webRuntime, type WebRuntimeOptions } from './web/runtime.js';

export * from './index.js';
export * from './api/trainer.js';
export { type Backend, BACKENDS, type Ort } from './web/backend.js';
export type { CheckReport } from './web/checked-session.js';

export interface WebTrainerOptions extends TrainerSetup, Pick<WebRuntimeOptions, 'onCheck'> {
  /** 'wasm' (default) or 'webgpu' (give `ort` as onnxruntime-web's WebGPU build, `onnxruntime-web/webgpu`). */
  backend?: Backend;
  /**
   * The onnxruntime-web module to run on, with its `env` set as the page needs (wasm paths,
   * threads); default: `onnxruntime-web/wasm`, or `onnxruntime-web/webgpu` for WebGPU, as
   * imported here with onnxruntime-web's own defaults.
   */
  ort?: Ort;
}

/** A Trainer of `model` with `recipe` on onnxruntime-web. */
export async function createTrainer(
  model: ModelSource,
  recipe: Recipe = {},
  options: WebTrainerOptions = {},
): Promise<Trainer> {
  const { backend = 'wasm', ort, onCheck, ...setup } = options;
  const module: Ort =
    ort ?? (backend === 'webgpu' ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm'));
  return Trainer.create(model, recipe, webRuntime(module, { backend, onCheck }), setup);
}
