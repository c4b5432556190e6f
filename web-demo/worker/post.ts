/** The worker's side of the protocol with the pages (shared/protocol.ts). */
import type { FromWorker } from '../shared/protocol.js';

/** Sends the page a message, moving `transfer`'s buffers. */
export const post = (message: FromWorker, transfer: Transferable[] = []): void =>
  self.postMessage(message, { transfer });
