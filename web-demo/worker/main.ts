/**
 * The pages' training worker: train.html's runs (train-run.ts: the library's Trainer fitting
 * MNIST, with pause and stop, and the verified downloads) and the draw page's teaching
 * (tune.ts), with the same core as `npm run train`; only the runtime differs: onnxruntime-web
 * on WebGPU or WebAssembly (runtime.ts). Running here keeps the page responsive; nothing leaves
 * the page (MNIST comes from the page's own server, mnist.ts).
 */
import { INPUT, PROBABILITIES } from '../../src/export/model-io.js';
import { ExpectedError, messageOf } from '../../src/util/errors.js';
import { loadOrt, openSession } from '../shared/backend.js';
import type { ToWorker } from '../shared/protocol.js';
import { post } from './post.js';
import { threadCount } from './runtime.js';
import { control, prepareDownloads, train } from './train-run.js';
import { tune } from './tune.js';
import { floatData } from '../../src/util/tensor-data.js';

let running = false;

/** Probabilities of `count` inputs under `model` (the classify test hook). */
async function classify(model: Uint8Array, inputs: Float32Array, count: number): Promise<Float32Array> {
  const ort = await loadOrt('wasm', threadCount());
  const session = await openSession(ort, model, 'wasm');
  try {
    const out = await session.run({ [INPUT]: new ort.Tensor('float32', inputs, [count, 1, 28, 28]) });
    return floatData(out[PROBABILITIES]).slice();
  } finally {
    await session.release();
  }
}

self.addEventListener('message', (e: MessageEvent<ToWorker>) => {
  const message = e.data;
  switch (message.type) {
    case 'start':
      if (running) return;
      running = true;
      train(message)
        .catch((error: unknown) => post({ type: 'error', message: messageOf(error) }))
        .finally(() => (running = false));
      return;
    case 'pause':
      return control.pause();
    case 'resume':
      return control.resume();
    case 'stop':
      return control.stop();
    case 'export':
      if (running) return post({ type: 'export-refused', message: 'the run has not ended yet' });
      prepareDownloads()
        .then(post)
        .catch((error: unknown) =>
          post({
            type: 'export-refused',
            message: error instanceof ExpectedError ? error.message : `could not export: ${messageOf(error)}`,
          }),
        );
      return;
    case 'tune':
      if (running) return post({ type: 'tune-failed', message: 'a run is going on' });
      running = true;
      tune(message)
        .catch((error: unknown) => post({ type: 'tune-failed', message: messageOf(error) }))
        .finally(() => (running = false));
      return;
    case 'classify': {
      const { id, model, inputs, count } = message;
      classify(model, inputs, count)
        .then((probabilities) => post({ type: 'classified', id, probabilities }, [probabilities.buffer]))
        .catch((error: unknown) => post({ type: 'classify-failed', id, message: messageOf(error) }));
      return;
    }
  }
});
