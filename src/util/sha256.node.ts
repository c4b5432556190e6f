/** SHA-256 of bytes, in hex: how checkpoints and model cards vouch for the files beside them. */
import { createHash } from 'node:crypto';

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
