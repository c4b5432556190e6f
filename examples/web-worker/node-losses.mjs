/** The same training as the page's worker, on onnx-mnist-train/node: prints its losses as JSON. */
import { createTrainer } from 'onnx-mnist-train/node';
import { quarters, RECIPE, STEPS, smallCnn } from './task.js';

const trainer = await createTrainer(smallCnn(), RECIPE, { inputShape: [1, 16, 16], threads: 1 });
const losses = [];
await trainer.fit(quarters(512, 1), { steps: STEPS, onStep: ({ loss }) => void losses.push(loss) });
console.log(JSON.stringify(losses));
await trainer.close();
