/** The training worker: the library's Trainer on onnxruntime-web, fitting the example's data. */
import { createTrainer } from 'onnx-mnist-train/web';
import { quarters, RECIPE, STEPS, smallCnn } from './task.js';

async function train() {
  const trainer = await createTrainer(smallCnn(), RECIPE, { inputShape: [1, 16, 16] });
  await trainer.fit(quarters(512, 1), {
    steps: STEPS,
    onStep: ({ step, loss }) => self.postMessage({ type: 'step', step, loss }),
  });
  const { accuracy } = await trainer.evaluate(quarters(128, 2));
  self.postMessage({ type: 'done', steps: trainer.position.step, accuracy });
}

train().catch((e) => self.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
