/** The model card's Node side: the source commit, and the .json file beside the model with its hash. */
import { execFileSync } from 'node:child_process';
import { sha256Hex } from '../util/sha256.node.js';
import type { ModelCard } from './model-card.js';

export { cardMetadata, type ModelCard, modelCard, preprocessFor } from './model-card.js';

/** `git rev-parse HEAD`, marked -dirty when the working tree has changes; 'unknown' outside git. */
export function sourceCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

/**
 * The .json beside the model: the card plus the SHA-256 of the .onnx bytes it describes, so
 * a reader can tell a pair torn by a crash (the .json is written last). Cards written before
 * the field existed, like models/mnist.json, lack it; nothing requires it.
 */
export interface ModelCardFile extends ModelCard {
  onnx_sha256?: string;
}

/** `models/mnist.onnx` -> `models/mnist.json`. */
export const cardFileFor = (onnxFile: string): string => onnxFile.replace(/\.onnx$/, '.json');

export function cardFileText(card: ModelCard, onnx: Uint8Array): string {
  const file: ModelCardFile = { ...card, onnx_sha256: sha256Hex(onnx) };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Why a parsed .json card does not describe these .onnx bytes, or undefined (also for cards without a hash). */
export function cardMismatch(card: unknown, onnx: Uint8Array): string | undefined {
  const recorded = typeof card === 'object' && card !== null && 'onnx_sha256' in card ? card.onnx_sha256 : undefined;
  if (recorded === undefined) return undefined;
  const actual = sha256Hex(onnx);
  return recorded === actual
    ? undefined
    : `the card records onnx_sha256 ${String(recorded)}, but the model's SHA-256 is ${actual}: ` +
        `the pair does not belong together`;
}
