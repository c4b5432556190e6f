/**
 * onnxruntime-web as the worker's runtime, on the backend the page asked for, with the test
 * hooks a run may carry (state traces, WebGPU step checks) posted to the page.
 */
import type { Runtime } from '../../src/train/core/runtime.js';
import { fallbackNote, outputData } from '../../src/web/checked-session.js';
import { webRuntime, type WebRuntimeOptions } from '../../src/web/runtime.js';
import { type Backend, loadOrt, webgpuAdapter } from '../shared/backend.js';
import { post } from './post.js';
import { floatData } from '../../src/util/tensor-data.js';

/** WebAssembly threads: more than one needs SharedArrayBuffer, i.e. a cross-origin isolated page. */
export const threadCount = () => (crossOriginIsolated ? navigator.hardwareConcurrency : 1);

/** The test hooks a runtime may carry (state traces, WebGPU step checks). */
export type RuntimeHooks = Omit<WebRuntimeOptions, 'backend'>;

/**
 * onnxruntime-web on `requested`: WebGPU when this worker gets an adapter, else WebAssembly. The
 * page hears which runs, and again if WebGPU is dropped because it disagreed with WebAssembly;
 * `fallback` is why WebAssembly was requested after WebGPU (the page shows it).
 */
export async function loadRuntime(
  requested: Backend,
  hooks: RuntimeHooks = {},
  fallback?: string,
): Promise<{ runtime: Runtime; threads: number }> {
  const adapter = requested === 'webgpu' ? await webgpuAdapter() : null;
  const backend: Backend = adapter ? 'webgpu' : 'wasm';
  const note =
    requested === 'webgpu' && !adapter ? 'this browser gives no WebGPU adapter: running on WebAssembly' : fallback;
  post({ type: 'backend', backend, adapter, note });
  const ort = await loadOrt(backend, threadCount());
  const runtime = webRuntime(ort, {
    ...hooks,
    backend,
    onCheck(role, report) {
      if (!report.trusted)
        post({
          type: 'backend',
          backend: 'wasm',
          adapter,
          note: fallbackNote(role === 'eval' ? 'evaluation' : 'training step', report),
        });
      hooks.onCheck?.(role, report);
    },
  });
  return { runtime, threads: ort.env.wasm.numThreads ?? 1 };
}

/**
 * Posts the carried state fed to each of the first `steps` training steps (the test hook of ToWorker's `traceSteps`).
 */
export function stateTracer(steps: number, carried: () => readonly string[]): RuntimeHooks {
  let step = 0;
  return {
    onTrainStep(feeds) {
      if (step >= steps) return;
      const state = Object.fromEntries(carried().map((name) => [name, floatData(feeds[name]).slice()]));
      post(
        { type: 'trace', step: step++, state },
        Object.values(state).map((a) => a.buffer),
      );
    },
  };
}

/**
 * Posts both sides of each of the first `steps` WebGPU training steps
 * checked against WebAssembly (the test hook of ToWorker's `checkSteps`).
 */
export function stepChecker(steps: number): RuntimeHooks {
  const floats = (results: Parameters<typeof outputData>[0] | null) =>
    Object.fromEntries(
      Object.entries(results ? outputData(results) : {}).map(([name, data]) => [name, Float32Array.from(data, Number)]),
    );
  return {
    checkSteps: steps,
    onCheck(role, report) {
      if (role !== 'train-step' || report.run >= steps) return;
      const webgpu = floats(report.webgpu);
      const wasm = floats(report.wasm);
      post(
        { type: 'step-check', step: report.run, webgpu, wasm },
        [...Object.values(webgpu), ...Object.values(wasm)].map((a) => a.buffer),
      );
    },
  };
}
