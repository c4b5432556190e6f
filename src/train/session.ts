/**
 * onnxruntime-node sessions for our graphs, and the conversions between our state and ORT
 * tensors. The graphs themselves know nothing of ORT.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Graph } from '../graph/builder.js';
import { serializeModel } from '../graph/serialize.js';
import { ExpectedError } from '../util/errors.js';

export type Device = 'cpu' | 'cuda';

export interface SessionOptions {
  /** Intra-op threads (ORT's default: one per physical core). */
  threads?: number;
  device?: Device;
}

export const OPSET = 18;

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

export const CUDA_INSTALL_HINT =
  "onnxruntime-node's CUDA provider is not installed (CUDA 12 and cuDNN 9 are needed too). " +
  'Install it with: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js';

export class DeviceError extends ExpectedError {}

export function cudaProviderInstalled(): boolean {
  const dir = ortNativeDir();
  return dir !== undefined && existsSync(join(dir, 'libonnxruntime_providers_cuda.so'));
}

export async function createSession(model: Uint8Array, { threads, device = 'cpu' }: SessionOptions = {}): Promise<ort.InferenceSession> {
  if (device === 'cuda' && !cudaProviderInstalled()) throw new DeviceError(`--device cuda: ${CUDA_INSTALL_HINT}`);
  return ort.InferenceSession.create(model, {
    executionProviders: device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    intraOpNumThreads: threads ?? 0,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

export async function sessionForGraph(graph: Graph, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  return createSession(serializeModel(graph, { opset: OPSET }), options);
}
