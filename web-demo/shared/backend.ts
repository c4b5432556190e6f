/**
 * Which onnxruntime-web execution provider runs the pages' models: WebGPU where the browser gives
 * an adapter, WebAssembly otherwise or when the user chooses it (the pages' `backend-choice`, or
 * `?backend=` in the address). Each backend has its own build of onnxruntime-web, imported on
 * first use so a page loads only the one it runs: the WebAssembly build (a 14 MB .wasm) or the
 * WebGPU one (a 27 MB .wasm, which also runs the WebAssembly provider, the reference WebGPU is
 * checked against: src/web/checked-session.ts). Used by the pages and the worker alike.
 */
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import webgpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { Backend, Ort } from '../../src/web/backend.js';

export { type Backend, BACKENDS, isBackend, type Ort, openSession } from '../../src/web/backend.js';

export const BACKEND_LABELS: Record<Backend, string> = { webgpu: 'WebGPU', wasm: 'WebAssembly' };

/**
 * The WebGPU adapter's name (its description, else vendor and architecture), or null when this
 * context has none: no navigator.gpu (a browser without WebGPU, or a page not in a secure context:
 * https or 127.0.0.1), or no adapter (no usable GPU, or WebGPU switched off).
 */
export async function webgpuAdapter(): Promise<string | null> {
  if (!('gpu' in navigator) || !navigator.gpu) return null;
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return null;
    const { description, vendor, architecture } = adapter.info;
    return description || [vendor, architecture].filter(Boolean).join(' ') || 'unnamed adapter';
  } catch {
    return null;
  }
}

/**
 * The backend a page starts on: `?backend=` if it names one that is available, else WebGPU when there is an adapter.
 */
export function initialBackend(requested: string | null, adapter: string | null): Backend {
  if (requested === 'wasm' || adapter === null) return 'wasm';
  return 'webgpu';
}

const loading = new Map<Backend, Promise<Ort>>();

/**
 * onnxruntime-web's build for `backend`, its .wasm served by this site (never a CDN), on
 * `threads` WebAssembly threads (more than one needs a cross-origin isolated page). Imported
 * dynamically, so the bundler gives each build a chunk of its own: ORT starts its threads as
 * workers from that chunk's URL, and would otherwise run the importing module again.
 */
export function loadOrt(backend: Backend, threads: number): Promise<Ort> {
  let ort = loading.get(backend);
  if (!ort) {
    const imported: Promise<Ort> =
      backend === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm');
    ort = imported.then((module) => {
      module.env.wasm.wasmPaths = { wasm: backend === 'webgpu' ? webgpuWasmUrl : wasmUrl };
      module.env.wasm.numThreads = threads;
      return module;
    });
    loading.set(backend, ort);
  }
  return ort;
}
