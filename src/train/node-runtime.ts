/**
 * The Node binding's runtime: onnxruntime-node sessions (CPU, or CUDA when its provider is
 * installed) and tensors, handed to the runtime-neutral training core as a `Runtime`.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from '../util/ort.node.js';
import { nchwcLowering, nchwcProbeModel, PROBE_INPUT, PROBE_OUTPUT } from '../graph/nchwc.js';
import type { Lowering } from '../graph/serialize.js';
import { ExpectedError } from '../util/errors.js';
import { BatchPrefetcher } from './batch-prefetcher.js';
import type { Runtime, SessionRole } from './core/runtime.js';

export { OPSET } from './core/opset.js';

export type Device = 'cpu' | 'cuda';

export interface SessionOptions {
  /** Intra-op threads (ORT's default: one per physical core). */
  threads?: number;
  device?: Device;
  /**
   * Run convolutions on ORT's NCHWc kernels where the CPU build has them (graph/nchwc.ts).
   * Default: on, unless the environment sets ONNX_MNIST_NCHWC=0 (as TF_ENABLE_ONEDNN_OPTS=0
   * turns TensorFlow's oneDNN kernels off).
   */
  nchwc?: boolean;
  /**
   * Let ORT's intra-op threads spin-wait for the next op (ORT's default: on). For training
   * steps the Node runtime takes it from the environment, ONNX_MNIST_SPIN_WAIT=0 turning it
   * off: the batch worker shares the cores with those threads, and which is faster depends on
   * the machine (`npm run bench:steps -- --spin both`; docs/performance.md).
   */
  spinWait?: boolean;
}

/** Where onnxruntime-node keeps its native libraries for this platform. */
function ortNativeDir(): string | undefined {
  const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const bin = join(pkg, 'bin');
  if (!existsSync(bin)) return undefined;
  for (const napi of readdirSync(bin)) {
    const dir = join(bin, napi, process.platform, process.arch);
    if (existsSync(dir)) return dir;
  }
  return undefined;
}

const CUDA_INSTALL_HINT =
  "onnxruntime-node's CUDA provider is not installed (CUDA 12 and cuDNN 9 are needed too). " +
  'Install it with: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js';

class DeviceError extends ExpectedError {}

function cudaProviderInstalled(): boolean {
  const dir = ortNativeDir();
  return dir !== undefined && existsSync(join(dir, 'libonnxruntime_providers_cuda.so'));
}

/** ORT's session options for ours: threads, provider, optimisation, spinning, profiling. */
export function ortSessionOptions(
  { threads, device = 'cpu', spinWait = true }: SessionOptions = {},
  profilePrefix?: string,
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    intraOpNumThreads: threads ?? 0,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    ...(spinWait ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    ...(profilePrefix === undefined ? {} : { enableProfiling: true, profileFilePrefix: profilePrefix }),
  };
}

export async function createSession(
  model: Uint8Array,
  options: SessionOptions = {},
  /** ORT's profiler: it writes `<prefix>_<date>.json`, a Chrome/Perfetto trace, at endProfiling. */
  profilePrefix?: string,
): Promise<ort.InferenceSession> {
  if (options.device === 'cuda' && !cudaProviderInstalled())
    throw new DeviceError(`--device cuda: ${CUDA_INSTALL_HINT}`);
  return ort.InferenceSession.create(model, ortSessionOptions(options, profilePrefix));
}

let blockSize: Promise<number> | undefined;

/**
 * The channel block of ORT's NCHWc kernels on this machine (16 with AVX-512, 8 with AVX2), or
 * 1 where this build has none (other CPUs): asked of ORT itself, once, with a one-node model.
 */
export function nchwcBlockSize(): Promise<number> {
  blockSize ??= (async () => {
    try {
      const probe = await ort.InferenceSession.create(nchwcProbeModel(), { intraOpNumThreads: 1 });
      const out = await probe.run({ [PROBE_INPUT]: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
      await probe.release();
      return out[PROBE_OUTPUT].dims[1];
    } catch {
      return 1; // no NCHWc kernels in this build or on this CPU: graphs run as built
    }
  })();
  return blockSize;
}

export interface NodeRuntime extends Runtime {
  /** Ends the profiling of the training-step sessions (see `profilePrefix`); their traces are written then. */
  endProfiling(): void;
  /** The options of the sessions it makes for `role`. */
  optionsFor(role: SessionRole): SessionOptions;
}

/**
 * An on/off environment variable: unset or empty is `fallback`,
 * 0 off, 1 on; anything else is a mistake, said in one line.
 */
function envSwitch(name: string, fallback: boolean): boolean {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if (value === '0' || value === '1') return value === '1';
  throw new ExpectedError(`${name}=${value}: expected 0 (off) or 1 (on)`);
}

/**
 * What the environment switches (see SessionOptions); a CLI calls
 * it first, so a junk value stops it before anything is made.
 */
export function environmentSwitches(): { nchwc: boolean; spinWait: boolean } {
  return { nchwc: envSwitch('ONNX_MNIST_NCHWC', true), spinWait: envSwitch('ONNX_MNIST_SPIN_WAIT', true) };
}

/** What a run may use of this machine: 80% of its memory (the rest for the system and other programs). */
export function machineMemory(): { budget: number; where: string } {
  const total = totalmem();
  return { budget: 0.8 * total, where: `80% of this machine's ${(total / 1024 ** 3).toFixed(1)} GB` };
}

/** onnxruntime-node as the training core's runtime; with `profilePrefix`, training-step sessions are profiled. */
export function nodeRuntime(options: SessionOptions = {}, profilePrefix?: string): NodeRuntime {
  const profiled: ort.InferenceSession[] = [];
  const nchwc = (options.nchwc ?? environmentSwitches().nchwc) && (options.device ?? 'cpu') === 'cpu';
  const stepSpinWait = options.spinWait ?? environmentSwitches().spinWait;
  const optionsFor = (role: SessionRole): SessionOptions =>
    role === 'train-step' ? { ...options, spinWait: stepSpinWait } : options;
  return {
    lowering: async (): Promise<Lowering | undefined> => (nchwc ? nchwcLowering(await nchwcBlockSize()) : undefined),
    float32: (data, dims) => new ort.Tensor('float32', data, dims),
    int64: (data, dims) => new ort.Tensor('int64', data, dims),
    batchSource: (split, batchOptions) => BatchPrefetcher.create(split, batchOptions),
    memory: machineMemory(),
    async session(model, role) {
      const profile = role === 'train-step' ? profilePrefix : undefined;
      const session = await createSession(model, optionsFor(role), profile);
      if (profile !== undefined) profiled.push(session);
      return session;
    },
    endProfiling() {
      for (const s of profiled.splice(0)) s.endProfiling();
    },
    optionsFor,
  };
}
