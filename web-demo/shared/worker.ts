/**
 * The training worker (worker/main.ts), started for either page:
 * its messages, and its failing to start, go to `onMessage`.
 */
import type { FromWorker } from './protocol.js';

export function startWorker(onMessage: (message: FromWorker) => void): Worker {
  const worker = new Worker(new URL('../worker/main.ts', import.meta.url), { type: 'module' });
  worker.addEventListener('message', (e: MessageEvent<FromWorker>) => onMessage(e.data));
  worker.addEventListener('error', (e) =>
    onMessage({ type: 'error', message: e.message || 'the training worker failed to start' }),
  );
  return worker;
}
